package consolidate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// transfer follows the subscription's partner transfer request, creating it
// the first time (by a name derived from the provider and subscription, so
// a retried step finds the request it made instead of making another), and
// records its status as Azure billing reports it. A request Azure billing
// refuses for good fails the subscription with Microsoft's reason.
func (c *Consolidator) transfer(ctx context.Context, p *provider.Provider, s provider.Subscription, now time.Time) (*provider.Provider, error) {
	name := billing.TransferName(p.ID, s.ID, 0)
	if s.Transfer != nil && s.Transfer.Name != "" {
		name = s.Transfer.Name
	}
	t, err := c.Transfers.Ensure(ctx, p.TenantID, name, p.BillingAdmin())
	if err != nil {
		if !refused(err) {
			return nil, err
		}
		logging.From(ctx).Warn("transfer request refused", "error", err.Error())
		return c.update(ctx, p, func(q *provider.Provider) error {
			if q.FailSubscription(s.ID, reason(err), now) {
				q.EnqueueBillingFailure(s.ID, now)
			}
			return nil
		})
	}
	rec := provider.Transfer{Name: t.Name, Status: string(t.Status), Link: c.TransferLink(t.Name)}
	if !t.ExpiresAt.IsZero() {
		at := t.ExpiresAt
		rec.ExpiresAt = &at
	}
	for _, prod := range t.Products {
		if prod.Status == billing.ProductFailed {
			what := prod.Name
			if what == "" {
				what = prod.ID
			}
			rec.NotMoved = append(rec.NotMoved, strings.TrimSpace(what+": "+prod.ErrorMessage+" ("+prod.ErrorCode+")"))
		}
	}
	return c.update(ctx, p, func(q *provider.Provider) error {
		changed, err := q.RecordTransfer(s.ID, rec, now)
		if err != nil {
			return err
		}
		if changed {
			if after, _ := q.Subscription(s.ID); after.State == provider.SubscriptionFailed {
				q.EnqueueBillingFailure(s.ID, now)
			}
		}
		return nil
	})
}

// refused reports whether Microsoft refused a call for good (not a fault
// worth retrying).
func refused(err error) bool {
	return apperr.Is(err, apperr.Rejected) && !errors.Is(err, billing.ErrAccessDenied)
}

// TransferLink is the Azure portal's page of the transfer request (where
// the billing administrator accepts it), at the configured portal.
func (c *Consolidator) TransferLink(name string) string {
	if c.Portal == "" {
		return ""
	}
	return billing.RequestURL(c.Portal, name)
}

// reason is the safe words of a refusal: its message and Microsoft's code
// and message.
func reason(err error) string {
	e := apperr.As(err)
	if e == nil {
		return "Microsoft refused the request."
	}
	out := e.Message
	for _, d := range e.Details {
		out += " " + strings.TrimSpace(d.Message+" ("+d.Code+")")
	}
	return out
}
