package main

// BenchmarkHandle: this function's handler in-process through api.Handle,
// with the real store over the embedded DynamoDB (storetest) where it needs
// one. `make bench` compares it with apitest.BenchmarkConstant.

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	req := apitest.Request("PUT /accounts/{accountId}", apitest.Claims("op-1", "acct-partner", `["operator"]`))
	req.PathParameters = map[string]string{"accountId": "acct-bench"}
	req.Body = `{"name":"Eligible Org","billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":true}`
	apitest.Bench(b, (&Handler{Store: s, Now: time.Now}).Handle, 200, func(int) api.Request { return req })
}
