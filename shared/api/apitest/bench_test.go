package apitest_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// The baselines of the handlers' benchmarks (BenchmarkHandle in each API
// function's folder), run by `make bench`.

// BenchmarkConstant is a handler that returns a constant, through api.Handle.
func BenchmarkConstant(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	h := func(_ context.Context, req api.Request) (api.Response, error) {
		return api.JSON(req, api.StatusOK, map[string]string{"ok": "yes"}), nil
	}
	req := apitest.Request("GET /constant", apitest.Admin("acct-1"))
	apitest.Bench(b, h, 200, func(int) api.Request { return req })
}

// BenchmarkConstantGetItem is a handler that reads one item (an account)
// from the embedded DynamoDB through the real store, then returns a
// constant: the floor of a handler that touches the table once.
func BenchmarkConstantGetItem(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	if err := s.PutAccount(context.Background(), account.Account{ID: "acct-1", Name: "Org", Billable: true, USOffice: true}); err != nil {
		b.Fatal(err)
	}
	h := func(ctx context.Context, req api.Request) (api.Response, error) {
		if _, err := s.GetAccount(ctx, "acct-1"); err != nil {
			return api.Response{}, err
		}
		return api.JSON(req, api.StatusOK, map[string]string{"ok": "yes"}), nil
	}
	req := apitest.Request("GET /constant", apitest.Admin("acct-1"))
	apitest.Bench(b, h, 200, func(int) api.Request { return req })
}
