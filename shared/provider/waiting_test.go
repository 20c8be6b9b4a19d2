package provider

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStuckSince: the step's start is the relationship step's, else the
// Owner wait's, else the invitation's (before consent), else the consent,
// else the creation; stuck once it is strictly longer ago than the
// threshold; a finished provider is never waiting.
func TestStuckSince(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	after := 72 * time.Hour
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	ptr := func(t time.Time) *time.Time { return &t }
	tests := []struct {
		name      string
		p         Provider
		after     time.Duration
		wantSince time.Time
		wantStuck bool
	}{
		{name: "relationship step, long ago",
			p: Provider{Status: StatusAwaitingCustomer, CreatedAt: ago(400 * time.Hour), ConsentedAt: ptr(ago(300 * time.Hour)),
				CurrentStep: &StepWaitMark{Key: StepGDAP, Since: ago(100 * time.Hour)}},
			wantSince: ago(100 * time.Hour), wantStuck: true},
		{name: "relationship step wins over the Owner wait",
			p: Provider{Status: StatusAwaitingOwnerAccess, CurrentStep: &StepWaitMark{Key: StepReseller, Since: ago(time.Hour)},
				OwnershipWait: &OwnershipWait{StartedAt: ago(200 * time.Hour)}},
			wantSince: ago(time.Hour)},
		{name: "Owner wait",
			p:         Provider{Status: StatusAwaitingOwnerAccess, ConsentedAt: ptr(ago(300 * time.Hour)), OwnershipWait: &OwnershipWait{StartedAt: ago(80 * time.Hour)}},
			wantSince: ago(80 * time.Hour), wantStuck: true},
		{name: "pending consent: the invitation's first email",
			p:         Provider{Status: StatusPendingConsent, CreatedAt: ago(200 * time.Hour), Invitation: &Invitation{SentAt: ptr(ago(10 * time.Hour))}},
			wantSince: ago(10 * time.Hour)},
		{name: "pending consent, no email yet: the creation",
			p:         Provider{Status: StatusPendingConsent, CreatedAt: ago(73 * time.Hour), Invitation: &Invitation{}},
			wantSince: ago(73 * time.Hour), wantStuck: true},
		{name: "consented, no step named yet: the consent",
			p:         Provider{Status: StatusAwaitingCustomer, CreatedAt: ago(300 * time.Hour), Invitation: &Invitation{SentAt: ptr(ago(299 * time.Hour))}, ConsentedAt: ptr(ago(2 * time.Hour))},
			wantSince: ago(2 * time.Hour)},
		{name: "provisioning: the creation",
			p:         Provider{Status: StatusProvisioning, CreatedAt: ago(5 * time.Minute)},
			wantSince: ago(5 * time.Minute)},
		{name: "exactly the threshold is not longer than it",
			p:         Provider{Status: StatusAwaitingOwnerAccess, OwnershipWait: &OwnershipWait{StartedAt: ago(72 * time.Hour)}},
			wantSince: ago(72 * time.Hour)},
		{name: "a nanosecond past the threshold",
			p:         Provider{Status: StatusAwaitingOwnerAccess, OwnershipWait: &OwnershipWait{StartedAt: ago(72*time.Hour + 1)}},
			wantSince: ago(72*time.Hour + 1), wantStuck: true},
		{name: "a shorter threshold",
			p:         Provider{Status: StatusAwaitingCustomer, CurrentStep: &StepWaitMark{Key: StepGDAP, Since: ago(2 * time.Hour)}},
			after:     time.Hour,
			wantSince: ago(2 * time.Hour), wantStuck: true},
		{name: "no threshold: waiting, never stuck",
			p:         Provider{Status: StatusAwaitingCustomer, CurrentStep: &StepWaitMark{Key: StepGDAP, Since: ago(1000 * time.Hour)}},
			after:     -1,
			wantSince: ago(1000 * time.Hour)},
		{name: "active: not waiting",
			p: Provider{Status: StatusActive, CreatedAt: ago(500 * time.Hour), OwnershipWait: &OwnershipWait{StartedAt: ago(400 * time.Hour)}}},
		{name: "failed with a step left: not waiting",
			p: Provider{Status: StatusFailed, CreatedAt: ago(500 * time.Hour), CurrentStep: &StepWaitMark{Key: StepGDAP, Since: ago(400 * time.Hour)}}},
		{name: "cancelled: not waiting",
			p: Provider{Status: StatusCancelled, CreatedAt: ago(500 * time.Hour)}},
		{name: "open without any time: not waiting",
			p: Provider{Status: StatusPendingConsent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.after
			if a == 0 {
				a = after
			}
			since, stuck := tt.p.StuckSince(now, a)
			if !since.Equal(tt.wantSince) || stuck != tt.wantStuck {
				t.Fatalf("StuckSince = %v, %v; want %v, %v", since, stuck, tt.wantSince, tt.wantStuck)
			}
			w, ok := tt.p.WaitingSince()
			if ok != !tt.wantSince.IsZero() || !w.Equal(tt.wantSince) {
				t.Fatalf("WaitingSince = %v, %v", w, ok)
			}
			v := tt.p.OperatorView(now, a)
			if v.Stuck == nil || *v.Stuck != tt.wantStuck || (v.WaitingSince == nil) != tt.wantSince.IsZero() ||
				(v.WaitingSince != nil && !v.WaitingSince.Equal(tt.wantSince)) {
				t.Fatalf("OperatorView stuck %v waitingSince %v", v.Stuck, v.WaitingSince)
			}
		})
	}
}

// TestOperatorViewJSON: the operators' view always says stuck, and
// waitingSince only while open; the ordinary view says neither.
func TestOperatorViewJSON(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	open := Provider{ID: "prv_1", Status: StatusPendingConsent, CreatedAt: now.Add(-time.Hour)}
	done := Provider{ID: "prv_2", Status: StatusActive, CreatedAt: now.Add(-time.Hour)}
	for _, tc := range []struct {
		v        View
		has, not []string
	}{
		{open.OperatorView(now, time.Hour), []string{`"stuck":false`, `"waitingSince":"2026-06-10T11:00:00Z"`}, nil},
		{done.OperatorView(now, time.Hour), []string{`"stuck":false`}, []string{`waitingSince`}},
		{open.View(), nil, []string{`stuck`, `waitingSince`}},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tc.has {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s lacks %s", b, s)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(string(b), s) {
				t.Errorf("%s has %s", b, s)
			}
		}
	}
}

func TestHealthStatusValid(t *testing.T) {
	for _, tc := range []struct {
		h    HealthStatus
		want bool
	}{{"ok", true}, {"attention", true}, {"", false}, {"OK", false}, {"bad", false}} {
		if tc.h.Valid() != tc.want {
			t.Errorf("%q.Valid() = %v", tc.h, !tc.want)
		}
	}
}

// TestStatuses: Statuses lists every valid status once.
func TestStatuses(t *testing.T) {
	seen := map[Status]bool{}
	for _, s := range Statuses {
		if !s.Valid() || seen[s] {
			t.Errorf("%q invalid or listed twice", s)
		}
		seen[s] = true
	}
	for s := range transitions {
		if !seen[s] {
			t.Errorf("%q is not in Statuses", s)
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d statuses", len(seen))
	}
}
