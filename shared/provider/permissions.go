package provider

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/relationship"
)

// Kinds of permission an active provider holds.
const (
	PermissionReseller         = "reseller_relationship"
	PermissionGDAP             = "gdap_relationship"
	PermissionAccessAssignment = "access_assignment"
	PermissionAdminConsent     = "admin_consent"
	PermissionOwner            = "owner"
	PermissionAzurePlan        = "azure_plan_subscription"
)

// Permission is one thing the platform holds to work for the customer, as
// Microsoft showed it and when: never assumed from a step's having been
// asked for or clicked.
type Permission struct {
	Kind        string `json:"kind" dynamodbav:"kind"`
	Description string `json:"description" dynamodbav:"description"`
	// State is Microsoft's word for it when it has one (relationshipToPartner,
	// a relationship's or an assignment's status).
	State      string    `json:"state,omitempty" dynamodbav:"state,omitempty"`
	ObservedAt time.Time `json:"observedAt" dynamodbav:"observedAt"`
	// ID is the relationship's, assignment's or subscription's id.
	ID string `json:"id,omitempty" dynamodbav:"id,omitempty"`
	// Roles are role definition ids (GDAP, access assignments).
	Roles []string `json:"roles,omitempty" dynamodbav:"roles,omitempty"`
	// EndsAt is when a relationship ends unless extended; AutoExtend is
	// its automatic extension (ISO 8601, PT0S for none).
	EndsAt     *time.Time `json:"endsAt,omitempty" dynamodbav:"endsAt,omitempty"`
	AutoExtend string     `json:"autoExtend,omitempty" dynamodbav:"autoExtend,omitempty"`
	// PrincipalID is who holds it (Owner), GroupID the partner security
	// group (access assignments), Scope where it applies.
	PrincipalID string `json:"principalId,omitempty" dynamodbav:"principalId,omitempty"`
	GroupID     string `json:"groupId,omitempty" dynamodbav:"groupId,omitempty"`
	Scope       string `json:"scope,omitempty" dynamodbav:"scope,omitempty"`
}

// ObservedPermissions are the permissions the records show Microsoft
// confirmed: the reseller relationship as Partner Center showed it, the
// GDAP relationship with its roles and end, each access assignment in
// force, the admin consent (proved by a token in the tenant), Owner on each
// subscription where a check found it, and for a new customer the Azure
// plan subscriptions Partner Center listed. What was not observed is not
// listed.
func (p *Provider) ObservedPermissions() []Permission {
	var out []Permission
	rel := p.Relationships
	if rel != nil && rel.Reseller == "reseller" && rel.ResellerObservedAt != nil {
		out = append(out, Permission{Kind: PermissionReseller, State: rel.Reseller, ObservedAt: *rel.ResellerObservedAt, ID: p.TenantID,
			Description: "CSP reseller relationship with tenant " + p.TenantID + ", as Partner Center shows it."})
	}
	if rel != nil && rel.GDAPObservedAt != nil && (rel.GDAP.Status == relationship.GDAPActive || rel.GDAP.Status == relationship.GDAPExpiring) {
		g := rel.GDAP
		perm := Permission{Kind: PermissionGDAP, State: g.Status, ObservedAt: *rel.GDAPObservedAt, ID: g.ID, Roles: slices.Clone(g.Roles), AutoExtend: g.AutoExtend, Scope: "tenant " + g.CustomerTenantID}
		desc := fmt.Sprintf("Admin relationship (GDAP) %s in tenant %s with %s", g.ID, g.CustomerTenantID, Count(len(g.Roles), "role", ""))
		if !g.EndAt.IsZero() {
			end := g.EndAt
			perm.EndsAt = &end
			desc += ", until " + FormatTime(end)
		}
		perm.Description = desc + "."
		out = append(out, perm)
	}
	if rel != nil && rel.AssignmentsObservedAt != nil {
		for _, a := range rel.Assignments {
			if a.Status != relationship.AssignmentActive {
				continue
			}
			out = append(out, Permission{Kind: PermissionAccessAssignment, State: a.Status, ObservedAt: *rel.AssignmentsObservedAt, ID: a.ID, GroupID: a.GroupID, Roles: slices.Clone(a.Roles),
				Description: fmt.Sprintf("Access assignment %s: partner security group %s holds %s through the admin relationship.", a.ID, a.GroupID, Count(len(a.Roles), "role", ""))})
		}
	}
	if p.Option == OptionMigrate {
		if at := p.consentObservedAt(); at != nil {
			out = append(out, Permission{Kind: PermissionAdminConsent, ObservedAt: *at, ID: p.PrincipalID, PrincipalID: p.PrincipalID, Scope: "tenant " + p.TenantID,
				Description: "Admin consent for the partner application in tenant " + p.TenantID + " (a token was acquired there)."})
		}
	}
	principal := p.OwnerPrincipalID()
	for _, s := range p.Subscriptions {
		if s.ConfirmedAt == nil {
			continue
		}
		if p.Option == OptionNew {
			if s.State == SubscriptionConsolidated {
				out = append(out, Permission{Kind: PermissionAzurePlan, State: "active", ObservedAt: *s.ConfirmedAt, ID: s.ID, Scope: "/subscriptions/" + s.ID,
					Description: "Azure subscription /subscriptions/" + s.ID + " under the partner's Azure plan, active in Partner Center."})
			}
			continue
		}
		if !holdsOwner(s) {
			continue
		}
		at := *s.ConfirmedAt
		if p.OwnershipWait != nil && p.OwnershipWait.LastCheckedAt != nil && p.OwnershipWait.LastCheckedAt.After(at) {
			at = *p.OwnershipWait.LastCheckedAt
		}
		out = append(out, Permission{Kind: PermissionOwner, ObservedAt: at, ID: s.ID, PrincipalID: principal, Scope: "/subscriptions/" + s.ID,
			Description: fmt.Sprintf("Owner on /subscriptions/%s for principal %s.", s.ID, principal)})
	}
	return out
}

// consentObservedAt is when a token in the customer tenant last proved the
// admin consent: the last ownership check (which acquires one), else the
// consent's own confirmation.
func (p *Provider) consentObservedAt() *time.Time {
	if p.TenantID == "" {
		return nil
	}
	if w := p.OwnershipWait; w != nil && w.LastCheckedAt != nil {
		return w.LastCheckedAt
	}
	return p.ConsentedAt
}

// PermissionLines are the permissions as one sentence each (emails).
func PermissionLines(perms []Permission) []string {
	out := make([]string, 0, len(perms))
	for _, pm := range perms {
		out = append(out, strings.TrimSuffix(pm.Description, ".")+" (observed "+FormatTime(pm.ObservedAt)+").")
	}
	return out
}

// RecordCustomerRelationship records the reseller relationship as Partner
// Center showed it for the provider's tenant at now (option new: the
// customer the partner created).
func (p *Provider) RecordCustomerRelationship(relationshipToPartner string, now time.Time) {
	if p.Relationships == nil {
		p.Relationships = &Relationships{}
	}
	if relationshipToPartner == "" {
		relationshipToPartner = "none"
	}
	t := now
	p.Relationships.Reseller, p.Relationships.ResellerObservedAt = relationshipToPartner, &t
}

// holdsOwner reports whether the last Owner check of a subscription found
// the principal holding Owner: owned, or on the move route past that check
// (its report, approval and moves need it).
func holdsOwner(s Subscription) bool {
	switch s.State {
	case SubscriptionOwned:
		return true
	case SubscriptionValidating, SubscriptionAwaitingApproval, SubscriptionMoving, SubscriptionConsolidated:
		return s.Route == "move_resources"
	}
	return false
}
