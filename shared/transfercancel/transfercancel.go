// Package transfercancel cancels, at Azure billing, the open partner
// transfer requests of a cancelled migration: the cancel's write queues one
// cancel_transfer outbox entry per request (provider.NoticeCancelTransfer),
// and the table's stream wakes the function that calls Deliver. It is the
// only outbox work that calls Azure, kept apart from the outbox relay
// (shared/notice) so that the relay's function links no Azure SDK.
package transfercancel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Store reads a provider and writes it back conditionally (store.Store).
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Transfers reads and cancels partner transfer requests (billing.Client).
type Transfers interface {
	Get(ctx context.Context, customerID, name string) (billing.Transfer, error)
	Cancel(ctx context.Context, customerID, name string) (billing.Transfer, error)
}

// Canceller does a provider's cancel_transfer outbox entries.
type Canceller struct {
	Store     Store
	Transfers Transfers
	Now       func() time.Time
}

// New is the Canceller a function builds at start-up, with the
// clock real time in UTC.
func New(store Store, transfers Transfers) *Canceller {
	return &Canceller{Store: store, Transfers: transfers, Now: func() time.Time { return time.Now().UTC() }}
}

// Deliver cancels each transfer request the provider's outbox asks to
// cancel. A provider that no longer exists has nothing to cancel; a fault
// leaves its entry pending and is returned (the stream delivers the record
// again), after the other entries were tried.
func (c *Canceller) Deliver(ctx context.Context, accountID, providerID string) error {
	p, err := c.Store.GetProvider(ctx, accountID, providerID)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var failed error
	for _, e := range p.Outbox {
		if e.Kind != provider.NoticeCancelTransfer {
			continue
		}
		if err := c.cancel(ctx, p, e); err != nil {
			failed = errors.Join(failed, err)
		}
	}
	return failed
}

// cancel cancels the entry's subscription's open transfer request at Azure
// billing, and records what Azure billing answers (a request the customer
// accepted meanwhile cannot be cancelled: its status is recorded as it
// is). A fault leaves the entry pending.
func (c *Canceller) cancel(ctx context.Context, p *provider.Provider, e provider.OutboxEntry) error {
	log := logging.From(ctx).With("notice", e.ID, "subscription_id", e.Subscription)
	s, ok := p.Subscription(e.Subscription)
	if !ok || s.Transfer == nil {
		return c.remove(ctx, p, e)
	}
	t, err := c.Transfers.Cancel(ctx, p.TenantID, s.Transfer.Name)
	if apperr.Is(err, apperr.Rejected) {
		t, err = c.Transfers.Get(ctx, p.TenantID, s.Transfer.Name)
	}
	switch {
	case errors.Is(err, billing.ErrNotFound):
		log.Info("transfer request not found at Azure billing; nothing to cancel")
		return c.remove(ctx, p, e)
	case err != nil:
		log.Warn("transfer request not cancelled yet; stays pending", "error", err.Error())
		return err
	}
	log.Info("transfer request cancelled", "status", string(t.Status))
	_, err = c.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.Dequeue(e.ID)
		rec := *s.Transfer
		rec.Status = string(t.Status)
		q.RecordCancelledTransfer(e.Subscription, rec, c.Now())
		return nil
	})
	return err
}

// remove takes the entry out of the outbox: there was nothing to cancel.
func (c *Canceller) remove(ctx context.Context, p *provider.Provider, e provider.OutboxEntry) error {
	_, err := c.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.Dequeue(e.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove outbox entry %s: %w", e.ID, err)
	}
	return nil
}
