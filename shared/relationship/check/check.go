// Package check is the one check of a migration's partner relationships,
// run by the workflow's wait (functions/check-relationships) and by Partner
// Center's webhook (functions/partner-center-webhook): it reads Partner
// Center (is the customer's tenant among the partner's customers, as a
// reseller?) and Microsoft Graph (the GDAP relationship's status and
// approving tenant, its access assignments), creates the configured access
// assignment when the rules ask for it, records the observation on the
// provider, and ends the workflow's wait when the rules say it is over.
//
// The rules are package relationship's; this package only gathers what
// Microsoft reports and acts on the decision.
package check

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store reads and writes the provider (store.Store).
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// PartnerCenter reads a tenant among the partner's customers
// (partnercenter.Client).
type PartnerCenter interface {
	Customer(ctx context.Context, tenantID string) (partnercenter.CustomerRelationship, error)
}

// Graph reads the GDAP relationship and its access assignments and makes
// the configured assignment (gdap.Client).
type Graph interface {
	Get(ctx context.Context, id string) (gdap.Relationship, error)
	AccessAssignments(ctx context.Context, relationshipID string) ([]gdap.AccessAssignment, error)
	EnsureAccessAssignment(ctx context.Context, relationshipID, groupID string, roles []string) (gdap.AccessAssignment, error)
}

// Tasks resumes the workflow's wait (stepfunctions.Tasks).
type Tasks interface {
	Succeed(ctx context.Context, token string, output any) error
	Fail(ctx context.Context, token, name, cause string) error
}

// Checker runs the check.
type Checker struct {
	Store         Store
	PartnerCenter PartnerCenter
	Graph         Graph
	Tasks         Tasks
	// Want is the access assignment the partner configured (none when no
	// security group is).
	Want relationship.Want
	// Deadline is how long the wait for the customer's steps may last
	// after consent.
	Deadline time.Duration
	// StuckAfter is how long the customer may stay on one step before the
	// partner's representatives are told (provider.TrackStep); 0 tells no
	// one.
	StuckAfter time.Duration
	Now        func() time.Time
}

// Result is what a check found, as the workflow's wait receives it.
type Result struct {
	Outcome   relationship.Outcome `json:"outcome"`
	Missing   []string             `json:"missing,omitempty"`
	Reason    string               `json:"reason,omitempty"`
	CheckedAt time.Time            `json:"checkedAt"`
	// Resumed reports whether this check ended the workflow's wait.
	Resumed bool `json:"-"`
}

// Check checks p's relationships and records what it saw. token is the
// wait's own task token (the workflow's check), or "" (a webhook: the
// token the provider keeps is used). While something is missing the token
// is kept on the provider, in the same conditional write as the
// observation, so that a webhook confirming meanwhile either sees it or
// is seen by this check. When every step is confirmed (by this check or by
// one recorded meanwhile) the wait succeeds; when a relationship failed or
// the deadline passed, it fails with the named error. A task token that no
// longer waits is fine. Faults of Microsoft or the store are returned
// (transient: the workflow retries, the webhook's sender sends again).
func (c *Checker) Check(ctx context.Context, p *provider.Provider, token string) (Result, error) {
	log := logging.From(ctx)
	if err := p.CheckOpen(); err != nil {
		return Result{}, err
	}
	id := p.GDAPRelationshipID()
	if id == "" {
		return Result{}, apperr.New(apperr.InvalidState, "no admin relationship was requested for the provider")
	}
	now := c.Now()
	obs, err := c.observe(ctx, p, id, now)
	if err != nil {
		return Result{}, err
	}
	decision := relationship.Evaluate(obs, p.TenantID, c.Want)
	if decision.CreateAssignment && p.TenantID != "" {
		a, err := c.Graph.EnsureAccessAssignment(ctx, id, c.Want.GroupID, c.Want.Roles)
		if err != nil {
			return Result{}, err
		}
		log.Info("access assignment made", "assignment_id", a.ID, "status", a.Status)
		obs.Assignments = append(obs.Assignments, assignment(a))
		decision = relationship.Evaluate(obs, p.TenantID, c.Want)
	}
	keep := token != "" && decision.Outcome == relationship.Pending
	p, err = c.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if _, err := q.RecordRelationshipCheck(provider.ObservedRelationships{Observation: obs, Decision: decision}, now, c.Deadline); err != nil {
			return err
		}
		q.TrackStep(now, c.StuckAfter)
		if keep && !q.RelationshipsConfirmed() {
			return q.KeepRelationshipTask(token)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	res := Result{Outcome: decision.Outcome, Reason: decision.Reason, CheckedAt: now}
	for _, m := range decision.Missing {
		res.Missing = append(res.Missing, string(m))
	}
	log.Info("relationships checked", "outcome", string(decision.Outcome), "missing", strings.Join(res.Missing, ","), "gdap_status", obs.GDAP.Status, "reseller", obs.Reseller)
	if !p.ConsentRecorded() {
		// Before consent (a webhook ahead of the customer's sign-in): the
		// workflow is not waiting for the relationships yet; its first
		// check reads what was recorded.
		return res, nil
	}
	if token == "" {
		token = p.RelationshipTask()
	}
	var end error
	switch {
	case p.RelationshipsConfirmed():
		res.Outcome, res.Missing, res.Reason = relationship.Confirmed, nil, ""
		if token != "" {
			err := c.Tasks.Succeed(ctx, token, res)
			if err := resumed(err); err != nil {
				return res, err
			}
			res.Resumed = err == nil
		}
		return res, nil
	case decision.Outcome == relationship.Failed:
		end = failure(decision.Reason)
	default:
		end = p.CheckRelationshipDeadline(now)
	}
	if end == nil || token == "" {
		return res, nil
	}
	if decision.Outcome != relationship.Failed {
		// The deadline: recorded as the failure's code.
		res.Outcome, res.Reason = relationship.Failed, string(apperr.RelationshipDeadlineExceeded)
		_, _ = c.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
			q.RecordRelationshipFailure(string(apperr.RelationshipDeadlineExceeded))
			return nil
		})
	}
	name, cause := workflow.Failure(end)
	err = c.Tasks.Fail(ctx, token, name, cause)
	if err := resumed(err); err != nil {
		return res, err
	}
	res.Resumed = err == nil
	log.Info("relationship wait ended", "error_name", name)
	return res, nil
}

// resumed is nil for a resume that worked or whose token no longer waits.
func resumed(err error) error {
	if err == nil || errors.Is(err, workflow.ErrTaskGone) {
		return nil
	}
	return &apperr.Error{Code: apperr.Unavailable, Message: "resume the relationship wait", Cause: err}
}

// failure is the neutral error of a failed relationship.
func failure(reason string) error {
	switch reason {
	case relationship.ReasonExpired:
		return provider.EndError(apperr.RelationshipExpired)
	case relationship.ReasonTerminated:
		return provider.EndError(apperr.RelationshipTerminated)
	}
	return provider.EndError(apperr.RelationshipRejected)
}

// observe reads what Microsoft reports: the GDAP relationship, the tenant
// among the partner's customers (once the sign-in proved the tenant) and,
// once the relationship is active, its access assignments.
func (c *Checker) observe(ctx context.Context, p *provider.Provider, id string, now time.Time) (relationship.Observation, error) {
	obs := relationship.Observation{At: now}
	g, err := c.Graph.Get(ctx, id)
	if err != nil {
		return obs, err
	}
	obs.GDAP = relationship.GDAP{ID: g.ID, Status: g.Status, CustomerTenantID: g.CustomerTenantID, Roles: g.Roles, AutoExtend: g.AutoExtend, EndAt: g.EndAt}
	if p.TenantID != "" {
		cust, err := c.PartnerCenter.Customer(ctx, p.TenantID)
		if err != nil {
			return obs, err
		}
		obs.Reseller = "none"
		if cust.Found {
			obs.Reseller = strings.ToLower(cust.RelationshipToPartner)
		}
	}
	if g.Status == gdap.StatusActive || g.Status == gdap.StatusExpiring {
		as, err := c.Graph.AccessAssignments(ctx, id)
		if err != nil {
			return obs, err
		}
		obs.Assignments = make([]relationship.Assignment, 0, len(as))
		for _, a := range as {
			obs.Assignments = append(obs.Assignments, assignment(a))
		}
	}
	return obs, nil
}

func assignment(a gdap.AccessAssignment) relationship.Assignment {
	return relationship.Assignment{ID: a.ID, GroupID: strings.ToLower(a.GroupID), Roles: a.Roles, Status: a.Status}
}

// New is the Checker a function builds at start-up: the access assignment
// wanted is the Graph client's configured one, the deadline the
// OWNERSHIP_DEADLINE variable (default 30 days: one deadline for the
// customer's steps after consent), the time on one step before the
// representatives are told STUCK_AFTER (default 3 days), the clock real
// time in UTC.
func New(env *config.Env, store Store, pc PartnerCenter, graph *gdap.Client, tasks Tasks) *Checker {
	return &Checker{
		Store: store, PartnerCenter: pc, Graph: graph, Tasks: tasks,
		Want:       relationship.Want{GroupID: graph.Config.SecurityGroupID, Roles: graph.Config.AssignmentRoles()},
		Deadline:   env.Duration("OWNERSHIP_DEADLINE", 30*24*time.Hour),
		StuckAfter: env.Duration("STUCK_AFTER", 72*time.Hour),
		Now:        func() time.Time { return time.Now().UTC() },
	}
}
