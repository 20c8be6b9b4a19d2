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

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/store/storetest"
)

func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	terms := account.Terms{
		Partner:   account.TermsVersion{Document: account.PartnerTerms, Version: "2017-08", URL: "https://partner.example/terms"},
		Microsoft: account.TermsVersion{Document: account.MicrosoftTerms, Version: "2017-08", URL: "https://microsoft.example/terms"},
	}
	if err := s.RecordAcceptances(context.Background(), "acct-1", []account.Acceptance{
		{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "u1", AcceptedAt: time.Now()}}); err != nil {
		b.Fatal(err)
	}
	req := apitest.Request("GET /terms", apitest.Admin("acct-1"))
	apitest.Bench(b, (&Handler{Store: s, Terms: terms}).Handle, 200, func(int) api.Request { return req })
}
