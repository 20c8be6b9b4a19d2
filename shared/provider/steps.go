package provider

import (
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/relationship"
)

// The customer's steps of a migration, in the order Microsoft needs them.
const (
	StepSignIn      = "sign_in"
	StepAppConsent  = "app_consent"
	StepReseller    = "reseller_relationship"
	StepGDAP        = "gdap"
	StepAssignments = "access_assignments"
	StepOwnerAccess = "owner_access"
	// StepTransferAcceptance: the customer's billing administrator accepts
	// the partner transfer request (billing_transfer route).
	StepTransferAcceptance = "transfer_acceptance"
	// StepMoveApproval: the platform's administrator approves the move
	// report (move_resources route).
	StepMoveApproval = "move_approval"
	StepStatusDone   = "done"
	StepStatusToDo   = "pending"
	StepStatusFailed = "failed"
)

// Who must act on a step.
const (
	// ActorAzureAdmin: the customer's administrator who can grant
	// tenant-wide admin consent (Global Administrator, Privileged Role
	// Administrator or Cloud Application Administrator).
	ActorAzureAdmin = "azure_admin"
	// ActorGlobalAdmin: a Global Administrator of the customer's tenant.
	ActorGlobalAdmin = "global_admin"
	// ActorSubscriptionOwner: someone who holds Owner (or User Access
	// Administrator) on the subscription.
	ActorSubscriptionOwner = "subscription_owner"
	// ActorBillingAdmin: a billing account owner of the customer's
	// agreement (EA enterprise administrator, MCA billing account owner).
	ActorBillingAdmin = "billing_admin"
	// ActorPlatformAdmin: an administrator of the organization on the
	// platform (the move plan's approval).
	ActorPlatformAdmin = "platform_admin"
	// ActorMicrosoft: nothing for the customer to do; Microsoft is
	// provisioning what the partner asked for.
	ActorMicrosoft = "microsoft"
)

// ActorLabels name the actors as the pages and the API's next step say them.
var ActorLabels = map[string]string{
	ActorAzureAdmin:        "the Azure administrator (Global Administrator, Privileged Role Administrator or Cloud Application Administrator)",
	ActorGlobalAdmin:       "a Global Administrator of the customer's tenant",
	ActorSubscriptionOwner: "an Owner of the subscription in the customer's tenant",
	ActorMicrosoft:         "Microsoft (nothing for the customer to do)",
	ActorBillingAdmin:      "a billing account owner of the customer's agreement",
	ActorPlatformAdmin:     "an administrator of the organization on the platform",
}

// Step is one of the customer's steps and its state as Microsoft last
// reported it.
type Step struct {
	Name string `json:"name"`
	// SubscriptionID is the subscription of an owner_access step.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	// Status is done, pending or failed.
	Status string `json:"status"`
	// State is Microsoft's word for it, as last observed (a GDAP status,
	// relationshipToPartner, an assignment's status, a subscription's
	// state); absent when nothing was observed yet.
	State      string     `json:"state,omitempty"`
	ObservedAt *time.Time `json:"observedAt,omitempty"`
	// Actor is who must do it (ActorAzureAdmin, …).
	Actor string `json:"actor"`
	// Link is where it is done, when it is a page at Microsoft.
	Link string `json:"link,omitempty"`
}

// Done reports whether the step is done.
func (s Step) Done() bool { return s.Status == StepStatusDone }

// Steps are a migration's customer steps in the order Microsoft needs them:
// sign in, consent to the partner application, accept the reseller
// relationship, approve the admin relationship, its access assignments
// (when the partner configured a security group), and Owner on each
// subscription. Option migrate only; nil for the others.
func (p *Provider) Steps() []Step {
	if p.Option != OptionMigrate {
		return nil
	}
	rel := p.Relationships
	if rel == nil {
		rel = &Relationships{}
	}
	steps := make([]Step, 0, 5+len(p.Subscriptions))

	signIn := Step{Name: StepSignIn, Status: StepStatusToDo, Actor: ActorAzureAdmin}
	if p.TenantID != "" && p.Status != StatusPendingConsent || p.SignedInAt != nil || p.ConsentRecorded() {
		signIn.Status, signIn.State, signIn.ObservedAt = StepStatusDone, "signed_in", p.SignedInAt
	}
	consent := Step{Name: StepAppConsent, Status: StepStatusToDo, Actor: ActorAzureAdmin}
	switch {
	case p.ConsentedAt != nil || p.ConsentRecorded():
		consent.Status, consent.State, consent.ObservedAt = StepStatusDone, "granted", p.ConsentedAt
	case p.Status == StatusDeclined:
		consent.Status, consent.State = StepStatusFailed, "declined"
	}
	steps = append(steps, signIn, consent)

	reseller := Step{Name: StepReseller, Status: StepStatusToDo, Actor: ActorGlobalAdmin, Link: rel.ResellerURL,
		State: rel.Reseller, ObservedAt: rel.ResellerObservedAt}
	if rel.Reseller == "reseller" {
		reseller.Status = StepStatusDone
	}
	steps = append(steps, reseller)

	gdap := Step{Name: StepGDAP, Status: StepStatusToDo, Actor: ActorGlobalAdmin, Link: rel.ApprovalURL,
		State: rel.GDAP.Status, ObservedAt: rel.GDAPObservedAt}
	switch rel.GDAP.Status {
	case relationship.GDAPActive, relationship.GDAPExpiring:
		gdap.Status = StepStatusDone
	case relationship.GDAPApproved, relationship.GDAPActivating:
		gdap.Actor = ActorMicrosoft
	case relationship.GDAPExpired, relationship.GDAPTerminated, relationship.GDAPTerminating, relationship.GDAPTerminationRequested:
		gdap.Status = StepStatusFailed
	}
	if rel.Failure == relationship.ReasonWrongTenant {
		gdap.Status = StepStatusFailed
	}
	steps = append(steps, gdap)

	if rel.AccessGroupID != "" {
		a := Step{Name: StepAssignments, Status: StepStatusToDo, Actor: ActorMicrosoft, State: rel.assignmentState(), ObservedAt: rel.AssignmentsObservedAt}
		switch a.State {
		case relationship.AssignmentActive:
			a.Status = StepStatusDone
		case relationship.AssignmentError:
			a.Status = StepStatusFailed
		}
		steps = append(steps, a)
	}

	var checked *time.Time
	if p.OwnershipWait != nil {
		checked = p.OwnershipWait.LastCheckedAt
	}
	for _, s := range p.Subscriptions {
		switch agreement.Route(s.Route) {
		case agreement.BillingTransfer:
			steps = append(steps, s.transferStep(p.Status))
			continue
		case agreement.AlreadyPartner, agreement.NotMovable:
			continue
		}
		o := Step{Name: StepOwnerAccess, SubscriptionID: s.ID, Status: StepStatusToDo, Actor: ActorSubscriptionOwner}
		if s.State != SubscriptionPending {
			o.State, o.ObservedAt = string(s.State), checked
		}
		if s.State == SubscriptionOwned || s.Route != "" && !ownerState(s.State) {
			o.Status, o.State = StepStatusDone, string(SubscriptionOwned)
			if o.ObservedAt == nil {
				o.ObservedAt = s.ConfirmedAt
			}
		}
		if s.State == SubscriptionFailed && s.ConfirmedAt == nil && len(p.GroupsOf(s.ID)) == 0 {
			o.Status, o.State = StepStatusFailed, string(SubscriptionMissingOwner)
		}
		steps = append(steps, o)
		if s.Route == string(agreement.MoveResources) {
			steps = append(steps, p.approvalStep(s))
		}
	}
	return steps
}

// relationshipSentence says, in one sentence, which relationship steps
// remain and who must do them ("" when none does).
func (p *Provider) relationshipSentence() string {
	var todo []string
	actor := ""
	for _, s := range p.Steps() {
		if s.Done() || s.Name == StepOwnerAccess || s.Name == StepSignIn || s.Name == StepAppConsent {
			continue
		}
		switch s.Name {
		case StepReseller:
			todo = append(todo, "accept the reseller relationship")
			actor = ActorGlobalAdmin
		case StepGDAP:
			if s.Actor == ActorMicrosoft {
				continue
			}
			todo = append(todo, "approve the admin relationship (GDAP)")
			actor = ActorGlobalAdmin
		}
	}
	if len(todo) == 0 {
		return "Microsoft is confirming the partner relationships and their access assignments."
	}
	return "Waiting for " + ActorLabels[actor] + " to " + strings.Join(todo, " and ") + " in the Microsoft 365 admin center; the links are in the administrator's email and on their checklist page."
}
