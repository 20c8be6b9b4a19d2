// Package relationship holds the rules of the partner relationships a
// migrated customer must grant: the reseller relationship (confirmed in
// Partner Center) and the granular delegated admin relationship, GDAP, with
// its access assignments (confirmed in Microsoft Graph).
//
// It decides from what Microsoft reported, never from what a page or a
// webhook claims: a check reads Partner Center and Graph, and Evaluate
// turns that observation into what the provider records and what the
// workflow does next. The steps may be done in any order.
package relationship

import (
	"slices"
	"time"
)

// Microsoft's words for a GDAP relationship's status (Graph
// delegatedAdminRelationshipStatus) and an access assignment's.
const (
	GDAPCreated              = "created"
	GDAPApprovalPending      = "approvalPending"
	GDAPApproved             = "approved"
	GDAPActivating           = "activating"
	GDAPActive               = "active"
	GDAPExpiring             = "expiring"
	GDAPExpired              = "expired"
	GDAPTerminationRequested = "terminationRequested"
	GDAPTerminating          = "terminating"
	GDAPTerminated           = "terminated"

	AssignmentPending  = "pending"
	AssignmentActive   = "active"
	AssignmentDeleting = "deleting"
	AssignmentDeleted  = "deleted"
	AssignmentError    = "error"
)

// Observation is what one check read from Microsoft.
type Observation struct {
	At time.Time
	// Reseller is Partner Center's relationshipToPartner for the customer's
	// tenant ("reseller", "advisor", "none"), empty when Partner Center does
	// not list the tenant among the partner's customers.
	Reseller string
	// GDAP is the relationship as Graph reports it.
	GDAP GDAP
	// Assignments are the relationship's access assignments (read only once
	// it is active).
	Assignments []Assignment
}

// GDAP is a delegated admin relationship as Graph reports it.
type GDAP struct {
	ID     string `json:"id" dynamodbav:"id"`
	Status string `json:"status" dynamodbav:"status"`
	// CustomerTenantID is the tenant that approved it (empty before).
	CustomerTenantID string    `json:"customerTenantId,omitempty" dynamodbav:"customerTenantId,omitempty"`
	Roles            []string  `json:"roles,omitempty" dynamodbav:"roles,omitempty"`
	AutoExtend       string    `json:"autoExtendDuration,omitempty" dynamodbav:"autoExtend,omitempty"`
	EndAt            time.Time `json:"endDateTime,omitzero" dynamodbav:"endAt,omitempty"`
}

// Assignment is an access assignment: a partner security group given roles
// in the customer's tenant.
type Assignment struct {
	ID      string   `json:"id" dynamodbav:"id"`
	GroupID string   `json:"groupId" dynamodbav:"groupId"`
	Roles   []string `json:"roles" dynamodbav:"roles"`
	Status  string   `json:"status" dynamodbav:"status"`
}

// Want is what the partner configured: the access assignments to make once
// the relationship is active (none when no security group is configured).
type Want struct {
	GroupID string
	Roles   []string
}

// Outcome is what the workflow does after a check.
type Outcome string

const (
	// Pending: something is still missing; wait and check again.
	Pending Outcome = "pending"
	// Confirmed: Microsoft confirms every relationship step.
	Confirmed Outcome = "confirmed"
	// Failed: a relationship ended or cannot serve this customer; the
	// provider fails with Reason.
	Failed Outcome = "failed"
)

// Failure reasons (the provider's failureCode).
const (
	ReasonExpired     = "gdap_expired"
	ReasonTerminated  = "gdap_terminated"
	ReasonWrongTenant = "gdap_other_tenant"
	ReasonAssignment  = "access_assignment_failed"
)

// Missing names a customer step still open, as the checklist names it.
type Missing string

const (
	MissingReseller   Missing = "reseller_relationship"
	MissingGDAP       Missing = "gdap"
	MissingAssignment Missing = "access_assignments"
)

// Decision is Evaluate's answer.
type Decision struct {
	Outcome Outcome
	// Reason is the failure reason when Outcome is Failed.
	Reason string
	// Missing lists the steps still open, in the order the checklist shows
	// them (Pending only).
	Missing []Missing
	// CreateAssignment asks for the configured access assignment to be
	// made: the relationship is active and has none for the group (or only
	// a deleted one).
	CreateAssignment bool
}

// Evaluate decides from an observation, for a customer whose sign-in proved
// tenant: the reseller relationship must show in Partner Center, the GDAP
// relationship must be active and approved by that same tenant, and the
// configured access assignment must be active.
func Evaluate(o Observation, tenant string, want Want) Decision {
	var d Decision
	if o.Reseller != "reseller" {
		d.Missing = append(d.Missing, MissingReseller)
	}
	switch o.GDAP.Status {
	case GDAPExpired:
		return Decision{Outcome: Failed, Reason: ReasonExpired}
	case GDAPTerminationRequested, GDAPTerminating, GDAPTerminated:
		return Decision{Outcome: Failed, Reason: ReasonTerminated}
	case GDAPActive, GDAPExpiring:
		if o.GDAP.CustomerTenantID != "" && tenant != "" && o.GDAP.CustomerTenantID != tenant {
			// Approved by another tenant than the one whose administrator
			// signed in: it grants nothing in this customer's tenant.
			return Decision{Outcome: Failed, Reason: ReasonWrongTenant}
		}
		if want.GroupID != "" {
			switch a, ok := assignmentFor(o.Assignments, want.GroupID); {
			case !ok || a.Status == AssignmentDeleted:
				d.CreateAssignment = true
				d.Missing = append(d.Missing, MissingAssignment)
			case a.Status == AssignmentError:
				return Decision{Outcome: Failed, Reason: ReasonAssignment}
			case a.Status != AssignmentActive:
				d.Missing = append(d.Missing, MissingAssignment)
			}
		}
	default: // created, approvalPending, approved, activating, or a status Graph adds later
		d.Missing = append(d.Missing, MissingGDAP)
	}
	if len(d.Missing) > 0 {
		d.Outcome = Pending
		slices.SortStableFunc(d.Missing, func(a, b Missing) int { return order(a) - order(b) })
		return d
	}
	d.Outcome = Confirmed
	return d
}

func order(m Missing) int {
	return slices.Index([]Missing{MissingReseller, MissingGDAP, MissingAssignment}, m)
}

// assignmentFor returns the newest-listed assignment of group that is not
// deleted, else a deleted one.
func assignmentFor(as []Assignment, group string) (Assignment, bool) {
	var found Assignment
	ok := false
	for _, a := range as {
		if a.GroupID != group {
			continue
		}
		if !ok || found.Status == AssignmentDeleted {
			found, ok = a, true
		}
	}
	return found, ok
}

// Backoff is the wait before the next check while relationships are
// pending: first, doubled after each check, at most max. It grows so that a
// customer who takes weeks costs few checks, while Partner Center's webhook
// cuts any wait short.
func Backoff(checks int, first, max time.Duration) time.Duration {
	d := first
	for i := 0; i < checks && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
