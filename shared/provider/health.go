package provider

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/relationship"
)

// The health of an active provider. A scheduled re-check (functions/
// check-health) reads from Microsoft what the platform still holds and
// hands it to RecordHealth, which decides here what is a finding, when
// one is new (the representatives and the requester are emailed, once per
// change), when the provider is healthy again (emailed too), and when the
// admin relationship's end needs a reminder. Only the partner's side is
// recorded: the provider stays active whatever the check finds.

// GDAPEndingWindow is how long before an admin relationship without
// auto-extend ends that it becomes a finding (and the first reminder);
// GDAPReminders are the reminders' distances from the end, largest first.
const GDAPEndingWindow = 30 * 24 * time.Hour

var GDAPReminders = []time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour}

// Health is the last re-check of an active provider: ok, or attention with
// what is wrong. Stored as the provider item's `health` map (status,
// findings with what, since and do, checkedAt), which the operators'
// listing filters on and the status events read.
type Health struct {
	Status    HealthStatus    `json:"status" dynamodbav:"status"`
	Findings  []HealthFinding `json:"findings" dynamodbav:"findings"`
	CheckedAt time.Time       `json:"checkedAt" dynamodbav:"checkedAt"`
}

// HealthFinding is one thing a re-check found wrong: what, since when
// (the first check that found it) and what to do. A finding is the same
// finding from one check to the next when its What is the same, so What
// names only what identifies it (no time of the check).
type HealthFinding struct {
	What  string    `json:"what" dynamodbav:"what"`
	Since time.Time `json:"since" dynamodbav:"since"`
	Do    string    `json:"do" dynamodbav:"do"`
}

// HealthCheck is what one re-check read from Microsoft. A nil field was
// not checked (it does not apply to the provider's option, see the
// checker), and gives no finding.
type HealthCheck struct {
	At time.Time
	// Consent: whether a token could be acquired in the customer tenant
	// with the partner application (the admin consent still effective).
	Consent *bool
	// CredentialsRefused: option existing, "" when the customer's own
	// application still authenticates and reads its subscription, else
	// the refusal's code (apperr: invalid_client_secret, …).
	CredentialsRefused *string
	// Reseller is Partner Center's relationshipToPartner for the tenant
	// ("none" when the tenant is not among the partner's customers).
	Reseller *string
	// GDAP is the admin relationship as Graph reports it.
	GDAP *relationship.GDAP
	// Assignments are the relationship's access assignments (read while it
	// is active); WantGroup the partner security group that must hold one
	// ("" for none).
	Assignments []relationship.Assignment
	WantGroup   string
	// Owner are the subscriptions as the Owner check found them (owned,
	// missing_owner, not_found), for the principal OwnerPrincipalID names.
	Owner []Subscription
	// PlanSubscriptions are Partner Center's subscriptions of the customer
	// by id with their status ("active", "suspended", …), option new.
	PlanSubscriptions map[string]string
}

// Health's audiences of an outbox entry.
const (
	AudienceRepresentatives = "representatives"
	AudienceRequester       = "requester"
)

// HealthFindings are the findings of a check, each since c.At (RecordHealth
// keeps the Since of a finding already known).
func (p *Provider) HealthFindings(c HealthCheck) []HealthFinding {
	var out []HealthFinding
	add := func(what, do string) { out = append(out, HealthFinding{What: what, Since: c.At, Do: do}) }
	if c.Consent != nil && !*c.Consent {
		add("Admin consent for the partner application is no longer effective in tenant "+p.TenantID+": no token could be acquired there.",
			"Ask the customer's Azure administrator to grant admin consent to the partner application again (Microsoft Entra ID, Enterprise applications), or to restore its service principal.")
	}
	if c.CredentialsRefused != nil && *c.CredentialsRefused != "" {
		add(fmt.Sprintf("The customer's application %s can no longer sign in to tenant %s or read its subscription (%s).", p.ClientID, p.TenantID, *c.CredentialsRefused),
			"Ask the customer to renew the application's client secret or restore its role on the subscription, then delete this provider and create it again with the new credentials.")
	}
	if c.Reseller != nil && *c.Reseller != "reseller" {
		add("Partner Center no longer shows a reseller relationship with tenant "+p.TenantID+" (relationshipToPartner: "+*c.Reseller+").",
			"Send the customer the partner's reseller relationship invitation again and ask their Global Administrator to accept it.")
	}
	if g := c.GDAP; g != nil {
		switch {
		case g.Status != relationship.GDAPActive && g.Status != relationship.GDAPExpiring:
			add("The admin relationship (GDAP) "+g.ID+" is "+g.Status+" in Microsoft Graph.",
				"Request a new admin relationship for this customer and ask their Global Administrator to approve it.")
		case gdapEndsWithin(*g, c.At, GDAPEndingWindow):
			add("The admin relationship (GDAP) "+g.ID+" ends on "+FormatTime(g.EndAt)+" and does not extend automatically.",
				"Ask the customer's Global Administrator to approve a new admin relationship before then (the partner requests it in Partner Center).")
		}
		if (g.Status == relationship.GDAPActive || g.Status == relationship.GDAPExpiring) && c.WantGroup != "" {
			state := "missing"
			for _, a := range c.Assignments {
				if strings.EqualFold(a.GroupID, c.WantGroup) && (state == "missing" || a.Status == relationship.AssignmentActive) {
					state = a.Status
				}
			}
			if state != relationship.AssignmentActive {
				add("The access assignment of the partner security group "+c.WantGroup+" in the admin relationship "+g.ID+" is "+state+".",
					"Create the access assignment again for the security group (Partner Center, Customers, Admin relationships).")
			}
		}
	}
	principal := p.OwnerPrincipalLabel()
	for _, s := range c.Owner {
		switch s.State {
		case SubscriptionMissingOwner:
			add("Principal "+principal+" no longer holds Owner on subscription "+p.subscriptionLabel(s)+".",
				"Ask the customer's Azure administrator to grant Owner on the subscription to principal "+principal+" again.")
		case SubscriptionNotFound:
			add("Subscription "+p.subscriptionLabel(s)+" is no longer visible to the partner in tenant "+p.TenantID+".",
				"Ask the customer whether the subscription was cancelled or moved to another tenant.")
		}
	}
	if c.PlanSubscriptions != nil {
		for _, s := range p.partnerBilled() {
			status, ok := c.PlanSubscriptions[strings.ToLower(s.ID)]
			if !ok {
				status = "not listed"
			}
			if !strings.EqualFold(status, "active") {
				add("Azure plan subscription "+s.Label()+" is no longer billed by the partner: Partner Center shows it "+status+".",
					"Check the customer's Azure plan in Partner Center and reactivate the subscription, or tell the customer it ended.")
			}
		}
	}
	return out
}

// subscriptionLabel names a checked subscription by the provider's record
// of it (its display name), else by id.
func (p *Provider) subscriptionLabel(s Subscription) string {
	for _, own := range p.Subscriptions {
		if strings.EqualFold(own.ID, s.ID) {
			return own.Label()
		}
	}
	return s.Label()
}

// gdapEndsWithin reports whether an active relationship without
// auto-extend ends within d of now.
func gdapEndsWithin(g relationship.GDAP, now time.Time, d time.Duration) bool {
	if g.EndAt.IsZero() || (g.AutoExtend != "" && g.AutoExtend != "PT0S") {
		return false
	}
	left := g.EndAt.Sub(now)
	return left > 0 && left <= d
}

// HealthChange is what RecordHealth changed.
type HealthChange struct {
	// From and To are the health status before ("" for none) and after.
	From, To HealthStatus
	// New are the findings this check found first; Cleared those it no
	// longer found.
	New, Cleared []HealthFinding
	// Notified reports whether emails were put in the outbox.
	Notified bool
}

// RecordHealth records a re-check of an active provider at c.At:
//
//   - the findings (HealthFindings), each keeping the Since of the same
//     finding already recorded; status attention while any, else ok;
//   - a new finding (health turned attention, or another finding joined)
//     emails the representatives and the requester once: one outbox entry
//     each, naming the new findings, and a timeline event;
//   - health back to ok from attention emails both again (cleared), with a
//     timeline event; a finding that clears while others stay is a
//     timeline event only;
//   - an admin relationship without auto-extend that ends within 30 and
//     then 7 days gets a reminder each (GDAPReminders), once per end date:
//     the 30-day one is the attention email itself when it goes out in the
//     same check, so no one gets both.
//
// A provider that is not active is invalid_state: only an active provider
// has a health.
func (p *Provider) RecordHealth(c HealthCheck) (HealthChange, error) {
	if p.Status != StatusActive {
		return HealthChange{}, apperr.New(apperr.InvalidState, "Only an active provider's health is checked.")
	}
	now := c.At
	found := p.HealthFindings(c)
	var old []HealthFinding
	ch := HealthChange{To: HealthOK}
	if p.Health != nil {
		old, ch.From = p.Health.Findings, p.Health.Status
	}
	for i, f := range found {
		if j := slices.IndexFunc(old, func(o HealthFinding) bool { return o.What == f.What }); j >= 0 {
			found[i].Since = old[j].Since
		} else {
			ch.New = append(ch.New, found[i])
		}
	}
	for _, o := range old {
		if !slices.ContainsFunc(found, func(f HealthFinding) bool { return f.What == o.What }) {
			ch.Cleared = append(ch.Cleared, o)
		}
	}
	if len(found) > 0 {
		ch.To = HealthAttention
	}
	if found == nil {
		found = []HealthFinding{}
	}
	p.Health = &Health{Status: ch.To, Findings: found, CheckedAt: now}

	switch {
	case len(ch.New) > 0:
		p.enqueueHealth(NoticeHealthAttention, now, whats(ch.New), nil)
		ch.Notified = true
		p.AddEvent(Event{At: now, Status: p.Status, By: "system",
			What: "Health needs attention: " + strings.Join(whats(ch.New), " ") + " The partner's representatives and the requester were emailed."})
	case ch.From == HealthAttention && ch.To == HealthOK:
		p.enqueueHealth(NoticeHealthCleared, now, whats(ch.Cleared), nil)
		ch.Notified = true
		p.AddEvent(Event{At: now, Status: p.Status, By: "system",
			What: "Health is ok again: " + strings.Join(whats(ch.Cleared), " ") + " No longer found. The partner's representatives and the requester were emailed."})
	case len(ch.Cleared) > 0:
		p.AddEvent(Event{At: now, Status: p.Status, By: "system", What: "No longer found: " + strings.Join(whats(ch.Cleared), " ")})
	}
	if p.remindGDAPEnd(c, ch) {
		ch.Notified = true
	}
	return ch, nil
}

// remindGDAPEnd enqueues the reminder due for an admin relationship
// without auto-extend nearing its end, once per end date and distance.
func (p *Provider) remindGDAPEnd(c HealthCheck, ch HealthChange) bool {
	g := c.GDAP
	if g == nil || (g.Status != relationship.GDAPActive && g.Status != relationship.GDAPExpiring) || !gdapEndsWithin(*g, c.At, GDAPReminders[0]) {
		return false
	}
	left := g.EndAt.Sub(c.At)
	due := -1
	for i, d := range GDAPReminders {
		if left <= d {
			due = i
		}
	}
	mark := func(i int) string {
		return g.ID + "@" + g.EndAt.UTC().Format(time.RFC3339) + "/" + fmt.Sprint(int(GDAPReminders[i].Hours()/24))
	}
	if due < 0 || slices.Contains(p.GDAPReminders, mark(due)) {
		return false
	}
	// The reminders not sent yet at a greater distance are passed: one
	// email, the nearest.
	for i := 0; i <= due; i++ {
		if !slices.Contains(p.GDAPReminders, mark(i)) {
			p.GDAPReminders = append(p.GDAPReminders, mark(i))
		}
	}
	inAttention := slices.ContainsFunc(ch.New, func(f HealthFinding) bool { return strings.Contains(f.What, g.ID+" ends on") })
	if due == 0 && inAttention {
		return false
	}
	end := g.EndAt
	p.enqueueHealth(NoticeGDAPEnding, c.At, nil, &end)
	p.AddEvent(Event{At: c.At, Status: p.Status, By: "system",
		What: "Reminder sent: the admin relationship (GDAP) " + g.ID + " ends on " + FormatTime(end) + " and does not extend automatically."})
	return true
}

// enqueueHealth puts one entry of kind for each audience: the
// representatives, and the requester when the provider has their address.
func (p *Provider) enqueueHealth(kind NoticeKind, now time.Time, findings []string, endsAt *time.Time) {
	for _, to := range []string{AudienceRepresentatives, AudienceRequester} {
		if to == AudienceRequester && p.RequesterEmail == "" {
			continue
		}
		e := p.EnqueueTo(kind, to, now)
		e.Findings = slices.Clone(findings)
		e.EndsAt = endsAt
	}
}

func whats(fs []HealthFinding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.What)
	}
	return out
}
