package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
)

const tenantX = "20000000-0000-4000-8000-000000000001"

func TestClaimTenant(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, newProvider("acct-a", "A"))
	b := mustCreate(t, s, newProvider("acct-b", "B"))
	a2 := mustCreate(t, s, newProvider("acct-a", "A2"))

	h, err := s.ClaimTenant(ctx, tenantX, a.AccountID, a.ID)
	if err != nil || !h.Is(a.AccountID, a.ID) {
		t.Fatalf("first claim = %+v, %v", h, err)
	}
	// Claiming again (a replayed sign-in) keeps it; the tenant id's case does not matter.
	if h, err := s.ClaimTenant(ctx, strings.ToUpper(tenantX), a.AccountID, a.ID); err != nil || !h.Is(a.AccountID, a.ID) {
		t.Fatalf("repeated claim = %+v, %v", h, err)
	}
	// Another account, and another provider of the same account, are refused.
	for _, p := range []*provider.Provider{b, a2} {
		if h, err := s.ClaimTenant(ctx, tenantX, p.AccountID, p.ID); err != nil || !h.Is(a.AccountID, a.ID) {
			t.Fatalf("claim by %s = %+v, %v; want held by %s", p.ID, h, err, a.ID)
		}
	}

	// The holder ends: the update releases the record, and b can claim.
	if _, err := s.UpdateProvider(ctx, a.AccountID, a.ID, func(p *provider.Provider) error {
		p.TenantID = tenantX
		p.Status = provider.StatusDeclined
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.ClaimTenant(ctx, tenantX, b.AccountID, b.ID); err != nil || !h.Is(b.AccountID, b.ID) {
		t.Fatalf("claim after release = %+v, %v", h, err)
	}
	// Releasing with another provider's id leaves b's record alone.
	if err := s.ReleaseTenant(ctx, tenantX, a.ID); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.ClaimTenant(ctx, tenantX, a2.AccountID, a2.ID); !h.Is(b.AccountID, b.ID) {
		t.Fatalf("a foreign release freed the tenant: holder %+v", h)
	}
	// Deleting the holder releases it.
	if _, err := s.UpdateProvider(ctx, b.AccountID, b.ID, func(p *provider.Provider) error { p.TenantID = tenantX; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProvider(ctx, b.AccountID, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	if h, err := s.ClaimTenant(ctx, tenantX, a2.AccountID, a2.ID); err != nil || !h.Is(a2.AccountID, a2.ID) {
		t.Fatalf("claim after delete = %+v, %v", h, err)
	}
}

// A record whose holder ended without releasing it (a crash between the two
// writes) is taken over by the next claimant.
func TestClaimTenantTakesOverStale(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	old := mustCreate(t, s, newProvider("acct-a", "Old"))
	next := mustCreate(t, s, newProvider("acct-b", "Next"))
	if _, err := s.ClaimTenant(ctx, tenantX, old.AccountID, old.ID); err != nil {
		t.Fatal(err)
	}
	// Ended without TenantID on the item: UpdateProvider releases nothing.
	if _, err := s.UpdateProvider(ctx, old.AccountID, old.ID, func(p *provider.Provider) error { p.Status = provider.StatusExpired; return nil }); err != nil {
		t.Fatal(err)
	}
	if h, err := s.ClaimTenant(ctx, tenantX, next.AccountID, next.ID); err != nil || !h.Is(next.AccountID, next.ID) {
		t.Fatalf("claim over a stale record = %+v, %v", h, err)
	}
}

// Two organizations racing for one tenant: exactly one holds it.
func TestClaimTenantRace(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	var ps []*provider.Provider
	for i := range 8 {
		ps = append(ps, mustCreate(t, s, newProvider("acct-"+string(rune('a'+i)), "P")))
	}
	holders := make([]store.TenantHolder, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := s.ClaimTenant(ctx, tenantX, p.AccountID, p.ID)
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
			holders[i] = h
		}()
	}
	wg.Wait()
	winners := 0
	for i, p := range ps {
		if holders[i].Is(p.AccountID, p.ID) {
			winners++
		}
		if holders[i].ProviderID != holders[0].ProviderID {
			t.Fatalf("claimants saw different holders: %+v vs %+v", holders[i], holders[0])
		}
	}
	if winners != 1 {
		t.Fatalf("%d claimants hold the tenant, want exactly 1", winners)
	}
}

func TestCountStateMint(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	hash := strings.Repeat("c", 64)
	w := t0.Truncate(time.Hour)
	for i := range 3 {
		if err := s.CountStateMint(ctx, hash, w, time.Hour, 3); err != nil {
			t.Fatalf("mint %d: %v", i+1, err)
		}
	}
	wantCode(t, s.CountStateMint(ctx, hash, w, time.Hour, 3), apperr.TooManyRequests)
	// The next window, and another invitation, start afresh.
	if err := s.CountStateMint(ctx, hash, w.Add(time.Hour), time.Hour, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.CountStateMint(ctx, strings.Repeat("d", 64), w, time.Hour, 3); err != nil {
		t.Fatal(err)
	}
}
