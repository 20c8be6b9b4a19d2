package fakes

import (
	"context"
	"sync"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

var _ workflow.ProviderReader = (*FaultyStore)(nil)

// FaultyStore is the real store (over storetest's embedded DynamoDB, say)
// with faults injected by method name: Fail[method] makes the method fail
// with that error, after PassFirst[method] calls of it went through (calls
// are counted from the start, faults or not). Methods without a fault are
// the store's own.
type FaultyStore struct {
	*store.Store
	Fail      map[string]error
	PassFirst map[string]int
	mu        sync.Mutex
	calls     map[string]int
}

// NewFaultyStore wraps s without faults.
func NewFaultyStore(s *store.Store) *FaultyStore {
	return &FaultyStore{Store: s, Fail: map[string]error{}, PassFirst: map[string]int{}, calls: map[string]int{}}
}

// SetFault makes method fail with err from now on (nil: no more).
func (f *FaultyStore) SetFault(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Fail[method] = err
}

func (f *FaultyStore) fault(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if f.calls[method] <= f.PassFirst[method] {
		return nil
	}
	return f.Fail[method]
}

// GetAccount is the store's, or the fault.
func (f *FaultyStore) GetAccount(ctx context.Context, accountID string) (*account.Account, error) {
	if err := f.fault("GetAccount"); err != nil {
		return nil, err
	}
	return f.Store.GetAccount(ctx, accountID)
}

// GetProvider is the store's, or the fault.
func (f *FaultyStore) GetProvider(ctx context.Context, accountID, id string) (*provider.Provider, error) {
	if err := f.fault("GetProvider"); err != nil {
		return nil, err
	}
	return f.Store.GetProvider(ctx, accountID, id)
}

// FindProvider is the store's, or the fault.
func (f *FaultyStore) FindProvider(ctx context.Context, id string) (*provider.Provider, error) {
	if err := f.fault("FindProvider"); err != nil {
		return nil, err
	}
	return f.Store.FindProvider(ctx, id)
}

// UpdateProvider is the store's, or the fault.
func (f *FaultyStore) UpdateProvider(ctx context.Context, accountID, id string, mutate func(*provider.Provider) error) (*provider.Provider, error) {
	if err := f.fault("UpdateProvider"); err != nil {
		return nil, err
	}
	return f.Store.UpdateProvider(ctx, accountID, id, mutate)
}

// DeleteProvider is the store's, or the fault.
func (f *FaultyStore) DeleteProvider(ctx context.Context, accountID, id string, check func(*provider.Provider) error) error {
	if err := f.fault("DeleteProvider"); err != nil {
		return err
	}
	return f.Store.DeleteProvider(ctx, accountID, id, check)
}

// GetInvitation is the store's, or the fault.
func (f *FaultyStore) GetInvitation(ctx context.Context, hash string) (*consent.Record, error) {
	if err := f.fault("GetInvitation"); err != nil {
		return nil, err
	}
	return f.Store.GetInvitation(ctx, hash)
}

// PutInvitation is the store's, or the fault.
func (f *FaultyStore) PutInvitation(ctx context.Context, r consent.Record) error {
	if err := f.fault("PutInvitation"); err != nil {
		return err
	}
	return f.Store.PutInvitation(ctx, r)
}

// CloseInvitation is the store's, or the fault.
func (f *FaultyStore) CloseInvitation(ctx context.Context, hash string, to consent.Status, tenantID string) (*consent.Record, error) {
	if err := f.fault("CloseInvitation"); err != nil {
		return nil, err
	}
	return f.Store.CloseInvitation(ctx, hash, to, tenantID)
}

// ConsumeState is the store's, or the fault.
func (f *FaultyStore) ConsumeState(ctx context.Context, jti string, expires time.Time) error {
	if err := f.fault("ConsumeState"); err != nil {
		return err
	}
	return f.Store.ConsumeState(ctx, jti, expires)
}
