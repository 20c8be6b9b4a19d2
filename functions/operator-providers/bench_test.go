package main

// BenchmarkHandle: this function's handler in-process through api.Handle,
// with the real store over the embedded DynamoDB (storetest). `make bench`
// compares it with apitest.BenchmarkConstant.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// BenchmarkHandle lists the first page across 25 providers of five
// statuses in two accounts (a merge of the status partitions).
func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	statuses := []provider.Status{provider.StatusPendingConsent, provider.StatusAwaitingCustomer, provider.StatusAwaitingOwnerAccess, provider.StatusActive, provider.StatusFailed}
	for i := 0; i < 25; i++ {
		p := &provider.Provider{AccountID: fmt.Sprintf("acct-%d", i%2), Name: fmt.Sprintf("Contoso %02d", i), Type: provider.TypeAzure, Option: provider.OptionMigrate,
			Status: statuses[i%len(statuses)], AzureAdminEmail: "admin@contoso.example", CreatedBy: "user:u1",
			Subscriptions: []provider.Subscription{{ID: "20000000-0000-4000-8000-000000000101", State: provider.SubscriptionPending}}}
		if err := s.CreateProvider(context.Background(), p, nil); err != nil {
			b.Fatal(err)
		}
	}
	req := apitest.Request("GET /operator/providers", apitest.Claims("op-1", "acct-partner", `["operator"]`))
	apitest.Bench(b, (&Handler{Store: s}).Handle, 200, func(int) api.Request { return req })
}
