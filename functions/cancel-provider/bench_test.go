package main

// BenchmarkHandle: this function's handler in-process through api.Handle,
// with the real store over the embedded DynamoDB (storetest) where it needs
// one. `make bench` compares it with apitest.BenchmarkConstant.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// benchStopper stops nothing: Step Functions is not part of this benchmark.
type benchStopper struct{}

func (benchStopper) Stop(context.Context, string, string) error { return nil }

// BenchmarkHandle cancels a different pending migration at each iteration
// (created before the timer starts).
func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	ids := make([]string, b.N)
	for i := range ids {
		p := &provider.Provider{AccountID: "acct-1", Name: fmt.Sprintf("Contoso %d", i), Type: provider.TypeAzure, Option: provider.OptionMigrate,
			Status: provider.StatusPendingConsent, AzureAdminEmail: "admin@contoso.example", CreatedBy: "user:u1",
			Subscriptions: []provider.Subscription{{ID: "20000000-0000-4000-8000-000000000101", State: provider.SubscriptionPending}}}
		if err := s.CreateProvider(context.Background(), p, nil); err != nil {
			b.Fatal(err)
		}
		ids[i] = p.ID
	}
	h := &Handler{Store: s, Executions: benchStopper{}, StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:migration", Now: time.Now}
	apitest.Bench(b, h.Handle, 200, func(i int) api.Request {
		req := apitest.Request("POST /providers/{id}/cancel", apitest.Admin("acct-1"))
		req.PathParameters = map[string]string{"id": ids[i]}
		return req
	})
}
