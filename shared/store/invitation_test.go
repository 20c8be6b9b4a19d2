package store_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
)

func TestInvitationLifecycle(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	hash := strings.Repeat("a", 64)
	rec := consent.Record{Hash: hash, AccountID: "acct-1", ProviderID: "prv_1", TaskToken: "token-1", Status: consent.StatusOpen, ExpiresAt: t0.Add(14 * 24 * time.Hour), UpdatedAt: t0}
	if err := s.PutInvitation(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.TaskToken = "token-2"
	if err := s.PutInvitation(ctx, rec); err != nil {
		t.Fatalf("renewing the token of an open invitation: %v", err)
	}
	foreign := rec
	foreign.ProviderID = "prv_other"
	wantCode(t, s.PutInvitation(ctx, foreign), apperr.InvalidState)

	got, err := s.GetInvitation(ctx, hash)
	if err != nil || got.TaskToken != "token-2" || got.Status != consent.StatusOpen {
		t.Fatalf("GetInvitation = %+v, %v", got, err)
	}
	_, err = s.GetInvitation(ctx, strings.Repeat("b", 64))
	wantCode(t, err, apperr.NotFound)
	_, err = s.GetInvitation(ctx, "short")
	wantCode(t, err, apperr.NotFound)

	// Ten concurrent closes: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.CloseInvitation(ctx, hash, consent.StatusConsented, "tenant-1")
			if err == nil {
				wins.Add(1)
				if r.TaskToken != "token-2" || r.TenantID != "tenant-1" || r.ConsentedAt == nil {
					t.Errorf("winner got %+v", r)
				}
				return
			}
			if !apperr.Is(err, apperr.InvalidState) {
				t.Errorf("loser error = %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d closes won, want exactly 1", wins.Load())
	}
	// A closed invitation is never reopened.
	rec.TaskToken = "token-3"
	wantCode(t, s.PutInvitation(ctx, rec), apperr.InvalidState)
	_, err = s.CloseInvitation(ctx, hash, consent.StatusCancelled, "")
	wantCode(t, err, apperr.InvalidState)
	_, err = s.CloseInvitation(ctx, strings.Repeat("c", 64), consent.StatusCancelled, "")
	wantCode(t, err, apperr.InvalidState)
}

func TestConsumeStateOnce(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	jti := strings.Repeat("f", 32)
	if err := s.ConsumeState(ctx, jti, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.ConsumeState(ctx, jti, t0.Add(time.Hour)), apperr.InvalidState)
	wantCode(t, s.ConsumeState(ctx, "short", t0), apperr.InvalidRequest)
}
