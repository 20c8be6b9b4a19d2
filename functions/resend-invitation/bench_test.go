package main

// BenchmarkHandle: this function's handler in-process through api.Handle,
// with the real store over the embedded DynamoDB (storetest) where it needs
// one. `make bench` compares it with apitest.BenchmarkConstant.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// benchMailer sends nothing: SES is not part of this benchmark.
type benchMailer struct{}

func (benchMailer) Send(context.Context, mail.Message) (string, error) { return "bench-message", nil }

// BenchmarkHandle resends the consent email of a different pending
// migration at each iteration (created before the timer starts).
func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	ctx := context.Background()
	if err := s.PutAccount(ctx, account.Account{ID: "acct-1", Name: "Org", Billable: true, USOffice: true}); err != nil {
		b.Fatal(err)
	}
	key := consent.Key(bytes.Repeat([]byte{7}, 32))
	nonce, err := consent.NewNonce()
	if err != nil {
		b.Fatal(err)
	}
	sent := time.Now().Add(-time.Hour)
	exp := sent.Add(14 * 24 * time.Hour)
	// One provider per iteration: each resend adds a timeline event, and
	// resending one provider b.N times would measure an ever longer item.
	ids := make([]string, b.N)
	for i := range ids {
		p := &provider.Provider{AccountID: "acct-1", Name: fmt.Sprintf("Contoso %d", i), Type: provider.TypeAzure, Option: provider.OptionMigrate,
			Status: provider.StatusPendingConsent, AzureAdminEmail: "admin@contoso.example", RequesterName: "Dana Admin", CreatedBy: "user:u1",
			Subscriptions: []provider.Subscription{{ID: "20000000-0000-4000-8000-000000000101", State: provider.SubscriptionPending}}}
		if err := s.CreateProvider(ctx, p, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error {
			q.Invitation = &provider.Invitation{Nonce: nonce, Hash: consent.Hash(key.InvitationID(q.ID, nonce)), SentAt: &sent, ExpiresAt: &exp, LastSentAt: &sent}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		ids[i] = p.ID
	}
	h := &Handler{Store: s, Mailer: benchMailer{}, Key: key, BaseURL: "https://api.example/",
		Brand: mail.Brand{PartnerName: "Partner Cloud", ContactEmail: "help@partner.example"}, Interval: DefaultInterval, Now: time.Now}
	apitest.Bench(b, h.Handle, 202, func(i int) api.Request {
		req := apitest.Request("POST /providers/{id}/resend", apitest.Admin("acct-1"))
		req.PathParameters = map[string]string{"id": ids[i]}
		return req
	})
}
