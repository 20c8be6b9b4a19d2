package provider

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/relationship"
)

func ptr[T any](v T) *T { return &v }

// healthy is what a check of a healthy migrated provider reads.
func healthy(at time.Time) HealthCheck {
	return HealthCheck{
		At:       at,
		Consent:  ptr(true),
		Reseller: ptr("reseller"),
		GDAP: &relationship.GDAP{ID: "rel-1", Status: relationship.GDAPActive, AutoExtend: "P180D",
			EndAt: at.Add(700 * 24 * time.Hour)},
		Assignments: []relationship.Assignment{{ID: "a1", GroupID: "group-1", Status: relationship.AssignmentActive}},
		WantGroup:   "group-1",
		Owner:       []Subscription{{ID: "sub-1", State: SubscriptionOwned}},
	}
}

func activeMigration() *Provider {
	return &Provider{ID: "p1", AccountID: "a1", Name: "Contoso", Option: OptionMigrate, Status: StatusActive,
		TenantID: "tenant-1", PrincipalID: "sp-1", RequesterEmail: "requester@a1.example",
		Subscriptions: []Subscription{{ID: "sub-1", State: SubscriptionOwned}}}
}

// audiences lists the outbox as kind/audience.
func audiences(p *Provider) []string {
	var out []string
	for _, e := range p.Outbox {
		out = append(out, string(e.Kind)+"/"+e.Audience)
	}
	return out
}

func TestHealthFindings(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		change func(*HealthCheck)
		want   []string // a part of each finding's What, in order
	}{
		{"healthy", func(*HealthCheck) {}, nil},
		{"consent revoked", func(c *HealthCheck) { c.Consent = ptr(false) }, []string{"Admin consent"}},
		{"reseller gone", func(c *HealthCheck) { c.Reseller = ptr("none") }, []string{"reseller relationship"}},
		{"gdap terminated", func(c *HealthCheck) { c.GDAP.Status = relationship.GDAPTerminated }, []string{"is terminated"}},
		{"gdap ending without auto-extend", func(c *HealthCheck) {
			c.GDAP.AutoExtend, c.GDAP.EndAt = "PT0S", t0.Add(20*24*time.Hour)
		}, []string{"ends on"}},
		{"gdap ending in 40 days", func(c *HealthCheck) {
			c.GDAP.AutoExtend, c.GDAP.EndAt = "PT0S", t0.Add(40*24*time.Hour)
		}, nil},
		{"gdap ending with auto-extend", func(c *HealthCheck) { c.GDAP.EndAt = t0.Add(5 * 24 * time.Hour) }, nil},
		{"assignment deleted", func(c *HealthCheck) { c.Assignments[0].Status = relationship.AssignmentDeleted }, []string{"access assignment of the partner security group group-1 in the admin relationship rel-1 is deleted"}},
		{"assignment missing", func(c *HealthCheck) { c.Assignments = nil }, []string{"is missing"}},
		{"owner lost", func(c *HealthCheck) { c.Owner[0].State = SubscriptionMissingOwner }, []string{"no longer holds Owner"}},
		{"subscription gone", func(c *HealthCheck) { c.Owner[0].State = SubscriptionNotFound }, []string{"no longer visible"}},
		{"plan subscription suspended", func(c *HealthCheck) { c.PlanSubscriptions = map[string]string{"sub-1": "suspended"} }, []string{"shows it suspended"}},
		{"plan subscription not listed", func(c *HealthCheck) { c.PlanSubscriptions = map[string]string{} }, []string{"not listed"}},
		{"not checked gives nothing", func(c *HealthCheck) { *c = HealthCheck{At: t0} }, nil},
		{"several at once", func(c *HealthCheck) { c.Consent, c.Reseller = ptr(false), ptr("none") }, []string{"Admin consent", "reseller"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := healthy(t0)
			tt.change(&c)
			got := activeMigration().HealthFindings(c)
			if len(got) != len(tt.want) {
				t.Fatalf("findings %+v, want %d (%v)", got, len(tt.want), tt.want)
			}
			for i, f := range got {
				if !strings.Contains(f.What, tt.want[i]) || f.Do == "" || !f.Since.Equal(t0) {
					t.Errorf("finding %d %+v, want what with %q, a do and since %v", i, f, tt.want[i], t0)
				}
			}
		})
	}
}

// TestRecordHealth runs checks one after the other on one provider and
// looks at the health, the emails put in the outbox and the timeline.
func TestRecordHealth(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	type step struct {
		at      time.Duration
		change  func(*HealthCheck)
		status  HealthStatus
		since   []time.Duration // each finding's Since, from t0
		outbox  []string        // new entries: kind/audience
		timelin string          // part of the last timeline event added, "" for none
	}
	revoke := func(c *HealthCheck) { c.Consent = ptr(false) }
	both := func(c *HealthCheck) { c.Consent, c.Reseller = ptr(false), ptr("none") }
	ok := func(*HealthCheck) {}
	mail := func(kind NoticeKind) []string {
		return []string{string(kind) + "/" + AudienceRepresentatives, string(kind) + "/" + AudienceRequester}
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"first check healthy: ok, no email", []step{{0, ok, HealthOK, nil, nil, ""}}},
		{"a finding emails once, then clears with an email", []step{
			{0, ok, HealthOK, nil, nil, ""},
			{day, revoke, HealthAttention, []time.Duration{day}, mail(NoticeHealthAttention), "needs attention"},
			{2 * day, revoke, HealthAttention, []time.Duration{day}, nil, ""},
			{3 * day, ok, HealthOK, nil, mail(NoticeHealthCleared), "ok again"},
			{4 * day, ok, HealthOK, nil, nil, ""},
		}},
		{"a second finding is a new change; one clearing alone is no email", []step{
			{0, revoke, HealthAttention, []time.Duration{0}, mail(NoticeHealthAttention), "needs attention"},
			{day, both, HealthAttention, []time.Duration{0, day}, mail(NoticeHealthAttention), "reseller"},
			{2 * day, func(c *HealthCheck) { c.Reseller = ptr("none") }, HealthAttention, []time.Duration{day}, nil, "No longer found"},
			{3 * day, ok, HealthOK, nil, mail(NoticeHealthCleared), "ok again"},
		}},
		{"the same finding again later is a new change", []step{
			{0, revoke, HealthAttention, []time.Duration{0}, mail(NoticeHealthAttention), ""},
			{day, ok, HealthOK, nil, mail(NoticeHealthCleared), ""},
			{2 * day, revoke, HealthAttention, []time.Duration{2 * day}, mail(NoticeHealthAttention), ""},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := activeMigration()
			for i, s := range tt.steps {
				c := healthy(t0.Add(s.at))
				s.change(&c)
				before, events := len(p.Outbox), len(p.Timeline)
				if _, err := p.RecordHealth(c); err != nil {
					t.Fatal(err)
				}
				h := p.Health
				if h == nil || h.Status != s.status || !h.CheckedAt.Equal(c.At) || h.Findings == nil || len(h.Findings) != len(s.since) {
					t.Fatalf("step %d: health %+v, want %s with %d findings", i, h, s.status, len(s.since))
				}
				for j, f := range h.Findings {
					if !f.Since.Equal(t0.Add(s.since[j])) {
						t.Errorf("step %d: finding %d since %v, want %v", i, j, f.Since, t0.Add(s.since[j]))
					}
				}
				if got := audiences(p)[before:]; !slices.Equal(got, s.outbox) {
					t.Errorf("step %d: outbox added %v, want %v", i, got, s.outbox)
				}
				switch {
				case s.timelin == "" && len(p.Timeline) != events && s.outbox == nil:
					t.Errorf("step %d: timeline event %+v, want none", i, p.Timeline[len(p.Timeline)-1])
				case s.timelin != "" && (len(p.Timeline) == events || !strings.Contains(p.Timeline[len(p.Timeline)-1].What, s.timelin)):
					t.Errorf("step %d: timeline %+v, want an event with %q", i, p.Timeline, s.timelin)
				}
			}
		})
	}
}

func TestRecordHealthEntries(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	p := activeMigration()
	c := healthy(t0)
	c.Consent = ptr(false)
	if _, err := p.RecordHealth(c); err != nil {
		t.Fatal(err)
	}
	if len(p.Outbox) != 2 || p.Outbox[0].ID == p.Outbox[1].ID || p.OutboxSince == nil {
		t.Fatalf("outbox %+v: want two entries with distinct ids", p.Outbox)
	}
	for _, e := range p.Outbox {
		if len(e.Findings) != 1 || !strings.Contains(e.Findings[0], "Admin consent") {
			t.Errorf("entry %+v: want the new finding", e)
		}
	}

	// No requester address: the representatives only.
	q := activeMigration()
	q.RequesterEmail = ""
	if _, err := q.RecordHealth(c); err != nil {
		t.Fatal(err)
	}
	if got := audiences(q); !slices.Equal(got, []string{"health_attention/representatives"}) {
		t.Errorf("outbox %v, want the representatives only", got)
	}

	// Only an active provider has a health.
	r := activeMigration()
	r.Status = StatusAwaitingOwnerAccess
	if _, err := r.RecordHealth(c); !apperr.Is(err, apperr.InvalidState) || r.Health != nil {
		t.Errorf("not active: %v, health %+v", err, r.Health)
	}
}

// TestGDAPEndReminders: an admin relationship without auto-extend gets a
// reminder 30 and 7 days before its end, once each; the 30-day one is the
// attention email when both are due at the same check.
func TestGDAPEndReminders(t *testing.T) {
	end := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tt := range []struct {
		name   string
		checks []time.Duration // before the end
		want   []string        // kinds added at each check, joined with ","
	}{
		{"daily checks", []time.Duration{31 * day, 30 * day, 29 * day, 8 * day, 7 * day, 6 * day},
			[]string{"", "health_attention", "", "", "gdap_ending", ""}},
		{"first check inside 7 days", []time.Duration{5 * day, 4 * day},
			[]string{"health_attention,gdap_ending", ""}},
		{"after the end: a finding, no reminder", []time.Duration{-day}, []string{"health_attention"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := activeMigration()
			p.RequesterEmail = ""
			for i, before := range tt.checks {
				c := healthy(end.Add(-before))
				c.GDAP.AutoExtend, c.GDAP.EndAt = "PT0S", end
				if before < 0 {
					c.GDAP.Status = relationship.GDAPExpired
				}
				n := len(p.Outbox)
				if _, err := p.RecordHealth(c); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range p.Outbox[n:] {
					got = append(got, string(e.Kind))
					if e.Kind == NoticeGDAPEnding && (e.EndsAt == nil || !e.EndsAt.Equal(end)) {
						t.Errorf("reminder %+v: want endsAt %v", e, end)
					}
				}
				if strings.Join(got, ",") != tt.want[i] {
					t.Errorf("check %d (%v before the end): added %v, want %q", i, before, got, tt.want[i])
				}
			}
		})
	}
}
