package consolidate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/moves"
	"github.com/partnercloud/azure/shared/provider"
)

// move runs the move_resources route once: Owner on the source, the Azure
// plan subscription to move into, the move report (validated by Resource
// Manager, group by group), and once an administrator approved the
// report, each group's move followed to its end.
func (c *Consolidator) move(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	var err error
	switch s.State {
	case provider.SubscriptionPending, provider.SubscriptionMissingOwner, provider.SubscriptionNotFound:
		if p, err = c.owner(ctx, p, s, now); err != nil {
			return nil, err
		}
		if s, _ = p.Subscription(s.ID); s.State != provider.SubscriptionOwned {
			return p, nil
		}
		return c.validate(ctx, p, s, now)
	case provider.SubscriptionOwned, provider.SubscriptionValidating:
		q, err := c.validate(ctx, p, s, now)
		if apperr.Is(err, apperr.OwnershipPending) {
			// Resource Manager refused for want of Owner (revoked since the
			// check): the subscription waits for Owner again.
			logging.From(ctx).Warn("owner lost before the move report", "error", err.Error())
			return c.update(ctx, p, func(q *provider.Provider) error {
				q.LoseOwner(s.ID, now)
				return nil
			})
		}
		return q, err
	case provider.SubscriptionMoving:
		q, err := c.moveGroups(ctx, p, s, now)
		if apperr.Is(err, apperr.OwnershipPending) {
			// No write access for now: the move waits (the next run tries
			// again); the timeline says why.
			logging.From(ctx).Warn("owner lost during the moves; waiting", "error", err.Error())
			return c.update(ctx, p, func(q *provider.Provider) error {
				q.NoteMoveBlocked(s.ID, now)
				return nil
			})
		}
		return q, err
	}
	// awaiting_approval: the approval resumes the wait.
	return p, nil
}

// owner checks Owner on the source subscription for the partner principal.
func (c *Consolidator) owner(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	res, err := c.Subscriptions.Check(ctx, p.TenantID, p.OwnerPrincipal, []string{s.ID})
	if err != nil {
		return nil, err
	}
	state := provider.SubscriptionNotFound
	for _, got := range res.Subscriptions {
		if strings.EqualFold(got.ID, s.ID) {
			state = got.State
		}
	}
	return c.update(ctx, p, func(q *provider.Provider) error {
		q.RecordOwner(s.ID, state, now)
		claimOwnerNotice(q, now, c.Warning)
		return nil
	})
}

// validate makes the subscription's move report: per resource group (those
// another resource manages move with it), the group of the same name in the
// target and Resource Manager's validation of moving its resources there.
// Nothing moves: the report awaits an administrator's approval.
func (c *Consolidator) validate(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	p, target, err := c.target(ctx, p, now)
	if err != nil || target == "" {
		return p, err
	}
	if p, err = c.update(ctx, p, func(q *provider.Provider) error {
		q.StartValidation(s.ID, now)
		return nil
	}); err != nil {
		return nil, err
	}
	groups, err := c.Mover.Inventory(ctx, p.TenantID, s.ID)
	if err != nil {
		return nil, err
	}
	plan := []provider.GroupMove{}
	for _, g := range groups {
		if g.ManagedBy != "" || len(g.Resources) == 0 {
			continue
		}
		ids := make([]string, 0, len(g.Resources))
		for _, r := range g.Resources {
			ids = append(ids, r.ID)
		}
		targetGroup, err := c.Mover.EnsureGroup(ctx, p.TenantID, s.ID, g.Name, target)
		if err != nil {
			return nil, err
		}
		rep, err := c.Mover.Validate(ctx, p.TenantID, s.ID, g.Name, ids, targetGroup)
		if err != nil {
			return nil, err
		}
		gm := provider.GroupMove{Name: g.Name, Moves: rep.Moves, Blocked: make([]provider.BlockedResource, 0, len(rep.Blocked))}
		for _, b := range rep.Blocked {
			gm.Blocked = append(gm.Blocked, provider.BlockedResource{ID: b.ID, Code: b.Code, Message: b.Message})
		}
		plan = append(plan, gm)
	}
	logging.From(ctx).Info("move report made", "groups", len(plan))
	return c.update(ctx, p, func(q *provider.Provider) error {
		_, err := q.RecordMoveReport(s.ID, target, plan, now)
		return err
	})
}

// target is the Azure plan subscription resources move into: the one
// recorded; else one Partner Center lists under the customer's Azure plan
// with this partner (not one of the subscriptions being moved) on which the
// partner application holds Owner; else the
// Azure plan is ordered, once per provider (the order's request key derives
// from the provider, so a repeated order is the same order), and "" until
// Partner Center lists its subscription.
func (c *Consolidator) target(ctx context.Context, p *provider.Provider, now time.Time) (*provider.Provider, string, error) {
	if t := p.TargetSubscription(); t != "" {
		return p, t, nil
	}
	billed, err := c.PartnerCenter.PartnerSubscriptions(ctx, p.TenantID)
	if err != nil {
		return nil, "", err
	}
	var candidates []string
	for _, e := range billed {
		if _, ours := p.Subscription(e.ID); !ours {
			candidates = append(candidates, e.ID)
		}
	}
	if len(candidates) > 0 {
		// Only one the partner application may write into (Owner, as on
		// the Azure plan subscriptions the partner creates): a transferred
		// subscription the partner bills gives it no role.
		res, err := c.Subscriptions.Check(ctx, p.TenantID, "", candidates)
		if err != nil {
			return nil, "", err
		}
		for _, s := range res.Subscriptions {
			if s.State != provider.SubscriptionOwned {
				continue
			}
			q, err := c.update(ctx, p, func(q *provider.Provider) error {
				q.RecordTarget(s.ID, now)
				return nil
			})
			if err != nil {
				return nil, "", err
			}
			return q, q.TargetSubscription(), nil
		}
	}
	if p.Target != nil && p.Target.OrderID != "" {
		return p, "", nil
	}
	order, err := c.PartnerCenter.OrderAzurePlan(ctx, p.TenantID, "azure-plan-"+p.ID)
	if err != nil {
		return nil, "", err
	}
	logging.From(ctx).Info("azure plan ordered", "order_id", order)
	q, err := c.update(ctx, p, func(q *provider.Provider) error {
		q.RecordTargetOrder(order, now)
		return nil
	})
	return q, "", err
}

// moveGroups starts or follows the move of each approved group. A move is
// recorded as intended before it is asked of Azure, and its operation once
// Azure accepted it; a retry that finds the intent without the operation (a
// crash in between) asks again through moves.Move, which first locates the
// resources and moves only those still in the source, and Resource Manager
// refuses while the first move runs (its groups are locked): that move is
// then followed by where the resources are, never moved twice.
func (c *Consolidator) moveGroups(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	target := p.TargetSubscription()
	if target == "" {
		return nil, apperr.New(apperr.InvalidState, "the move plan has no target subscription")
	}
	log := logging.From(ctx)
	for _, g := range p.GroupsOf(s.ID) {
		var (
			prog moves.Progress
			err  error
		)
		targetGroup := "/subscriptions/" + target + "/resourceGroups/" + g.Name
		switch {
		case g.State == provider.GroupPlanned:
			if !p.Open() {
				// Cancelled (or ended) while the groups before it moved:
				// the groups not started stay where they are.
				log.Info("migration ended; the move of this group is not started", "group", g.Name, "status", string(p.Status))
				continue
			}
			if p, err = c.update(ctx, p, func(q *provider.Provider) error {
				return q.RecordMoveIntent(s.ID, g.Name, now)
			}); err != nil {
				return nil, err
			}
			prog, err = c.start(ctx, p.TenantID, s.ID, g, targetGroup)
		case g.State == provider.GroupMoving && g.Operation == "":
			prog, err = c.start(ctx, p.TenantID, s.ID, g, targetGroup)
		case g.State == provider.GroupMoving:
			prog, err = c.Mover.Follow(ctx, p.TenantID, s.ID, g.Operation)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if prog.Done && prog.Failure != nil && provider.MoveWaits(prog.Failure.Code) {
			log.Info("resource group locked by a running move; following it by the resources' place", "group", g.Name)
			continue
		}
		// A move that failed is not all or nothing: where the resources
		// are is read from Resource Manager, never assumed.
		var places provider.MovePlaces
		if prog.Done && prog.Failure != nil {
			if places, err = c.places(ctx, p.TenantID, s.ID, g, targetGroup); err != nil {
				return nil, err
			}
			log.Warn("resource group move failed", "group", g.Name, "code", prog.Failure.Code,
				"in_target", len(places.InTarget), "in_source", len(places.InSource), "missing", len(places.Missing))
		}
		// Microsoft's answer to a move asked is recorded even when the
		// migration ended meanwhile: the report says what moved.
		if p, err = c.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
			if !prog.Done {
				return q.RecordMoveStarted(s.ID, g.Name, prog.Token)
			}
			before, _ := q.Subscription(s.ID)
			var err error
			if f := prog.Failure; f != nil {
				err = q.RecordMoveFailure(s.ID, g.Name, provider.BlockedResource{Code: f.Code, Message: f.Message}, places, now)
			} else {
				err = q.RecordMoveResult(s.ID, g.Name, nil, now)
			}
			if after, _ := q.Subscription(s.ID); err == nil && q.Open() && before.State != provider.SubscriptionFailed && after.State == provider.SubscriptionFailed {
				q.EnqueueBillingFailure(s.ID, now)
			}
			return err
		}); err != nil {
			return nil, err
		}
		log.Info("resource group move", "group", g.Name, "done", prog.Done)
	}
	return p, nil
}

// places reads where a group's planned resources are after its move ended
// failed: Resource Manager's lists of the source and the target group.
func (c *Consolidator) places(ctx context.Context, tenantID, subID string, g provider.GroupMove, targetGroup string) (provider.MovePlaces, error) {
	found, err := c.Mover.Locate(ctx, tenantID, subID, g.Name, g.Moves, targetGroup)
	if err != nil {
		return provider.MovePlaces{}, err
	}
	var out provider.MovePlaces
	for _, r := range found {
		switch r.Where {
		case moves.InTarget:
			out.InTarget = append(out.InTarget, r.ID)
		case moves.InSource:
			out.InSource = append(out.InSource, r.ID)
		default:
			out.Missing = append(out.Missing, r.ID)
		}
	}
	return out, nil
}

// start asks Azure to move the group's resources still in the source
// (moves.Move locates them first). Resource Manager refuses to move
// resources no longer in the source group (404 ResourceNotFound): a move of
// this group it accepted earlier (whose reply was lost, or started by a
// concurrent run of this step) may end between the look and the ask. Asked
// again, Move finds the resources in the target and reports the move done;
// a refusal that persists is returned.
func (c *Consolidator) start(ctx context.Context, tenantID, subID string, g provider.GroupMove, targetGroup string) (moves.Progress, error) {
	prog, err := c.Mover.Move(ctx, tenantID, subID, g.Name, g.Moves, targetGroup)
	if errors.Is(err, moves.ErrNotFound) {
		logging.From(ctx).Info("resources not in the source group when their move was asked; locating them again", "group", g.Name)
		prog, err = c.Mover.Move(ctx, tenantID, subID, g.Name, g.Moves, targetGroup)
	}
	return prog, err
}
