package provider

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/msid"
)

// FuzzParseCreateRequest checks ParseCreateRequest's invariants on any input:
// it never panics; it returns either a valid request that survives a
// round trip (re-encoding and parsing gives the same request), or an
// *apperr.Error with code invalid_request or body_too_large whose message and
// details never carry control characters.
func FuzzParseCreateRequest(f *testing.F) {
	seeds := []string{
		`{"name":"Contoso production","type":"azure","option":"migrate","azureAdminEmail":"it-admin@contoso.com","subscriptionIds":["00000000-0000-0000-0000-000000000001"],"acceptedTerms":{"partner":"2017-08","microsoft":"2017-08"}}`,
		`{"name":"x","type":"azure","option":"existing","tenantId":"t","clientId":"c","clientSecret":"s","subscriptionId":"s"}`,
		`{"name":"x","type":"azure","option":"existing","tenantId":"20000000-0000-4000-8000-00000000000A","clientId":"00000000-0000-0000-0000-00000000C0DE","clientSecret":"s~1","subscriptionId":"20000000-0000-4000-8000-000000000101"}`,
		`{"name":"x","type":"azure","option":"new","company":{"name":"c","address":{"country":"US"}}}`,
		`{"name":"x","type":"azure","option":"migrate","azureAdminEmail":"A <a@b.c>"}`,
		`{"name":1}`, `[]`, `null`, `{}`, `{"unknown":true}`, `{"name":"\u0000"}`, "\xff", ``,
		`{"name":"x","type":"azure","option":"migrate","azureAdminEmail":"a@b.co","subscriptionIds":["ABCDEF00-0000-0000-0000-00000000000A","abcdef00-0000-0000-0000-00000000000a"]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseCreateRequest(body)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *apperr.Error: %v", err, err)
			}
			if e.Code != apperr.InvalidRequest && e.Code != apperr.BodyTooLarge {
				t.Fatalf("code = %s", e.Code)
			}
			if e.Code == apperr.BodyTooLarge && len(body) <= MaxBodyBytes {
				t.Fatalf("body_too_large for %d bytes", len(body))
			}
			for _, s := range append([]string{e.Message}, detailTexts(e.Details)...) {
				if strings.ContainsAny(s, "\x00\r\n") {
					t.Fatalf("error text carries control characters: %q", s)
				}
			}
			return
		}
		if len(body) > MaxBodyBytes {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		if msg := ValidateName(req.Name); msg != "" {
			t.Fatalf("accepted name %q: %s", req.Name, msg)
		}
		if _, ok := LookupOption(req.Option); !ok || req.Type != TypeAzure {
			t.Fatalf("accepted option %q type %q", req.Option, req.Type)
		}
		if req.Option == OptionMigrate {
			if msg := ValidateEmail(req.AzureAdminEmail); msg != "" {
				t.Fatalf("accepted email %q: %s", req.AzureAdminEmail, msg)
			}
		}
		if req.Option == OptionExisting {
			c := req.ExistingCredentials
			for _, id := range []string{c.TenantID, c.ClientID, c.SubscriptionID} {
				if !msid.IsGUID(id) || id != strings.ToLower(id) {
					t.Fatalf("accepted credentials ids %q", id)
				}
			}
			if c.ClientSecret == "" || len(c.ClientSecret) > MaxClientSecretLen || strings.ContainsAny(c.ClientSecret, "\x00\r\n") {
				t.Fatalf("accepted a client secret of %d bytes", len(c.ClientSecret))
			}
		}
		seen := map[string]bool{}
		for _, id := range req.SubscriptionIDs {
			if !msid.IsGUID(id) || id != strings.ToLower(id) || seen[id] {
				t.Fatalf("accepted subscription ids %v", req.SubscriptionIDs)
			}
			seen[id] = true
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		req2, err := ParseCreateRequest(again)
		if err != nil {
			t.Fatalf("valid request does not re-validate: %v\n%s", err, again)
		}
		again2, _ := json.Marshal(req2)
		if string(again) != string(again2) {
			t.Fatalf("round trip changed the request:\n%s\n%s", again, again2)
		}
	})
}

func detailTexts(ds []apperr.Detail) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Field, d.Code, d.Message)
	}
	return out
}
