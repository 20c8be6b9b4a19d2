// Package consolidate brings each subscription's billing under the partner
// by the route its agreement allows, as the migration workflow runs it once
// the customer's relationships are confirmed: Classify reads the tenant's
// subscriptions and records each one's route; Advance takes one
// subscription as far as Microsoft lets it now (a partner transfer request
// followed to its end; Owner, the Azure plan to move into, the move report,
// and after its approval each resource group's move followed to its end)
// and either ends the workflow's wait for it or keeps the wait's task
// token on the provider.
//
// Every state recorded is one Microsoft reported: the rules are package
// provider's (billing.go, moveplan.go, consolidate.go); this package only
// asks Microsoft and records the answers.
package consolidate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/agreement"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/moves"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store reads and writes the provider (store.Store).
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Subscriptions reads the customer's subscriptions in Azure Resource
// Manager with the partner principal's Owner access on each
// (ownership.Azure).
type Subscriptions interface {
	Check(ctx context.Context, tenantID, principalID string, subscriptionIDs []string) (ownership.Result, error)
}

// PartnerCenter lists what the partner bills for the customer and orders
// its Azure plan (partnercenter.Client).
type PartnerCenter interface {
	PartnerSubscriptions(ctx context.Context, customerID string) ([]partnercenter.AzureEntitlement, error)
	OrderAzurePlan(ctx context.Context, customerID, requestKey string) (string, error)
}

// Transfers manages partner transfer requests (billing.Client).
type Transfers interface {
	Ensure(ctx context.Context, customerID, name, recipientEmail string) (billing.Transfer, error)
	Cancel(ctx context.Context, customerID, name string) (billing.Transfer, error)
}

// Mover moves resources between resource groups (moves.Azure).
type Mover interface {
	Inventory(ctx context.Context, tenantID, subscriptionID string) ([]moves.Group, error)
	EnsureGroup(ctx context.Context, tenantID, sourceSubscription, group, targetSubscription string) (string, error)
	Validate(ctx context.Context, tenantID, sourceSubscription, group string, resourceIDs []string, targetGroupID string) (moves.Report, error)
	Move(ctx context.Context, tenantID, sourceSubscription, group string, resourceIDs []string, targetGroupID string) (moves.Progress, error)
	Follow(ctx context.Context, tenantID, sourceSubscription, token string) (moves.Progress, error)
	Locate(ctx context.Context, tenantID, sourceSubscription, group string, resourceIDs []string, targetGroupID string) ([]moves.Placement, error)
}

// Tasks ends the workflow's waits (stepfunctions.Tasks).
type Tasks interface {
	Succeed(ctx context.Context, token string, output any) error
	Fail(ctx context.Context, token, name, cause string) error
}

// Consolidator runs the routes.
type Consolidator struct {
	Store         Store
	Subscriptions Subscriptions
	PartnerCenter PartnerCenter
	Transfers     Transfers
	Mover         Mover
	Tasks         Tasks
	// AppName is the partner application's display name, recorded on the
	// provider so that its principal is named with it.
	AppName string
	// Deadline is how long the customer's steps after the relationships may
	// take; Warning how long before it the representatives are reminded
	// about missing Owner access.
	Deadline, Warning time.Duration
	// Portal is the Azure portal's base URL, where transfer requests are
	// accepted (AZURE_PORTAL_URL).
	Portal string
	Now    func() time.Time
}

// Classify checks the tenant's subscriptions (the named ones, or every one
// visible), records each one's route and Owner state, claims the
// representatives' notice when one is due, and returns the subscriptions
// whose route has not ended: those the workflow follows.
func (c *Consolidator) Classify(ctx context.Context, p *provider.Provider) ([]string, error) {
	if err := p.CheckOpen(); err != nil {
		return nil, err
	}
	if p.TenantID == "" {
		return nil, apperr.New(apperr.InvalidRequest, "no tenant recorded for the provider")
	}
	now := c.Now()
	requested := []string{}
	if !p.SubscriptionsDiscovered {
		requested = p.SubscriptionIDs()
	}
	observed, principal, err := c.observe(ctx, p, requested)
	if err != nil {
		return nil, err
	}
	p, err = c.update(ctx, p, func(q *provider.Provider) error {
		q.RecordPartnerApp(c.AppName)
		if err := q.RecordSubscriptionCheck(observed, principal, len(requested) == 0, now, c.Deadline); err != nil {
			return err
		}
		claimOwnerNotice(q, now, c.Warning)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids := p.FollowedSubscriptions()
	logging.From(ctx).Info("subscriptions classified", "subscriptions", len(p.Subscriptions), "followed", len(ids))
	return ids, nil
}

// observe reads the subscriptions in Resource Manager and, when one is a
// CSP subscription, whether this partner bills it.
func (c *Consolidator) observe(ctx context.Context, p *provider.Provider, ids []string) ([]provider.ObservedSubscription, string, error) {
	res, err := c.Subscriptions.Check(ctx, p.TenantID, p.OwnerPrincipal, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]provider.ObservedSubscription, 0, len(res.Subscriptions))
	csp := false
	for _, s := range res.Subscriptions {
		out = append(out, provider.ObservedSubscription{ID: s.ID, State: s.State, DisplayName: s.DisplayName, QuotaID: s.QuotaID})
		if q, ok := agreement.ParseQuotaID(s.QuotaID); ok && strings.HasPrefix(strings.ToLower(q.Family), "csp") {
			csp = true
		}
	}
	if csp {
		billed, err := c.PartnerCenter.PartnerSubscriptions(ctx, p.TenantID)
		if err != nil {
			return nil, "", err
		}
		for i := range out {
			for _, e := range billed {
				if strings.EqualFold(e.ID, out[i].ID) {
					out[i].BilledByPartner = true
				}
			}
		}
	}
	return out, res.PrincipalID, nil
}

// claimOwnerNotice claims the representatives' notice about missing Owner
// access when one is due (in the caller's conditional write).
func claimOwnerNotice(q *provider.Provider, now time.Time, warning time.Duration) {
	for _, s := range q.Subscriptions {
		if s.State == provider.SubscriptionMissingOwner || s.State == provider.SubscriptionNotFound {
			q.ClaimNotice(q.DueNotice(now, warning), now)
			return
		}
	}
}

// Result is how one subscription stands after Advance, as the workflow's
// wait receives it when it ends.
type Result struct {
	SubscriptionID string `json:"subscriptionId"`
	State          string `json:"state"`
	// Final: the subscription's route ended (consolidated, not movable or
	// failed); the workflow stops following it.
	Final bool `json:"final"`
}

// Advance takes one subscription as far as Microsoft lets it now. When its
// route ended it ends the workflow's wait (token) with the Result; else it
// keeps token on the provider, in the write that records what Microsoft
// reported, and the wait times out into the next Advance (or the move
// plan's approval ends it sooner). Faults of Microsoft or the store are
// returned: the workflow retries.
func (c *Consolidator) Advance(ctx context.Context, p *provider.Provider, subID, token string) (Result, error) {
	if err := p.CheckOpen(); err != nil {
		return Result{}, err
	}
	s, ok := p.Subscription(subID)
	if !ok {
		return Result{}, apperr.New(apperr.InvalidRequest, "no subscription "+subID+" on the provider")
	}
	log := logging.From(ctx).With("subscription_id", s.ID)
	ctx = logging.With(ctx, log)
	now := c.Now()
	var err error
	if !s.State.Final() {
		if p.PastDeadline(now) {
			p, err = c.deadline(ctx, p, s, now)
		} else {
			p, err = c.step(ctx, p, s, now)
		}
		if err != nil {
			return Result{}, err
		}
	}
	s, _ = p.Subscription(subID)
	res := Result{SubscriptionID: s.ID, State: string(s.State), Final: s.State.Final()}
	if !res.Final {
		if token != "" {
			if _, err := c.update(ctx, p, func(q *provider.Provider) error {
				return q.KeepSubscriptionTask(subID, token)
			}); err != nil {
				return Result{}, err
			}
		}
		log.Info("subscription advanced", "state", res.State)
		return res, nil
	}
	log.Info("subscription route ended", "state", res.State)
	if token != "" {
		if err := c.Tasks.Succeed(ctx, token, res); err != nil && !errors.Is(err, workflow.ErrTaskGone) {
			return Result{}, &apperr.Error{Code: apperr.Unavailable, Message: "end the subscription's wait", Cause: err}
		}
	}
	return res, nil
}

// deadline ends the route of a subscription still waiting for a person when
// the customer's wait passed its deadline, cancelling its open transfer
// request first.
func (c *Consolidator) deadline(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	if s.State == provider.SubscriptionTransferPending && s.Transfer != nil {
		if _, err := c.Transfers.Cancel(ctx, p.TenantID, s.Transfer.Name); err != nil && !errors.Is(err, billing.ErrNotFound) {
			return nil, err
		}
	}
	q, err := c.update(ctx, p, func(q *provider.Provider) error {
		q.FailAtDeadline(s.ID, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t, _ := q.Subscription(s.ID); !t.State.Final() {
		// Microsoft's own work (a validation, a move) is followed to its end.
		return c.step(ctx, q, t, now)
	}
	return q, nil
}

// step runs the subscription's route once.
func (c *Consolidator) step(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	switch agreement.Route(s.Route) {
	case agreement.BillingTransfer:
		return c.transfer(ctx, p, s, now)
	case agreement.MoveResources:
		return c.move(ctx, p, s, now)
	case "":
		// Not visible when the subscriptions were classified: look again.
		observed, principal, err := c.observe(ctx, p, []string{s.ID})
		if err != nil {
			return nil, err
		}
		q, err := c.update(ctx, p, func(q *provider.Provider) error {
			return q.RecordSubscriptionCheck(observed, principal, false, now, c.Deadline)
		})
		if err != nil {
			return nil, err
		}
		if t, _ := q.Subscription(s.ID); t.Route != "" && !t.State.Final() {
			return c.step(ctx, q, t, now)
		}
		return q, nil
	}
	return p, nil
}

// New is the Consolidator a function builds at start-up: the customer's
// deadline OWNERSHIP_DEADLINE (default 30 days: one deadline for the
// customer's steps after consent), the representatives' reminder
// OWNERSHIP_WARNING before it (default 36 hours), the Azure portal
// AZURE_PORTAL_URL (default Azure's public cloud), the partner
// application's name PARTNER_APP_NAME, the clock real time in UTC.
func New(env *config.Env, store Store, subs Subscriptions, pc PartnerCenter, transfers Transfers, mover Mover, tasks Tasks) *Consolidator {
	return &Consolidator{
		Store: store, Subscriptions: subs, PartnerCenter: pc, Transfers: transfers, Mover: mover, Tasks: tasks,
		AppName:  provider.PartnerAppNameFromEnv(env),
		Deadline: env.Duration("OWNERSHIP_DEADLINE", 30*24*time.Hour),
		Warning:  env.Duration("OWNERSHIP_WARNING", 36*time.Hour),
		Portal:   env.Optional("AZURE_PORTAL_URL", "https://portal.azure.com"),
		Now:      func() time.Time { return time.Now().UTC() },
	}
}

// FromEnv is New with the partner's Microsoft clients made from the
// configuration (ownership.PartnerFromEnv: its credentials read with read
// on first use): the Owner checks, Partner Center, Azure billing and the
// moves, as the workflow's tasks need them.
func FromEnv(env *config.Env, store Store, read func(ctx context.Context, arn string) ([]byte, error), tasks Tasks) *Consolidator {
	partner := ownership.PartnerFromEnv(env, read)
	return New(env, store, partner.Azure(), partnercenter.FromEnv(env, partner), billing.FromEnv(env, partner), moves.FromPartner(partner), tasks)
}

// update writes the provider as mutate changes it, only while it is open:
// a migration that ended (cancelled meanwhile, say) records nothing more
// from a run that was under way (invalid_state).
func (c *Consolidator) update(ctx context.Context, p *provider.Provider, mutate func(*provider.Provider) error) (*provider.Provider, error) {
	return c.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if err := q.CheckOpen(); err != nil {
			return err
		}
		return mutate(q)
	})
}
