package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
)

// TestListActive: gsi4 lists exactly the providers that are active now,
// across accounts, page by page; a provider leaves it when deleted and
// joins it when it becomes active.
func TestListActive(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t)
	var active []store.ProviderRef
	for i, tc := range []struct {
		account string
		status  provider.Status
	}{
		{"acct-a", provider.StatusActive}, {"acct-b", provider.StatusPendingConsent}, {"acct-b", provider.StatusActive},
		{"acct-c", provider.StatusActive}, {"acct-a", provider.StatusFailed}, {"acct-c", provider.StatusActive},
	} {
		clk.Add(time.Second)
		p := newProvider(tc.account, "P"+string(rune('0'+i)))
		p.Status = tc.status
		mustCreate(t, s, p)
		if tc.status == provider.StatusActive {
			active = append(active, store.ProviderRef{AccountID: tc.account, ProviderID: p.ID})
		}
	}
	all := func() []store.ProviderRef {
		t.Helper()
		var got []store.ProviderRef
		cursor := ""
		for pages := 0; ; pages++ {
			refs, next, err := s.ListActive(ctx, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) > 2 || pages > 10 {
				t.Fatalf("page of %d, or too many pages", len(refs))
			}
			got = append(got, refs...)
			if next == "" {
				return got
			}
			cursor = next
		}
	}
	if got := all(); !slices.Equal(got, active) {
		t.Fatalf("ListActive %v, want %v", got, active)
	}
	if n, err := s.CountActive(ctx); err != nil || n != len(active) {
		t.Fatalf("CountActive %d, %v; want %d", n, err, len(active))
	}

	// One more becomes active; one is deleted.
	pending := newProvider("acct-d", "Later")
	mustCreate(t, s, pending)
	if _, err := s.UpdateProvider(ctx, "acct-d", pending.ID, func(p *provider.Provider) error { p.Status = provider.StatusActive; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProvider(ctx, active[0].AccountID, active[0].ProviderID, nil); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(active[1:]), store.ProviderRef{AccountID: "acct-d", ProviderID: pending.ID})
	if got := all(); !slices.Equal(got, want) {
		t.Fatalf("after the changes ListActive %v, want %v", got, want)
	}

	for _, bad := range []string{"x", "eyJ9", "eyJhY2NvdW50SWQiOiJhIiwicHJvdmlkZXJJZCI6Im5vIn0"} {
		if _, _, err := s.ListActive(ctx, 2, bad); !apperr.Is(err, apperr.InvalidRequest) {
			t.Errorf("cursor %q: %v, want invalid_request", bad, err)
		}
	}
}
