package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// FuzzPutAccount feeds any account id (path) and body to PUT
// /accounts/{accountId} as an operator. A refusal is an *apperr.Error of
// invalid_request (400) or body_too_large (413) and writes nothing; an
// accepted request writes exactly the account the body says (every flag
// given, a valid name) under a valid id, answers 200 with it, and putting
// the answer's fields back gives the same account.
func FuzzPutAccount(f *testing.F) {
	good := `{"name":"Eligible Org","billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":false}`
	f.Add("acct-1", good)
	f.Add("acct-1", `{"billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":false}`)
	f.Add("acct#1", good)
	f.Add("[acct-1]", good)
	f.Add(" acct-1", good)
	f.Add("../../etc/passwd", good)
	f.Add("acct-1", `{"billable":"yes"}`)
	f.Add("acct-1", `{"name":"Org\u001b[2J","billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":false}`)
	f.Add("acct-1", `{"billable":true,"billable":false,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":false}`)
	f.Add("acct-1", `[[[[[[`)
	f.Add("acct-1", "")
	f.Fuzz(func(t *testing.T, id, body string) {
		w := &fakeWriter{}
		h := &Handler{Store: w, Now: func() time.Time { return testNow }}
		put := func(id, body string) (api.Response, error) {
			req := apitest.Request("PUT /accounts/{accountId}", apitest.Claims("op-1", "acct-partner-ops", `["operator"]`))
			req.PathParameters = map[string]string{"accountId": id}
			req.Body = body
			return h.Handle(context.Background(), req)
		}
		resp, err := put(id, body)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || (e.Code != apperr.InvalidRequest && e.Code != apperr.BodyTooLarge) {
				t.Fatalf("id %q body %q: error %v", id, body, err)
			}
			if e.Code == apperr.BodyTooLarge && len(body) <= provider.MaxBodyBytes {
				t.Fatalf("body_too_large for %d bytes", len(body))
			}
			if w.put != nil {
				t.Fatalf("a refused request wrote %+v", w.put)
			}
			return
		}
		if resp.StatusCode != 200 || w.put == nil {
			t.Fatalf("accepted with %d, wrote %v", resp.StatusCode, w.put)
		}
		a := *w.put
		if a.ID != id || !api.ValidAccountID(id) || strings.TrimSpace(id) != id || strings.Contains(id, "#") {
			t.Fatalf("wrote the account id %q", a.ID)
		}
		if validateName(a.Name) != "" || strings.IndexFunc(a.Name, unicode.IsControl) >= 0 {
			t.Fatalf("wrote the name %q", a.Name)
		}
		// Every flag was in the body, with the value written (json's own
		// matching: case-insensitive keys, the last one given wins).
		var ref accountBody
		if err := json.Unmarshal([]byte(body), &ref); err != nil {
			t.Fatalf("accepted a body json refuses: %v", err)
		}
		for _, x := range []struct {
			given *bool
			wrote bool
		}{{ref.Billable, a.Billable}, {ref.Reseller, a.Reseller}, {ref.ResellerCustomer, a.ResellerCustomer},
			{ref.USOffice, a.USOffice}, {ref.Demo, a.Demo}, {ref.Internal, a.Internal}} {
			if x.given == nil || *x.given != x.wrote {
				t.Fatalf("body %q wrote %+v", body, a)
			}
		}
		if (ref.Name == nil && a.Name != "") || (ref.Name != nil && *ref.Name != a.Name) {
			t.Fatalf("body %q wrote the name %q", body, a.Name)
		}
		var answered account.Account
		if err := json.Unmarshal([]byte(resp.Body), &answered); err != nil || answered.ID != a.ID || answered.Name != a.Name {
			t.Fatalf("answer %s for %+v (%v)", resp.Body, a, err)
		}
		// Round trip: the answer's fields put again give the same account.
		again, _ := json.Marshal(map[string]any{"name": a.Name, "billable": a.Billable, "reseller": a.Reseller,
			"resellerCustomer": a.ResellerCustomer, "usOffice": a.USOffice, "demo": a.Demo, "internal": a.Internal})
		w.put = nil
		if _, err := put(a.ID, string(again)); err != nil || w.put == nil || *w.put != a {
			t.Fatalf("account %+v does not round-trip: %+v, %v", a, w.put, err)
		}
	})
}
