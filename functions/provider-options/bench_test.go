package main

// BenchmarkHandle: this function's handler in-process through api.Handle,
// with the real store over the embedded DynamoDB (storetest) where it needs
// one. `make bench` compares it with apitest.BenchmarkConstant.

import (
	"io"
	"log/slog"
	"testing"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
)

func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	req := apitest.Request("GET /provider-options", apitest.Admin("acct-1"))
	req.QueryStringParameters = map[string]string{"type": "azure"}
	apitest.Bench(b, (&Handler{}).Handle, 200, func(int) api.Request { return req })
}
