package main

// BenchmarkHandle: this function's handler in-process through api.Handle,
// with the real store over the embedded DynamoDB (storetest) where it needs
// one. `make bench` compares it with apitest.BenchmarkConstant.

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusAwaitingOwnerAccess, AzureAdminEmail: "admin@contoso.example", CreatedBy: "user:u1",
		Subscriptions: []provider.Subscription{{ID: "20000000-0000-4000-8000-000000000102", State: provider.SubscriptionMissingOwner}}}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		b.Fatal(err)
	}
	req := apitest.Request("PUT /providers/{id}/owner-principal", apitest.Claims("op-1", "acct-partner", `["operator"]`))
	req.PathParameters = map[string]string{"id": p.ID}
	req.Body = `{"principalId":"20000000-0000-4000-8000-0000000000e1"}`
	apitest.Bench(b, (&Handler{Store: s, Now: time.Now}).Handle, 200, func(int) api.Request { return req })
}
