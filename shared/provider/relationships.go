package provider

import (
	"slices"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/relationship"
)

// Relationships is what a migration asked Microsoft for and last observed
// of the partner relationships: the granular delegated admin (GDAP)
// relationship requested when the provider was created, the reseller
// relationship as Partner Center shows it, the access assignments as Graph
// lists them, each with when it was observed; and the wait for them after
// consent. It is the provider's record; the rules that read an observation
// are in package relationship.
type Relationships struct {
	// GDAPID is the relationship requested for this provider (its display
	// name derives from the provider id), ApprovalURL the admin center page
	// where the customer approves it and ResellerURL the partner's reseller
	// invitation; RequestedAt is when the request was locked for approval.
	GDAPID      string     `dynamodbav:"gdapId,omitempty"`
	ApprovalURL string     `dynamodbav:"approvalUrl,omitempty"`
	ResellerURL string     `dynamodbav:"resellerUrl,omitempty"`
	RequestedAt *time.Time `dynamodbav:"requestedAt,omitempty"`
	// AccessGroupID is the partner security group given roles once the
	// relationship is active ("" when none is configured).
	AccessGroupID string `dynamodbav:"accessGroupId,omitempty"`

	// GDAP is the relationship as Graph last reported it, at GDAPObservedAt.
	GDAP           relationship.GDAP `dynamodbav:"gdap"`
	GDAPObservedAt *time.Time        `dynamodbav:"gdapObservedAt,omitempty"`
	// Reseller is Partner Center's relationshipToPartner for the tenant
	// ("reseller", "advisor", "none"; "none" too when Partner Center does
	// not list the tenant), at ResellerObservedAt; "" before any check.
	Reseller           string     `dynamodbav:"reseller,omitempty"`
	ResellerObservedAt *time.Time `dynamodbav:"resellerObservedAt,omitempty"`
	// Assignments are the relationship's access assignments as Graph
	// listed them, at AssignmentsObservedAt.
	Assignments           []relationship.Assignment `dynamodbav:"assignments,omitempty"`
	AssignmentsObservedAt *time.Time                `dynamodbav:"assignmentsObservedAt,omitempty"`

	// Missing are the steps still open after the last check, in the
	// checklist's order; ConfirmedAt is when a check first found every
	// step done; Failure is why a check found the relationships failed
	// (relationship.Reason*).
	Missing     []string   `dynamodbav:"missing,omitempty"`
	ConfirmedAt *time.Time `dynamodbav:"confirmedAt,omitempty"`
	Failure     string     `dynamodbav:"failure,omitempty"`
	// Wait is the wait for the customer's steps after consent.
	Wait *StepWait `dynamodbav:"wait,omitempty"`
	// TaskToken is the token of the workflow's wait for the relationships,
	// kept so that Partner Center's webhook can end the wait at once.
	TaskToken string `dynamodbav:"taskToken,omitempty"`
}

// StepWait is the wait for the customer's steps after consent.
type StepWait struct {
	StartedAt     time.Time  `json:"startedAt" dynamodbav:"startedAt"`
	Deadline      time.Time  `json:"deadline" dynamodbav:"deadline"`
	Checks        int        `json:"checks" dynamodbav:"checks"`
	LastCheckedAt *time.Time `json:"lastCheckedAt,omitempty" dynamodbav:"lastCheckedAt,omitempty"`
}

// RelationshipRequest is the GDAP relationship the partner requested for a
// provider, locked for approval.
type RelationshipRequest struct {
	ID, Status               string
	ApprovalURL, ResellerURL string
	AccessGroupID            string
	Roles                    []string
	AutoExtend               string
}

// RecordRelationshipRequest records the GDAP relationship requested for the
// migration and locked for approval, with the links the customer follows.
// Recording the same request again changes nothing and reports false; a
// provider that ended is invalid_state.
func (p *Provider) RecordRelationshipRequest(r RelationshipRequest, now time.Time) (bool, error) {
	if err := p.CheckOpen(); err != nil {
		return false, err
	}
	if p.Relationships == nil {
		p.Relationships = &Relationships{}
	}
	rel := p.Relationships
	if rel.GDAPID == r.ID && rel.ApprovalURL == r.ApprovalURL && rel.ResellerURL == r.ResellerURL && rel.RequestedAt != nil {
		return false, nil
	}
	first := rel.GDAPID == ""
	rel.GDAPID, rel.ApprovalURL, rel.ResellerURL, rel.AccessGroupID = r.ID, r.ApprovalURL, r.ResellerURL, r.AccessGroupID
	t := now
	rel.RequestedAt = &t
	if rel.GDAPObservedAt == nil || rel.GDAP.ID != r.ID {
		rel.GDAP = relationship.GDAP{ID: r.ID, Status: r.Status, Roles: slices.Clone(r.Roles), AutoExtend: r.AutoExtend}
		rel.GDAPObservedAt = &t
	}
	if first {
		p.AddEvent(Event{At: now, Status: p.Status, By: "system",
			What: "Admin relationship (GDAP) " + r.ID + " requested in Microsoft Graph and locked for the customer's approval."})
	}
	return true, nil
}

// ObservedRelationships is one check of the partner relationships: what
// Partner Center and Graph reported, and the rules' decision on it.
type ObservedRelationships struct {
	relationship.Observation
	Decision relationship.Decision
}

// RecordRelationshipCheck records a check of the partner relationships: each
// step as Microsoft reported it and when (an observation older than the one
// recorded is not written over it), the steps still missing, when the
// relationships were first confirmed, why they failed, the wait (started at
// the first check, ending deadline later) and a timeline event when a step
// changed. A migration that has not consented yet keeps its status (a
// webhook may arrive before); after consent it is awaiting_customer while
// a step is missing. It reports whether the relationships are confirmed
// (by this check or an earlier one). A provider that ended is invalid_state.
func (p *Provider) RecordRelationshipCheck(o ObservedRelationships, now time.Time, deadline time.Duration) (bool, error) {
	if err := p.CheckOpen(); err != nil {
		return false, err
	}
	if p.Relationships == nil {
		p.Relationships = &Relationships{}
	}
	rel := p.Relationships
	before := rel.summary()
	at := o.At
	if at.IsZero() {
		at = now
	}
	if rel.GDAPObservedAt == nil || !at.Before(*rel.GDAPObservedAt) {
		t := at
		if o.GDAP.ID != "" {
			rel.GDAP, rel.GDAPObservedAt = o.GDAP, &t
		}
		if p.TenantID != "" {
			rel.Reseller, rel.ResellerObservedAt = o.Reseller, &t
			if rel.Reseller == "" {
				rel.Reseller = "none"
			}
		}
		if o.Assignments != nil || o.GDAP.Status == relationship.GDAPActive {
			rel.Assignments, rel.AssignmentsObservedAt = o.Assignments, &t
		}
		rel.Missing = nil
		for _, m := range o.Decision.Missing {
			rel.Missing = append(rel.Missing, string(m))
		}
		switch o.Decision.Outcome {
		case relationship.Confirmed:
			if rel.ConfirmedAt == nil && p.ConsentRecorded() {
				rel.ConfirmedAt = &t
			}
		case relationship.Failed:
			rel.Failure = o.Decision.Reason
		}
	}
	if p.ConsentRecorded() {
		if rel.Wait == nil {
			rel.Wait = &StepWait{StartedAt: now, Deadline: now.Add(deadline)}
		}
		rel.Wait.Checks++
		t := now
		rel.Wait.LastCheckedAt = &t
		if p.Status == StatusAwaitingOwnerAccess && rel.ConfirmedAt == nil {
			p.Status = StatusAwaitingCustomer
		}
	}
	if after := rel.summary(); after != before {
		p.AddEvent(Event{At: now, Status: p.Status, Kind: EventRelationshipsChecked, By: "system", What: "Partner relationships checked: " + after + "."})
	}
	return rel.ConfirmedAt != nil, nil
}

// summary describes the relationships' recorded state in one sentence part.
func (r *Relationships) summary() string {
	parts := []string{"reseller relationship " + orUnknown(r.Reseller), "admin relationship " + orUnknown(r.GDAP.Status)}
	if r.AccessGroupID != "" || len(r.Assignments) > 0 {
		parts = append(parts, "access assignment "+orUnknown(r.assignmentState()))
	}
	return strings.Join(parts, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "not checked yet"
	}
	return s
}

// assignmentState is the status of the access assignment that counts: the
// configured group's newest one in force, else any in force, else a
// deleted or failed one; "" when none was seen.
func (r *Relationships) assignmentState() string {
	var found *relationship.Assignment
	for i := range r.Assignments {
		a := &r.Assignments[i]
		if r.AccessGroupID != "" && !strings.EqualFold(a.GroupID, r.AccessGroupID) {
			continue
		}
		if found == nil || found.Status == relationship.AssignmentDeleted {
			found = a
		}
	}
	if found == nil {
		if r.GDAP.Status == relationship.GDAPActive && r.AccessGroupID != "" {
			return "not_created"
		}
		return ""
	}
	return found.Status
}

// CheckRelationshipDeadline is relationship_deadline_exceeded once the wait
// for the customer's steps passed its deadline at now, else nil.
func (p *Provider) CheckRelationshipDeadline(now time.Time) error {
	if r := p.Relationships; r != nil && r.Wait != nil && r.ConfirmedAt == nil && !now.Before(r.Wait.Deadline) {
		return apperr.New(apperr.RelationshipDeadlineExceeded, EndReason(apperr.RelationshipDeadlineExceeded, StatusFailed))
	}
	return nil
}

// RelationshipsConfirmed reports whether a check found every relationship
// step done.
func (p *Provider) RelationshipsConfirmed() bool {
	return p.Relationships != nil && p.Relationships.ConfirmedAt != nil
}

// KeepRelationshipTask keeps the token of the workflow's wait for the
// relationships, so that a webhook can end the wait. A provider that ended
// is invalid_state.
func (p *Provider) KeepRelationshipTask(token string) error {
	if err := p.CheckOpen(); err != nil {
		return err
	}
	if p.Relationships == nil {
		p.Relationships = &Relationships{}
	}
	p.Relationships.TaskToken = token
	return nil
}

// RelationshipTask is the token of the workflow's wait for the
// relationships, "" when none is kept.
func (p *Provider) RelationshipTask() string {
	if p.Relationships == nil {
		return ""
	}
	return p.Relationships.TaskToken
}

// GDAPRelationshipID is the admin relationship requested for the
// provider, "" before the request.
func (p *Provider) GDAPRelationshipID() string {
	if p.Relationships == nil {
		return ""
	}
	return p.Relationships.GDAPID
}

// RelationshipFailureCode is the failure code of a migration whose
// relationships failed (relationship.Reason*), "" otherwise.
func (p *Provider) RelationshipFailureCode() string {
	if p.Relationships == nil {
		return ""
	}
	return p.Relationships.Failure
}

// RecordRelationshipFailure records why the relationship wait failed (a
// relationship.Reason*, or the deadline's code), which becomes the failed
// provider's failure code.
func (p *Provider) RecordRelationshipFailure(reason string) {
	if p.Relationships == nil {
		p.Relationships = &Relationships{}
	}
	if p.Relationships.Failure == "" {
		p.Relationships.Failure = reason
	}
}
