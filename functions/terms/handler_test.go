package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// fakeTerms serves acceptances from a map, or fails with err.
type fakeTerms struct {
	byAccount map[string][]account.Acceptance
	err       error
}

func (f *fakeTerms) TermsAccepted(_ context.Context, accountID string) ([]account.Acceptance, error) {
	return f.byAccount[accountID], f.err
}

var testTerms = account.Terms{
	Partner:   account.TermsVersion{Document: account.PartnerTerms, Version: "2017-08", URL: "https://partner.example/terms"},
	Microsoft: account.TermsVersion{Document: account.MicrosoftTerms, Version: "2017-08", URL: "https://microsoft.example/terms"},
}

type termsBody struct {
	Terms []struct {
		Document   string     `json:"document"`
		Version    string     `json:"version"`
		URL        string     `json:"url"`
		Accepted   bool       `json:"accepted"`
		AcceptedAt *time.Time `json:"acceptedAt"`
		AcceptedBy string     `json:"acceptedBy"`
	} `json:"terms"`
}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

func TestHandle(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	accepted := map[string][]account.Acceptance{
		"acct-both":  {{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "u1", AcceptedAt: at}, {Document: account.MicrosoftTerms, Version: "2017-08", AcceptedBy: "u2", AcceptedAt: at}},
		"acct-stale": {{Document: account.PartnerTerms, Version: "2016-01", AcceptedBy: "u1", AcceptedAt: at}},
		"acct-one":   {{Document: account.MicrosoftTerms, Version: "2017-08", AcceptedBy: "u3", AcceptedAt: at}},
	}
	tests := []struct {
		name         string
		claims       map[string]string
		storeErr     error
		wantAccepted [2]bool
		wantCode     apperr.Code
	}{
		{name: "both accepted", claims: apitest.Member("acct-both"), wantAccepted: [2]bool{true, true}},
		{name: "none accepted", claims: apitest.Member("acct-none")},
		{name: "only a stale version", claims: apitest.Member("acct-stale")},
		{name: "one accepted", claims: apitest.Admin("acct-one"), wantAccepted: [2]bool{false, true}},
		{name: "another account's acceptances are not mine", claims: apitest.Member("acct-other")},
		{name: "unauthenticated", claims: apitest.Claims("u", "", ""), wantCode: apperr.Unauthenticated},
		{name: "store fault is internal, without its text", claims: apitest.Member("acct-both"), storeErr: errors.New(apitest.Fault), wantCode: apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Store: &fakeTerms{byAccount: accepted, err: tt.storeErr}, Terms: testTerms}
			resp, err := api.Handle(h.Handle)(context.Background(), apitest.Request("GET /terms", tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				apitest.ExpectError(t, resp, api.HTTPStatus(tt.wantCode), tt.wantCode)
				return
			}
			var body termsBody
			apitest.ExpectJSON(t, resp, 200, &body)
			if len(body.Terms) != 2 || body.Terms[0].Document != "partner" || body.Terms[1].Document != "microsoft" {
				t.Fatalf("terms = %+v", body.Terms)
			}
			for i, d := range body.Terms {
				if d.Version != "2017-08" || d.URL == "" {
					t.Errorf("%s: version %q url %q", d.Document, d.Version, d.URL)
				}
				if d.Accepted != tt.wantAccepted[i] {
					t.Errorf("%s accepted = %v, want %v", d.Document, d.Accepted, tt.wantAccepted[i])
				}
				if d.Accepted != (d.AcceptedAt != nil && d.AcceptedBy != "") {
					t.Errorf("%s: acceptedAt/acceptedBy %v %q with accepted=%v", d.Document, d.AcceptedAt, d.AcceptedBy, d.Accepted)
				}
			}
		})
	}
}

// TestHandleWithStore reads acceptances recorded by the real store.
func TestHandleWithStore(t *testing.T) {
	st, _ := storetest.NewTestStore(t)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if err := st.RecordAcceptances(ctx, "acct-1", []account.Acceptance{
		{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "first", AcceptedAt: at},
		{Document: account.MicrosoftTerms, Version: "2016-01", AcceptedBy: "first", AcceptedAt: at},
	}); err != nil {
		t.Fatal(err)
	}
	// A second acceptance of the same version keeps the first.
	if err := st.RecordAcceptances(ctx, "acct-1", []account.Acceptance{{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "second", AcceptedAt: at.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Store: st, Terms: testTerms}
	resp, err := api.Handle(h.Handle)(ctx, apitest.Request("GET /terms", apitest.Member("acct-1")))
	if err != nil {
		t.Fatal(err)
	}
	var body termsBody
	apitest.ExpectJSON(t, resp, 200, &body)
	p, m := body.Terms[0], body.Terms[1]
	if !p.Accepted || p.AcceptedBy != "first" || !p.AcceptedAt.Equal(at) {
		t.Errorf("partner = %+v", p)
	}
	if m.Accepted {
		t.Errorf("microsoft (only 2016-01 accepted) = %+v", m)
	}
}

func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/terms.json")
	h := &Handler{Store: &fakeTerms{}, Terms: testTerms}
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || resp.Headers["X-Request-Id"] != req.RequestContext.RequestID {
		t.Fatalf("event answered %d %v: %s", resp.StatusCode, err, resp.Body)
	}
}
