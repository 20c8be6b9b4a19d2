package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/api/apitest"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

const (
	token    = "tok_abcdefghijklmnopqrstuvwxyz0123456789"
	password = "Initial-P@ss-9f8e7d"
	arn      = "arn:aws:secretsmanager:us-east-1:123456789012:secret:initial-admin"
)

type fakeSecrets struct {
	mu      sync.Mutex
	values  map[string]string
	deleted int
	getErr  error
}

func (f *fakeSecrets) Get(_ context.Context, a string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, f.getErr
	}
	v, ok := f.values[a]
	if !ok {
		return nil, errors.New("not found")
	}
	return []byte(v), nil
}

func (f *fakeSecrets) Delete(_ context.Context, a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.values, a)
	f.deleted++
	return nil
}

func setup(t *testing.T, expires time.Time) (*Handler, *store.Store, *fakeSecrets, *provider.Provider) {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	s.Now = func() time.Time { return t0 }
	sum := sha256.Sum256([]byte(token))
	p := &provider.Provider{AccountID: "acct-1", Name: "Fabrikam", Type: provider.TypeAzure, Option: provider.OptionNew, Status: provider.StatusActive, CreatedBy: "user:u",
		InitialAdmin: &provider.InitialAdmin{UserName: "admin@fabrikam.onmicrosoft.com", SecretARN: arn, TokenHash: hex.EncodeToString(sum[:]), ExpiresAt: &expires}}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	sec := &fakeSecrets{values: map[string]string{arn: `{"userName":"admin@fabrikam.onmicrosoft.com","password":"` + password + `"}`}}
	return &Handler{Store: s, Secrets: sec, Now: func() time.Time { return t0 }}, s, sec, p
}

func request(id, tok string) api.Request {
	return api.Request{PathParameters: map[string]string{"id": id}, QueryStringParameters: map[string]string{"token": tok}}
}

func TestShownOnceThenGone(t *testing.T) {
	h, s, sec, p := setup(t, t0.Add(time.Hour))
	ctx := context.Background()
	resp, err := h.Handle(ctx, request(p.ID, token))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, password) || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("first use: %d %v %v", resp.StatusCode, err, resp.Headers)
	}
	if len(sec.values) != 0 {
		t.Fatal("the secret was not deleted")
	}
	q, _ := s.GetProvider(ctx, p.AccountID, p.ID)
	if q.InitialAdmin.ViewedAt == nil {
		t.Fatal("the use was not recorded")
	}
	resp, _ = h.Handle(ctx, request(p.ID, token))
	if resp.StatusCode != 410 || strings.Contains(resp.Body, password) {
		t.Fatalf("second use: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Duration
		id, tok string
		getErr  error
		want    int
	}{
		{"wrong token", time.Hour, "", "tok_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", nil, 404},
		{"malformed token", time.Hour, "", "<script>", nil, 404},
		{"no token", time.Hour, "", "", nil, 404},
		{"unknown provider", time.Hour, "prv_01jd2y5q8w3v6t9x0b1c2d3e4f", token, nil, 404},
		{"expired", -time.Minute, "", token, nil, 410},
		{"secret unreadable", time.Hour, "", token, errors.New("throttled"), 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, sec, p := setup(t, t0.Add(tt.expires))
			sec.getErr = tt.getErr
			id := tt.id
			if id == "" {
				id = p.ID
			}
			resp, _ := h.Handle(context.Background(), request(id, tt.tok))
			if resp.StatusCode != tt.want || strings.Contains(resp.Body, password) {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.want, resp.Body)
			}
			if tt.want == 410 && len(sec.values) != 0 {
				t.Fatal("an expired link left the secret")
			}
		})
	}
}

// TestConcurrentUses: of simultaneous uses, exactly one shows the password.
func TestConcurrentUses(t *testing.T) {
	h, _, _, p := setup(t, t0.Add(time.Hour))
	var wg sync.WaitGroup
	var mu sync.Mutex
	shown := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := h.Handle(context.Background(), request(p.ID, token))
			if strings.Contains(resp.Body, password) {
				mu.Lock()
				shown++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if shown != 1 {
		t.Fatalf("the password was shown %d times", shown)
	}
}

// TestEvent runs the sam local invoke event: no such provider, so 404.
func TestEvent(t *testing.T) {
	req := apitest.LoadEvent(t, "../../events/initial-credentials.json")
	h, _, _, _ := setup(t, t0.Add(time.Hour))
	resp, err := api.Handle(h.Handle)(context.Background(), req)
	if err != nil || resp.StatusCode != 404 || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("event answered %d %v", resp.StatusCode, err)
	}
}
