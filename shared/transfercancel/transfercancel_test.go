package transfercancel

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/billing"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// fakeTransfers answers Cancel with cancelErr (or the request Cancelled),
// and Get with the request as the customer left it (status).
type fakeTransfers struct {
	cancelErr error
	status    billing.Status
	cancels   []string
}

func (f *fakeTransfers) Cancel(_ context.Context, _, name string) (billing.Transfer, error) {
	f.cancels = append(f.cancels, name)
	if f.cancelErr != nil {
		return billing.Transfer{}, f.cancelErr
	}
	return billing.Transfer{Name: name, Status: billing.Canceled}, nil
}

func (f *fakeTransfers) Get(_ context.Context, _, name string) (billing.Transfer, error) {
	return billing.Transfer{Name: name, Status: f.status}, nil
}

// TestDeliver: each pending cancel_transfer entry of a cancelled migration
// is cancelled at Azure billing and recorded as Azure billing answered;
// other entries are the relay's and stay; a fault keeps the entry pending.
func TestDeliver(t *testing.T) {
	for _, tt := range []struct {
		name       string
		transfers  fakeTransfers
		wantErr    bool
		wantState  string // the transfer's recorded status, "" when unchanged
		wantCancel bool   // the entry removed and CancelSince cleared
	}{
		{"cancelled", fakeTransfers{}, false, string(billing.Canceled), true},
		{"accepted meanwhile", fakeTransfers{cancelErr: fmt.Errorf("%w: already completed", billing.ErrRejected), status: billing.Completed}, false, string(billing.Completed), true},
		{"gone at Azure billing", fakeTransfers{cancelErr: fmt.Errorf("%w: 404", billing.ErrNotFound)}, false, "", true},
		{"Azure billing unavailable", fakeTransfers{cancelErr: fmt.Errorf("%w: 503", billing.ErrUnavailable)}, true, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := storetest.NewTestStore(t)
			p := &provider.Provider{AccountID: "acct-1", Name: "P " + tt.name, Type: provider.TypeAzure, Option: provider.OptionMigrate,
				Status: provider.StatusCancelled, TenantID: "tenant-1", CreatedBy: "user:u",
				Subscriptions: []provider.Subscription{{ID: "sub-1", State: provider.SubscriptionTransferPending, Route: "billing_transfer",
					Transfer: &provider.Transfer{Name: "t-1", Status: "Pending"}}}}
			e := p.Enqueue(provider.NoticeCancelTransfer, t0)
			e.Subscription, e.ID = "sub-1", e.ID+"/sub-1"
			p.Enqueue(provider.NoticeOwnerWaitStarted, t0.Add(time.Second))
			if p.CancelSince == nil || !p.CancelSince.Equal(t0) {
				t.Fatalf("CancelSince %v after the enqueue, want %v", p.CancelSince, t0)
			}
			if err := s.CreateProvider(ctx, p, nil); err != nil {
				t.Fatal(err)
			}
			tr := tt.transfers
			c := &Canceller{Store: s, Transfers: &tr, Now: func() time.Time { return t0.Add(time.Minute) }}
			err := c.Deliver(ctx, p.AccountID, p.ID)
			if (err != nil) != tt.wantErr || len(tr.cancels) != 1 || tr.cancels[0] != "t-1" {
				t.Fatalf("Deliver = %v, cancels %v", err, tr.cancels)
			}
			q, err := s.GetProvider(ctx, p.AccountID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, pending := q.Pending(e.ID)
			if pending == tt.wantCancel || (q.CancelSince == nil) != tt.wantCancel {
				t.Fatalf("entry pending %v, CancelSince %v; want the cancel done %v", pending, q.CancelSince, tt.wantCancel)
			}
			if len(q.Outbox) == 0 || q.OutboxSince == nil {
				t.Fatalf("the relay's entry was taken: outbox %+v", q.Outbox)
			}
			sub, _ := q.Subscription("sub-1")
			if got := sub.Transfer.Status; tt.wantState != "" && got != tt.wantState || tt.wantState == "" && got != "Pending" {
				t.Fatalf("transfer recorded %q, want %q", got, tt.wantState)
			}
		})
	}
}

// TestDeliverProviderGone: a provider deleted meanwhile has nothing to
// cancel.
func TestDeliverProviderGone(t *testing.T) {
	s, _ := storetest.NewTestStore(t)
	tr := &fakeTransfers{}
	if err := (&Canceller{Store: s, Transfers: tr, Now: time.Now}).Deliver(context.Background(), "acct-1", "prv_01jd2y5q8w3v6t9x0b1c2d3e4f"); err != nil || len(tr.cancels) != 0 {
		t.Fatalf("Deliver = %v, cancels %v", err, tr.cancels)
	}
}
