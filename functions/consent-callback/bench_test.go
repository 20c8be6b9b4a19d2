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

// BenchmarkHandle serves the landing page of an open invitation (the
// handler's test environment: the real store, fakes for Microsoft and Step
// Functions).
func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	e := newEnv(b)
	req := apitest.Request(RouteLanding, nil)
	req.RawPath = "/consent/" + e.id
	req.PathParameters = map[string]string{"invitationId": e.id}
	apitest.Bench(b, e.h.Handle, 200, func(int) api.Request { return req })
}
