package provider

import (
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/relationship"
)

const relGroup = "7a1d2c3b-0000-4000-8000-0000000000a9"

func requested(t *testing.T) *Provider {
	t.Helper()
	p := migration(StatusPendingConsent)
	p.TenantID, p.ConsentedAt, p.PrincipalID = "", nil, ""
	changed, err := p.RecordRelationshipRequest(RelationshipRequest{ID: "rel-1", Status: relationship.GDAPApprovalPending,
		ApprovalURL: "https://admin.example/AdminPortal/Home#/partners/invitation/granularAdminRelationships/rel-1",
		ResellerURL: "https://admin.example/Adminportal/Home?invType=ResellerRelationship", AccessGroupID: relGroup, Roles: []string{"r1"}}, at)
	if !changed || err != nil {
		t.Fatalf("RecordRelationshipRequest = %v, %v", changed, err)
	}
	return p
}

func observed(at time.Time, reseller, gdap string, assignments ...relationship.Assignment) ObservedRelationships {
	o := relationship.Observation{At: at, Reseller: reseller, GDAP: relationship.GDAP{ID: "rel-1", Status: gdap, CustomerTenantID: "tenant-1", Roles: []string{"r1"}, EndAt: at.AddDate(2, 0, 0)}, Assignments: assignments}
	return ObservedRelationships{Observation: o, Decision: relationship.Evaluate(o, "tenant-1", relationship.Want{GroupID: relGroup, Roles: []string{"r1"}})}
}

func stepStates(p *Provider) string {
	var out []string
	for _, s := range p.Steps() {
		out = append(out, s.Name+"="+s.Status+"/"+s.State)
	}
	return strings.Join(out, " ")
}

// TestRelationshipJourney: the request is recorded once; a check before
// consent (a webhook) records what it saw without moving the status;
// after consent the provider is awaiting_customer with the right steps,
// until a check confirms every step; an older observation never writes
// over a newer one; the steps and the permissions show what Microsoft
// reported and when.
func TestRelationshipJourney(t *testing.T) {
	p := requested(t)
	if changed, _ := p.RecordRelationshipRequest(RelationshipRequest{ID: "rel-1", Status: relationship.GDAPApprovalPending,
		ApprovalURL: p.Relationships.ApprovalURL, ResellerURL: p.Relationships.ResellerURL}, at.Add(time.Minute)); changed {
		t.Fatal("the same request recorded twice")
	}
	if got, want := stepStates(p), "sign_in=pending/ app_consent=pending/ reseller_relationship=pending/ gdap=pending/approvalPending access_assignments=pending/ owner_access=done/owned owner_access=done/owned"; got != want {
		t.Errorf("steps at creation:\n got %s\nwant %s", got, want)
	}

	// A webhook before consent: GDAP approved out of order.
	confirmed, err := p.RecordRelationshipCheck(observed(at.Add(time.Hour), "", relationship.GDAPActive), at.Add(time.Hour), 30*24*time.Hour)
	if err != nil || confirmed || p.Status != StatusPendingConsent || p.Relationships.Wait != nil {
		t.Fatalf("check before consent: %v %v status %s wait %+v", confirmed, err, p.Status, p.Relationships.Wait)
	}

	if !p.RecordConsent("tenant-1", "sp-oid", at.Add(2*time.Hour)) || p.Status != StatusAwaitingCustomer {
		t.Fatalf("consent: status %s", p.Status)
	}
	t2 := at.Add(3 * time.Hour)
	confirmed, err = p.RecordRelationshipCheck(observed(t2, "none", relationship.GDAPActive, relationship.Assignment{ID: "a1", GroupID: relGroup, Status: relationship.AssignmentPending}), t2, 30*24*time.Hour)
	if err != nil || confirmed || p.Status != StatusAwaitingCustomer {
		t.Fatalf("pending check: %v %v %s", confirmed, err, p.Status)
	}
	if w := p.Relationships.Wait; w == nil || !w.Deadline.Equal(t2.Add(30*24*time.Hour)) || w.Checks != 1 {
		t.Fatalf("wait %+v", w)
	}
	if got := strings.Join(p.Relationships.Missing, ","); got != "reseller_relationship,access_assignments" {
		t.Errorf("missing %s", got)
	}
	steps := p.Steps()
	if steps[0].Status != StepStatusDone || steps[1].Status != StepStatusDone || steps[2].Status != StepStatusToDo || steps[2].State != "none" ||
		steps[2].Link == "" || steps[2].Actor != ActorGlobalAdmin || steps[3].Status != StepStatusDone || !steps[3].ObservedAt.Equal(t2) ||
		steps[4].State != relationship.AssignmentPending || steps[4].Actor != ActorMicrosoft {
		t.Errorf("steps while waiting: %+v", steps)
	}
	if ns := p.NextStep(); !strings.Contains(ns, "accept the reseller relationship") || strings.Contains(ns, "GDAP") || !strings.Contains(ns, "fails if this is not done by") {
		t.Errorf("next step %q", ns)
	}

	// An observation older than the recorded one is not written over it.
	if _, err := p.RecordRelationshipCheck(observed(at.Add(150*time.Minute), "", relationship.GDAPApprovalPending), at.Add(4*time.Hour), 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if p.Relationships.GDAP.Status != relationship.GDAPActive || p.Relationships.Reseller != "none" {
		t.Fatalf("an older observation won: %+v", p.Relationships)
	}

	t5 := at.Add(5 * time.Hour)
	confirmed, err = p.RecordRelationshipCheck(observed(t5, "reseller", relationship.GDAPActive, relationship.Assignment{ID: "a1", GroupID: relGroup, Roles: []string{"r1"}, Status: relationship.AssignmentActive}), t5, 30*24*time.Hour)
	if err != nil || !confirmed || !p.RelationshipsConfirmed() || !p.Relationships.ConfirmedAt.Equal(t5) {
		t.Fatalf("confirming check: %v %v %+v", confirmed, err, p.Relationships)
	}
	if p.Relationships.Wait.Checks != 3 {
		t.Errorf("checks %d", p.Relationships.Wait.Checks)
	}
	owned := at.Add(6 * time.Hour)
	if err := p.RecordOwnershipCheck([]Subscription{{ID: "sub-a", State: SubscriptionOwned}, {ID: "sub-b", State: SubscriptionOwned}}, "sp-oid", false, owned, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	p.Activate("", owned)
	kinds := map[string]Permission{}
	for _, pm := range p.Permissions {
		kinds[pm.Kind] = pm
	}
	if len(p.Permissions) != 6 {
		t.Errorf("permissions %+v", p.Permissions)
	}
	if r := kinds[PermissionReseller]; r.State != "reseller" || !r.ObservedAt.Equal(t5) {
		t.Errorf("reseller permission %+v", r)
	}
	if g := kinds[PermissionGDAP]; g.ID != "rel-1" || g.EndsAt == nil || len(g.Roles) != 1 || !g.ObservedAt.Equal(t5) {
		t.Errorf("GDAP permission %+v", g)
	}
	if a := kinds[PermissionAccessAssignment]; a.GroupID != relGroup || a.ID != "a1" {
		t.Errorf("assignment permission %+v", a)
	}
	if c := kinds[PermissionAdminConsent]; !c.ObservedAt.Equal(owned) {
		t.Errorf("consent permission %+v", c)
	}
	if o := kinds[PermissionOwner]; !o.ObservedAt.Equal(owned) || o.PrincipalID != "sp-oid" {
		t.Errorf("owner permission %+v", o)
	}
}

// TestRelationshipFailureAndDeadline: a failed check records its reason,
// which becomes the failed provider's failure code; the deadline is only
// passed while the relationships are not confirmed.
func TestRelationshipFailureAndDeadline(t *testing.T) {
	p := requested(t)
	p.RecordConsent("tenant-1", "sp-oid", at)
	if _, err := p.RecordRelationshipCheck(observed(at, "reseller", relationship.GDAPTerminated), at, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if steps := p.Steps(); steps[3].Status != StepStatusFailed || steps[3].State != relationship.GDAPTerminated {
		t.Errorf("gdap step %+v", steps[3])
	}
	if err := p.CheckRelationshipDeadline(at.Add(23 * time.Hour)); err != nil {
		t.Errorf("deadline passed early: %v", err)
	}
	if err := p.CheckRelationshipDeadline(at.Add(24 * time.Hour)); !apperr.Is(err, apperr.RelationshipDeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	if changed, err := p.RecordOutcome(StatusFailed, "", apperr.RelationshipTerminated, at); !changed || err != nil {
		t.Fatal(changed, err)
	}
	if p.FailureCode != relationship.ReasonTerminated || !strings.Contains(p.FailureReason, "terminated") || p.NextStep() != p.FailureReason {
		t.Errorf("failed provider: code %q reason %q next %q", p.FailureCode, p.FailureReason, p.NextStep())
	}
	if err := p.KeepRelationshipTask("tok"); !apperr.Is(err, apperr.InvalidState) {
		t.Errorf("a token kept on an ended provider: %v", err)
	}
}

// TestSharedDeadline: the wait for Owner ends when the wait for the
// relationships that ran first ends, not a full deadline later.
func TestSharedDeadline(t *testing.T) {
	p := requested(t)
	p.RecordConsent("tenant-1", "sp-oid", at)
	if _, err := p.RecordRelationshipCheck(observed(at, "reseller", relationship.GDAPApprovalPending), at, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	later := at.Add(10 * 24 * time.Hour)
	if err := p.RecordOwnershipCheck([]Subscription{{ID: "sub-a", State: SubscriptionMissingOwner}}, "sp-oid", false, later, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if want := at.Add(30 * 24 * time.Hour); !p.OwnershipWait.Deadline.Equal(want) {
		t.Errorf("ownership deadline %v, want the relationship wait's %v", p.OwnershipWait.Deadline, want)
	}
}
