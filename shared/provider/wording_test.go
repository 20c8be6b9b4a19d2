package provider

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/config"
)

func TestFormatTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC), "25 November 2026, 14:00 UTC"},
		{time.Date(2026, 1, 2, 9, 5, 59, 0, time.UTC), "2 January 2026, 09:05 UTC"},
		// Shown in UTC whatever zone the value carries.
		{time.Date(2026, 11, 25, 15, 30, 0, 0, paris), "25 November 2026, 14:30 UTC"},
	}
	for _, tt := range tests {
		if got := FormatTime(tt.in); got != tt.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCountAndNamed(t *testing.T) {
	counts := []struct {
		n                      int
		singular, plural, want string
	}{
		{0, "subscription", "", "0 subscriptions"},
		{1, "subscription", "", "1 subscription"},
		{2, "subscription", "", "2 subscriptions"},
		{3, "principal", "principals", "3 principals"},
		{1, "principal", "principals", "1 principal"},
	}
	for _, tt := range counts {
		if got := Count(tt.n, tt.singular, tt.plural); got != tt.want {
			t.Errorf("Count(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	named := []struct{ name, id, want string }{
		{"Contoso Production", "sub-1", "Contoso Production (sub-1)"},
		{"", "sub-1", "sub-1"},
		{"  ", "sub-1", "sub-1"},
		{"Partner Cloud for Azure", "", "Partner Cloud for Azure"},
	}
	for _, tt := range named {
		if got := Named(tt.name, tt.id); got != tt.want {
			t.Errorf("Named(%q, %q) = %q, want %q", tt.name, tt.id, got, tt.want)
		}
	}
}

func TestOwnerPrincipalLabel(t *testing.T) {
	tests := []struct {
		name                     string
		principal, operator, app string
		want                     string
	}{
		{"app name known", "sp-oid", "", "Partner Cloud for Azure", "Partner Cloud for Azure (sp-oid)"},
		{"app name unknown", "sp-oid", "", "", "sp-oid"},
		{"operator's principal: the app's name does not apply", "sp-oid", "op-guid", "Partner Cloud for Azure", "op-guid"},
		{"nothing known yet", "", "", "Partner Cloud for Azure", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{PrincipalID: tt.principal, OwnerPrincipal: tt.operator}
			p.RecordPartnerApp(tt.app)
			if got := p.OwnerPrincipalLabel(); got != tt.want {
				t.Fatalf("label %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNextStepWhileWaitingForOwner: nextStep names the principal with the
// application's display name, each subscription still to do by its display
// name when known, never one already owned, in the right number, and the
// deadline with its time and zone.
func TestNextStepWhileWaitingForOwner(t *testing.T) {
	const (
		subA = "00000000-0000-0000-0000-00000000000a"
		subB = "00000000-0000-0000-0000-00000000000b"
		subC = "00000000-0000-0000-0000-00000000000c"
	)
	deadline := time.Date(2026, 12, 25, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		app      string
		subs     []Subscription
		deadline bool
		want     string
	}{
		{
			name: "one subscription, display name known",
			app:  "Partner Cloud for Azure",
			subs: []Subscription{{ID: subA, State: SubscriptionMissingOwner, DisplayName: "Contoso Production"}},
			want: "The Azure administrator must grant Owner to Partner Cloud for Azure (sp-oid) on 1 subscription: Contoso Production (" + subA + ").",
		},
		{
			name: "one subscription, display name unknown, app name unknown",
			subs: []Subscription{{ID: subA, State: SubscriptionPending}},
			want: "The Azure administrator must grant Owner to sp-oid on 1 subscription: " + subA + ".",
		},
		{
			name: "several subscriptions",
			app:  "Partner Cloud for Azure",
			subs: []Subscription{{ID: subA, State: SubscriptionMissingOwner, DisplayName: "Contoso Production"}, {ID: subB, State: SubscriptionPending}},
			want: "The Azure administrator must grant Owner to Partner Cloud for Azure (sp-oid) on 2 subscriptions: Contoso Production (" + subA + "), " + subB + ".",
		},
		{
			name: "some already owned: only what is missing",
			app:  "Partner Cloud for Azure",
			subs: []Subscription{{ID: subA, State: SubscriptionOwned, DisplayName: "Contoso Production"}, {ID: subB, State: SubscriptionMissingOwner, DisplayName: "Contoso Development"}},
			want: "The Azure administrator must grant Owner to Partner Cloud for Azure (sp-oid) on 1 subscription: Contoso Development (" + subB + ").",
		},
		{
			name: "one not found",
			subs: []Subscription{{ID: subA, State: SubscriptionOwned}, {ID: subC, State: SubscriptionNotFound}},
			want: "1 subscription was not found in the tenant: " + subC + ". Check the id, or grant sp-oid access so it can see it.",
		},
		{
			name: "several not found, one missing, with the deadline",
			app:  "Partner Cloud for Azure",
			subs: []Subscription{
				{ID: subA, State: SubscriptionMissingOwner, DisplayName: "Contoso Production"},
				{ID: subB, State: SubscriptionNotFound}, {ID: subC, State: SubscriptionNotFound, DisplayName: "Old name"},
			},
			deadline: true,
			want: "The Azure administrator must grant Owner to Partner Cloud for Azure (sp-oid) on 1 subscription: Contoso Production (" + subA + "). " +
				"2 subscriptions were not found in the tenant: " + subB + ", Old name (" + subC + "). Check the ids, or grant Partner Cloud for Azure (sp-oid) access so it can see them. " +
				"The partner's representatives will help; the migration fails if this is not done by 25 December 2026, 14:00 UTC.",
		},
		{
			name:     "everything owned: still checking",
			subs:     []Subscription{{ID: subA, State: SubscriptionOwned}},
			deadline: true,
			want:     "Checking Owner access on the subscriptions.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{Option: OptionMigrate, Status: StatusAwaitingOwnerAccess, PrincipalID: "sp-oid", Subscriptions: tt.subs}
			p.RecordPartnerApp(tt.app)
			if tt.deadline {
				p.OwnershipWait = &OwnershipWait{StartedAt: deadline.Add(-30 * 24 * time.Hour), Deadline: deadline}
			}
			if got := p.NextStep(); got != tt.want {
				t.Fatalf("next step\n got %q\nwant %q", got, tt.want)
			}
			if got := p.View().NextStep; got != tt.want {
				t.Fatalf("the API's nextStep differs: %q", got)
			}
		})
	}
}

func TestNextStepWhilePendingConsentNamesTheTimeAndZone(t *testing.T) {
	exp := time.Date(2025, 12, 9, 10, 0, 0, 0, time.UTC)
	p := &Provider{Status: StatusPendingConsent, Invitation: &Invitation{SentAt: &exp, ExpiresAt: &exp}}
	want := "The Azure administrator has not completed the consent yet; the link in their email expires on 9 December 2025, 10:00 UTC."
	if got := p.NextStep(); got != want {
		t.Fatalf("next step %q, want %q", got, want)
	}
}

// TestOwnerRequest: what the consent pages render.
func TestOwnerRequest(t *testing.T) {
	deadline := time.Date(2026, 12, 25, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		subs         []Subscription
		wait         bool
		wantMissing  []string
		wantText     string
		wantDone     bool
		wantDeadline string
	}{
		{"none named yet", nil, false, nil, "0 subscriptions", false, ""},
		{"one pending", []Subscription{{ID: "a", State: SubscriptionPending, DisplayName: "Prod"}}, true, []string{"Prod (a)"}, "1 subscription", false, "25 December 2026, 14:00 UTC"},
		{"two missing", []Subscription{{ID: "a", State: SubscriptionPending}, {ID: "b", State: SubscriptionMissingOwner}}, false, []string{"a", "b"}, "2 subscriptions", false, ""},
		{"one owned, one missing", []Subscription{{ID: "a", State: SubscriptionOwned, DisplayName: "Prod"}, {ID: "b", State: SubscriptionMissingOwner, DisplayName: "Dev"}}, true, []string{"Dev (b)"}, "1 subscription", false, "25 December 2026, 14:00 UTC"},
		{"all owned", []Subscription{{ID: "a", State: SubscriptionOwned}}, true, nil, "0 subscriptions", true, "25 December 2026, 14:00 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{PrincipalID: "sp", Subscriptions: tt.subs}
			if tt.wait {
				p.OwnershipWait = &OwnershipWait{Deadline: deadline}
			}
			r := p.OwnerRequest()
			if got := r.MissingLabels(); !slices.Equal(got, tt.wantMissing) && (len(got) != 0 || len(tt.wantMissing) != 0) {
				t.Errorf("missing %q, want %q", got, tt.wantMissing)
			}
			if r.MissingText() != tt.wantText || r.Done() != tt.wantDone || r.DeadlineText() != tt.wantDeadline {
				t.Errorf("text %q done %v deadline %q", r.MissingText(), r.Done(), r.DeadlineText())
			}
		})
	}
	if got := (&Provider{}).OwnerRequest().PrincipalOr("the partner's application"); got != "the partner's application" {
		t.Errorf("fallback principal %q", got)
	}
}

// TestOwnershipCheckKeepsDisplayNames: a check records the display name it
// observed, and keeps the last one when a check saw none (the subscription
// went out of sight).
func TestOwnershipCheckKeepsDisplayNames(t *testing.T) {
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	p := &Provider{Status: StatusAwaitingOwnerAccess, Subscriptions: []Subscription{{ID: "a", State: SubscriptionPending}, {ID: "b", State: SubscriptionPending}}}
	checks := []struct {
		checked   []Subscription
		wantNames []string
	}{
		{[]Subscription{{ID: "A", State: SubscriptionMissingOwner, DisplayName: "Prod"}, {ID: "b", State: SubscriptionNotFound}}, []string{"Prod", ""}},
		{[]Subscription{{ID: "a", State: SubscriptionNotFound}, {ID: "b", State: SubscriptionOwned, DisplayName: " Dev "}}, []string{"Prod", "Dev"}},
		{[]Subscription{{ID: "a", State: SubscriptionOwned, DisplayName: "Production"}, {ID: "b", State: SubscriptionOwned}}, []string{"Production", "Dev"}},
	}
	for i, c := range checks {
		if err := p.RecordOwnershipCheck(c.checked, "sp", false, now.Add(time.Duration(i)*time.Hour), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range p.Subscriptions {
			names = append(names, s.DisplayName)
		}
		if !slices.Equal(names, c.wantNames) {
			t.Fatalf("check %d: names %q, want %q", i, names, c.wantNames)
		}
	}
	if err := (&Provider{Status: StatusAwaitingOwnerAccess, Subscriptions: []Subscription{{ID: "a", State: SubscriptionMissingOwner, DisplayName: "Prod"}}}).CheckOwned(); err == nil || !strings.Contains(err.Error(), "Prod (a)") {
		t.Fatalf("ownership_pending does not name the subscription: %v", err)
	}
}

func TestPartnerAppNameFromEnv(t *testing.T) {
	tests := []struct {
		name, value string
		set         bool
		want        string
		wantErr     bool
	}{
		{"unset: the default", "", false, DefaultPartnerAppName, false},
		{"set", "Contoso Partner Migration", true, "Contoso Partner Migration", false},
		{"surrounding spaces trimmed", "  Migration App ", true, "Migration App", false},
		{"blank", "   ", true, "", true},
		{"control character", "App\nName", true, "", true},
		{"too long", strings.Repeat("a", 257), true, "", true},
		{"256 characters", strings.Repeat("é", 256), true, strings.Repeat("é", 256), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			if tt.set {
				m["PARTNER_APP_NAME"] = tt.value
			}
			env := config.FromMap(m)
			got := PartnerAppNameFromEnv(env)
			err := env.Err()
			if (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), "PARTNER_APP_NAME")) {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Fatalf("name %q, want %q", got, tt.want)
			}
		})
	}
}

// TestViewShowsDisplayNames: the API shows each subscription's display name
// when known (omitted when not), and never the recorded application name
// on its own (nextStep names it).
func TestViewShowsDisplayNames(t *testing.T) {
	p := &Provider{Status: StatusAwaitingOwnerAccess, PrincipalID: "sp", PartnerAppName: "Partner Cloud for Azure",
		Subscriptions: []Subscription{{ID: "a", State: SubscriptionMissingOwner, DisplayName: "Prod"}, {ID: "b", State: SubscriptionPending}}}
	b, err := json.Marshal(p.View())
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `{"id":"a","state":"missing_owner","displayName":"Prod"}`) || !strings.Contains(s, `{"id":"b","state":"pending"}`) {
		t.Fatalf("subscriptions not shown with their display names: %s", s)
	}
	if strings.Contains(s, "partnerAppName") || !strings.Contains(s, `Partner Cloud for Azure (sp)`) {
		t.Fatalf("application name: %s", s)
	}
}
