package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/provider"
)

// TestThankYouPageNamesWhatIsLeft: the thank-you page names the partner
// application by its display name beside its service principal's id, each
// subscription still lacking Owner by its display name when a check read
// one, never one already owned, in the right number, and the deadline with
// its time and zone. A reload after a check shows the page as it now is.
func TestThankYouPageNamesWhatIsLeft(t *testing.T) {
	const sub3 = "00000000-0000-0000-0000-000000000003"
	app := "Partner Cloud for Azure (" + appOID + ")"
	tests := []struct {
		name string
		subs []string
		// check, when set, is an ownership check recorded before the page
		// is shown again (a reload).
		check   []provider.Subscription
		want    []string
		notWant []string
	}{
		{
			name: "just consented, one subscription",
			subs: []string{sub1},
			want: []string{"Grant the Owner role to the principal " + app + " on 1 subscription:", sub1},
		},
		{
			name: "just consented, several subscriptions",
			subs: []string{sub1, sub2, sub3},
			want: []string{"on 3 subscriptions:", sub1, sub2, sub3},
		},
		{
			name:    "one already owned: only the missing one, by display name",
			subs:    []string{sub1, sub2},
			check:   []provider.Subscription{{ID: sub1, State: provider.SubscriptionOwned, DisplayName: "Contoso Production"}, {ID: sub2, State: provider.SubscriptionMissingOwner, DisplayName: "Contoso Development"}},
			want:    []string{"on 1 subscription:", "Contoso Development (" + sub2 + ")", "The move fails if this is not done by 31 March 2026, 10:00 UTC."},
			notWant: []string{sub1, "Contoso Production", "1 subscriptions"},
		},
		{
			name:    "display name unknown: the id alone",
			subs:    []string{sub1},
			check:   []provider.Subscription{{ID: sub1, State: provider.SubscriptionMissingOwner}},
			want:    []string{"on 1 subscription:", sub1},
			notWant: []string{"(" + sub1 + ")"},
		},
		{
			name:    "not found: said apart, with what to do",
			subs:    []string{sub1, sub2},
			check:   []provider.Subscription{{ID: sub1, State: provider.SubscriptionOwned, DisplayName: "Contoso Production"}, {ID: sub2, State: provider.SubscriptionNotFound}},
			want:    []string{"1 subscription was not found in the tenant: " + sub2 + ". Check the id, or grant " + app + " access so it can see it."},
			notWant: []string{sub1, "Grant the Owner role"},
		},
		{
			name:    "all owned: nothing left to grant",
			subs:    []string{sub1, sub2},
			check:   []provider.Subscription{{ID: sub1, State: provider.SubscriptionOwned}, {ID: sub2, State: provider.SubscriptionOwned}},
			want:    []string{"already holds the Owner role on every subscription to be moved"},
			notWant: []string{sub1, sub2, "Grant the Owner role"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p, id := e.addProvider(t, "Contoso "+tt.name, tt.subs, "")
			state := stateFor(t, testKey, consent.Hash(id), t0)
			resp := e.callback(t, success(state))
			if tt.check != nil {
				if _, err := e.store.UpdateProvider(context.Background(), p.AccountID, p.ID, func(q *provider.Provider) error {
					return q.RecordOwnershipCheck(tt.check, appOID, false, t0.Add(time.Hour), 30*24*time.Hour)
				}); err != nil {
					t.Fatal(err)
				}
				resp = e.callback(t, success(state)) // the reload
			}
			expectStatus(t, resp, http.StatusOK, "Thank you")
			page := text(resp.Body)
			for _, want := range tt.want {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q: %s", want, page)
				}
			}
			for _, bad := range tt.notWant {
				if strings.Contains(page, bad) {
					t.Errorf("page shows %q: %s", bad, page)
				}
			}
		})
	}
}
