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

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// BenchmarkHandle creates a new provider at each iteration (a unique name,
// terms accepted in the request).
func BenchmarkHandle(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s, _ := storetest.NewTestStore(b)
	if err := s.PutAccount(context.Background(), account.Account{ID: "acct-1", Name: "Org", Billable: true, USOffice: true}); err != nil {
		b.Fatal(err)
	}
	terms := account.Terms{
		Partner:   account.TermsVersion{Document: account.PartnerTerms, Version: "2017-08", URL: "https://partner.example/terms"},
		Microsoft: account.TermsVersion{Document: account.MicrosoftTerms, Version: "2017-08", URL: "https://microsoft.example/terms"},
	}
	h := &Handler{Store: s, Terms: terms, Contact: "help@partner.example", Now: time.Now}
	run := time.Now().UnixNano()
	apitest.Bench(b, h.Handle, 202, func(i int) api.Request {
		req := apitest.Request("POST /providers", apitest.Admin("acct-1"))
		req.Body = fmt.Sprintf(`{"name":"Bench %d %d","type":"azure","option":"migrate","azureAdminEmail":"admin@contoso.example",`+
			`"subscriptionIds":["20000000-0000-4000-8000-000000000101"],"acceptedTerms":{"partner":"2017-08","microsoft":"2017-08"}}`, run, i)
		return req
	})
}
