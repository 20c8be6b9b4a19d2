package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// opStore is a store over a fresh table with a clock at t0, and its client.
func opStore(t *testing.T) (*store.Store, *dynamodb.Client, *clock) {
	t.Helper()
	s, client := storetest.NewTestStore(t)
	c := &clock{t: t0}
	s.Now = c.Now
	return s, client, c
}

// seed creates a provider of the account in the status, a minute after the
// one before (the clock moves), and returns it.
func seed(t *testing.T, s *store.Store, c *clock, accountID, name string, status provider.Status) *provider.Provider {
	t.Helper()
	c.Add(time.Minute)
	p := newProvider(accountID, name)
	p.Status = status
	return mustCreate(t, s, p)
}

// listAll pages through the listing and returns the names in order and the
// number of pages; every page but the last is full.
func listAll(t *testing.T, s *store.Store, q store.OperatorQuery) ([]string, int) {
	t.Helper()
	var names []string
	pages := 0
	for {
		page, err := s.ListOperatorProviders(context.Background(), q)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, p := range page.Providers {
			names = append(names, p.Name)
		}
		if page.Next == "" {
			return names, pages
		}
		if len(page.Providers) != q.Limit {
			t.Fatalf("page %d holds %d providers, not %d, and has a next page", pages, len(page.Providers), q.Limit)
		}
		if len(page.Next) > 1024 {
			t.Fatalf("cursor of %d characters", len(page.Next))
		}
		if pages > 50 {
			t.Fatal("the listing does not end")
		}
		q.Cursor = page.Next
	}
}

func TestOperatorListNewestChangeFirst(t *testing.T) {
	s, _, c := opStore(t)
	ctx := context.Background()
	statuses := []provider.Status{provider.StatusPendingConsent, provider.StatusActive, provider.StatusFailed, provider.StatusAwaitingCustomer}
	var all []string
	byStatus := map[provider.Status][]string{}
	for i := range 14 {
		acct := []string{"acct-1", "acct-2"}[i%2]
		st := statuses[i%len(statuses)]
		if i >= 12 {
			st = provider.StatusCancelled
		}
		name := fmt.Sprintf("p%02d", i)
		seed(t, s, c, acct, name, st)
		all = append([]string{name}, all...)
		byStatus[st] = append([]string{name}, byStatus[st]...)
	}
	// p03 changes last: it moves to the top of another status.
	c.Add(time.Minute)
	p03 := "p03"
	page, err := s.ListOperatorProviders(ctx, store.OperatorQuery{Status: provider.StatusAwaitingCustomer, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var moved *provider.Provider
	for i := range page.Providers {
		if page.Providers[i].Name == p03 {
			moved = &page.Providers[i]
		}
	}
	if moved == nil {
		t.Fatalf("p03 not listed as awaiting_customer: %+v", page.Providers)
	}
	if _, err := s.UpdateProvider(ctx, moved.AccountID, moved.ID, func(p *provider.Provider) error {
		p.Status = provider.StatusAwaitingOwnerAccess
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	all = append([]string{p03}, slices.DeleteFunc(all, func(n string) bool { return n == p03 })...)
	byStatus[provider.StatusAwaitingCustomer] = slices.DeleteFunc(byStatus[provider.StatusAwaitingCustomer], func(n string) bool { return n == p03 })
	byStatus[provider.StatusAwaitingOwnerAccess] = []string{p03}

	tests := []struct {
		name      string
		q         store.OperatorQuery
		want      []string
		wantPages int
	}{
		{"every status, pages of 4", store.OperatorQuery{Limit: 4}, all, 4},
		{"every status, pages of 1", store.OperatorQuery{Limit: 1}, all, 14},
		{"every status, one page", store.OperatorQuery{Limit: 100}, all, 1},
		{"every status, exactly two pages", store.OperatorQuery{Limit: 7}, all, 2},
		{"active, pages of 2", store.OperatorQuery{Status: provider.StatusActive, Limit: 2}, byStatus[provider.StatusActive], 2},
		{"awaiting_customer after the move", store.OperatorQuery{Status: provider.StatusAwaitingCustomer, Limit: 2}, byStatus[provider.StatusAwaitingCustomer], 1},
		{"awaiting_owner_access: the moved one", store.OperatorQuery{Status: provider.StatusAwaitingOwnerAccess, Limit: 5}, byStatus[provider.StatusAwaitingOwnerAccess], 1},
		{"a status with none", store.OperatorQuery{Status: provider.StatusExpired, Limit: 5}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listAll(t, s, tt.q)
			if !slices.Equal(got, tt.want) || pages != tt.wantPages {
				t.Fatalf("listed %v in %d pages, want %v in %d", got, pages, tt.want, tt.wantPages)
			}
		})
	}
}

// setHealth stores a health map on a provider item as the health checks
// will (status and findings).
func setHealth(t *testing.T, client *dynamodb.Client, p *provider.Provider, status string) {
	t.Helper()
	_, err := client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(storetest.TableName),
		Key: map[string]types.AttributeValue{
			store.AttrPK: &types.AttributeValueMemberS{Value: "ACCOUNT#" + p.AccountID},
			store.AttrSK: &types.AttributeValueMemberS{Value: "PROVIDER#" + p.ID},
		},
		UpdateExpression:         aws.String("SET #h = :h"),
		ExpressionAttributeNames: map[string]string{"#h": "health"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"status":   &types.AttributeValueMemberS{Value: status},
			"findings": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOperatorListHealth: the health filter keeps the providers whose
// stored health has that status, none without health, and pages are still
// full while more match (the queries go on past the filtered-out items).
func TestOperatorListHealth(t *testing.T) {
	s, client, c := opStore(t)
	var attention, ok []string
	for i := range 20 {
		p := seed(t, s, c, []string{"acct-1", "acct-2"}[i%2], fmt.Sprintf("p%02d", i), provider.StatusActive)
		switch {
		case i%5 == 0:
			setHealth(t, client, p, "attention")
			attention = append([]string{p.Name}, attention...)
		case i%5 == 1:
			setHealth(t, client, p, "ok")
			ok = append([]string{p.Name}, ok...)
		}
	}
	seed(t, s, c, "acct-1", "failed-no-health", provider.StatusFailed)
	tests := []struct {
		name      string
		q         store.OperatorQuery
		want      []string
		wantPages int
	}{
		{"attention, pages of 2", store.OperatorQuery{Health: provider.HealthAttention, Limit: 2}, attention, 2},
		{"attention, pages of 1", store.OperatorQuery{Health: provider.HealthAttention, Limit: 1}, attention, 4},
		{"ok among active", store.OperatorQuery{Status: provider.StatusActive, Health: provider.HealthOK, Limit: 3}, ok, 2},
		{"attention among failed", store.OperatorQuery{Status: provider.StatusFailed, Health: provider.HealthAttention, Limit: 3}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listAll(t, s, tt.q)
			if !slices.Equal(got, tt.want) || pages != tt.wantPages {
				t.Fatalf("listed %v in %d pages, want %v in %d", got, pages, tt.want, tt.wantPages)
			}
		})
	}
}

// TestOperatorListStuckFirst: with Stuck, the providers waiting on their
// step longer than the threshold come first, longest waiting first, then
// every other one newest change first; each exactly once across pages,
// even when the clock moves past another provider's threshold between
// pages (the listing judges at its first page's clock, AsOf).
func TestOperatorListStuckFirst(t *testing.T) {
	s, _, c := opStore(t)
	ctx := context.Background()
	// The waits are set relative to ref, the clock once every provider
	// is written (14 seeds, a minute apart).
	ref := t0.Add(14 * time.Minute)
	ago := func(d time.Duration) *time.Time { v := ref.Add(-d); return &v }
	type spec struct {
		name, account string
		status        provider.Status
		set           func(p *provider.Provider)
	}
	specs := []spec{
		{"stuck-owner-100h", "acct-1", provider.StatusAwaitingOwnerAccess, func(p *provider.Provider) {
			p.OwnershipWait = &provider.OwnershipWait{StartedAt: *ago(100 * time.Hour), Deadline: ref.Add(time.Hour)}
		}},
		{"active-1", "acct-2", provider.StatusActive, nil},
		{"stuck-gdap-200h", "acct-2", provider.StatusAwaitingCustomer, func(p *provider.Provider) {
			p.CurrentStep = &provider.StepWaitMark{Key: provider.StepGDAP, Since: *ago(200 * time.Hour)}
		}},
		{"waiting-gdap-10h", "acct-2", provider.StatusAwaitingCustomer, func(p *provider.Provider) {
			p.CurrentStep = &provider.StepWaitMark{Key: provider.StepGDAP, Since: *ago(10 * time.Hour)}
		}},
		{"failed-old-step", "acct-1", provider.StatusFailed, func(p *provider.Provider) {
			p.CurrentStep = &provider.StepWaitMark{Key: provider.StepGDAP, Since: *ago(900 * time.Hour)}
		}},
		{"stuck-invitation-80h", "acct-1", provider.StatusPendingConsent, func(p *provider.Provider) {
			p.Invitation = &provider.Invitation{SentAt: ago(80 * time.Hour)}
		}},
		{"threshold-exactly", "acct-2", provider.StatusAwaitingOwnerAccess, func(p *provider.Provider) {
			p.OwnershipWait = &provider.OwnershipWait{StartedAt: *ago(72 * time.Hour), Deadline: ref.Add(time.Hour)}
		}},
		{"active-2", "acct-1", provider.StatusActive, nil},
		{"new-pending", "acct-2", provider.StatusPendingConsent, nil},
		{"stuck-provisioning-73h", "acct-1", provider.StatusProvisioning, func(p *provider.Provider) {
			p.CreatedAt, p.UpdatedAt = *ago(73 * time.Hour), c.Now() // created long ago, changed now
		}},
		{"cancelled", "acct-2", provider.StatusCancelled, nil},
		{"stuck-assignments-72h1s", "acct-2", provider.StatusAwaitingCustomer, func(p *provider.Provider) {
			p.CurrentStep = &provider.StepWaitMark{Key: provider.StepAssignments, Since: *ago(72*time.Hour + time.Second)}
		}},
		{"active-3", "acct-1", provider.StatusActive, nil},
		{"expired", "acct-1", provider.StatusExpired, nil},
	}
	var changed []string // newest change first
	for _, sp := range specs {
		c.Add(time.Minute)
		p := newProvider(sp.account, sp.name)
		p.Status = sp.status
		if sp.set != nil {
			sp.set(p)
		}
		mustCreate(t, s, p)
		changed = append([]string{sp.name}, changed...)
	}
	if !c.Now().Equal(ref) {
		t.Fatalf("clock %v, ref %v", c.Now(), ref)
	}
	stuck := []string{"stuck-gdap-200h", "stuck-owner-100h", "stuck-invitation-80h", "stuck-provisioning-73h", "stuck-assignments-72h1s"}
	rest := slices.DeleteFunc(slices.Clone(changed), func(n string) bool { return slices.Contains(stuck, n) })

	tests := []struct {
		name      string
		q         store.OperatorQuery
		wantStuck int
		want      []string
	}{
		{"every status, pages of 2", store.OperatorQuery{Stuck: true, StuckAfter: 72 * time.Hour, Limit: 2}, 5, append(slices.Clone(stuck), rest...)},
		{"every status, pages of 5 (the stuck part ends a page)", store.OperatorQuery{Stuck: true, StuckAfter: 72 * time.Hour, Limit: 5}, 5, append(slices.Clone(stuck), rest...)},
		{"every status, one page", store.OperatorQuery{Stuck: true, StuckAfter: 72 * time.Hour, Limit: 100}, 5, append(slices.Clone(stuck), rest...)},
		{"awaiting_customer", store.OperatorQuery{Status: provider.StatusAwaitingCustomer, Stuck: true, StuckAfter: 72 * time.Hour, Limit: 1}, 2,
			[]string{"stuck-gdap-200h", "stuck-assignments-72h1s", "waiting-gdap-10h"}},
		{"active: nothing can be stuck", store.OperatorQuery{Status: provider.StatusActive, Stuck: true, StuckAfter: 72 * time.Hour, Limit: 2}, 0,
			[]string{"active-3", "active-2", "active-1"}},
		{"a shorter threshold", store.OperatorQuery{Status: provider.StatusAwaitingCustomer, Stuck: true, StuckAfter: 5 * time.Hour, Limit: 2}, 3,
			[]string{"stuck-gdap-200h", "stuck-assignments-72h1s", "waiting-gdap-10h"}},
		{"a longer threshold", store.OperatorQuery{Stuck: true, StuckAfter: 150 * time.Hour, Limit: 3}, 1,
			append([]string{"stuck-gdap-200h"}, slices.DeleteFunc(slices.Clone(changed), func(n string) bool { return n == "stuck-gdap-200h" })...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.mu.Lock()
			c.t = ref
			c.mu.Unlock()
			q := tt.q
			var got []string
			for pages := 1; ; pages++ {
				page, err := s.ListOperatorProviders(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if !page.AsOf.Equal(ref) {
					t.Fatalf("page %d: AsOf %v, want the first page's clock %v", pages, page.AsOf, ref)
				}
				for _, p := range page.Providers {
					got = append(got, p.Name)
					// The domain's rule at AsOf agrees with the split.
					if _, isStuck := p.StuckSince(page.AsOf, q.StuckAfter); isStuck != (len(got) <= tt.wantStuck) {
						t.Fatalf("%s (position %d) stuck %v", p.Name, len(got), isStuck)
					}
				}
				if page.Next == "" {
					break
				}
				if len(page.Providers) != q.Limit || pages > 20 {
					t.Fatalf("page %d: %d providers", pages, len(page.Providers))
				}
				q.Cursor = page.Next
				// An hour passes between pages: threshold-exactly
				// would be stuck now, but the listing keeps its split.
				c.Add(time.Hour)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("listed\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// TestOperatorListBadCursor: a cursor this listing did not make is
// invalid_request naming the cursor, and so is one of another listing or
// of other filters.
func TestOperatorListBadCursor(t *testing.T) {
	s, _, c := opStore(t)
	ctx := context.Background()
	for i := range 4 {
		seed(t, s, c, "acct-1", fmt.Sprintf("p%d", i), []provider.Status{provider.StatusActive, provider.StatusFailed}[i%2])
	}
	next := func(q store.OperatorQuery) string {
		page, err := s.ListOperatorProviders(ctx, q)
		if err != nil || page.Next == "" {
			t.Fatalf("%+v: next %q, %v", q, page.Next, err)
		}
		return page.Next
	}
	stuckQ := store.OperatorQuery{Stuck: true, StuckAfter: time.Hour, Limit: 1}
	_, listCursor, err := s.ListProviders(ctx, "acct-1", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	pos := "20991231235959000000000" + "01jd2y5q8w3v6t9x0b1c2d3e4f" // 31 December 2099
	tests := []struct {
		name   string
		q      store.OperatorQuery
		cursor string
	}{
		{"not base64", store.OperatorQuery{Limit: 1}, "!!!"},
		{"padded", store.OperatorQuery{Limit: 1}, next(store.OperatorQuery{Limit: 1}) + "="},
		{"GET /providers' cursor", store.OperatorQuery{Limit: 1}, listCursor},
		{"another status's", store.OperatorQuery{Limit: 1}, next(store.OperatorQuery{Status: provider.StatusActive, Limit: 1})},
		{"no status's, with a status", store.OperatorQuery{Status: provider.StatusActive, Limit: 1}, next(store.OperatorQuery{Limit: 1})},
		{"another health's", store.OperatorQuery{Health: provider.HealthOK, Limit: 1}, next(store.OperatorQuery{Limit: 1})},
		{"the stuck listing's, without stuck", store.OperatorQuery{Limit: 1}, next(stuckQ)},
		{"the plain listing's, with stuck", stuckQ, next(store.OperatorQuery{Limit: 1})},
		{"not JSON", store.OperatorQuery{Limit: 1}, b64("PROVIDER#prv_01jd2y5q8w3v6t9x0b1c2d3e4f")},
		{"another version", store.OperatorQuery{Limit: 1}, b64(`{"v":2}`)},
		{"an unknown field", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"x":1}`)},
		{"two values", store.OperatorQuery{Limit: 1}, b64(`{"v":1}{"v":1}`)},
		{"an unknown status", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"at":{"gone":"-"}}`)},
		{"a status outside the filter", store.OperatorQuery{Status: provider.StatusActive, Limit: 1}, b64(`{"v":1,"s":"active","at":{"failed":"-"}}`)},
		{"a malformed position", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"at":{"active":"2026"}}`)},
		{"a position with a bad id", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"at":{"active":"` + strings.Repeat("2", 23) + strings.Repeat("u", 26) + `"}}`)},
		{"a position with a bad time", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"at":{"active":"` + strings.Repeat("9", 23) + "01jd2y5q8w3v6t9x0b1c2d3e4f" + `"}}`)},
		{"a clock in the plain listing", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"t":5}`)},
		{"the stuck part without stuck", store.OperatorQuery{Limit: 1}, b64(`{"v":1,"p":true}`)},
		{"a stuck listing without a clock", stuckQ, b64(`{"v":1,"k":true}`)},
		{"a stuck listing from the future", stuckQ, b64(fmt.Sprintf(`{"v":1,"k":true,"t":%d}`, t0.Add(24*time.Hour).UnixNano()))},
		{"a stuck position after the cut-off", stuckQ, b64(fmt.Sprintf(`{"v":1,"k":true,"p":true,"t":%d,"at":{"awaiting_customer":"%s"}}`, t0.UnixNano(), pos))},
		{"a finished status in the stuck part", stuckQ, b64(fmt.Sprintf(`{"v":1,"k":true,"p":true,"t":%d,"at":{"active":"-"}}`, t0.UnixNano()))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Cursor = tt.cursor
			_, err := s.ListOperatorProviders(ctx, q)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.InvalidRequest || len(e.Details) != 1 || e.Details[0].Field != "cursor" {
				t.Fatalf("error %v, want invalid_request on the cursor", err)
			}
		})
	}
	// A well-formed forged cursor is only a position: it reads on from it.
	page, err := s.ListOperatorProviders(ctx, store.OperatorQuery{Limit: 10, Cursor: b64(`{"v":1,"at":{"failed":"-","active":"` + pos + `"}}`)})
	if err != nil || len(page.Providers) != 2 || page.Providers[0].Status != provider.StatusActive {
		t.Fatalf("forged position: %+v, %v", page, err)
	}
}

// TestOperatorCursorFitsTheQuery: the longest cursor, a position in every
// status partition of a stuck listing, fits the API's 1,024 characters.
func TestOperatorCursorFitsTheQuery(t *testing.T) {
	s, _, c := opStore(t)
	for round := range 2 {
		for _, st := range provider.Statuses {
			seed(t, s, c, "acct-with-a-long-account-identifier-0000000000000000000000000000", fmt.Sprintf("%s-%d", st, round), st)
		}
	}
	for _, q := range []store.OperatorQuery{{Limit: 9}, {Stuck: true, StuckAfter: time.Hour, Limit: 9}} {
		page, err := s.ListOperatorProviders(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(page.Next)
		if strings.Count(string(raw), `":"`) < 9 || len(page.Next) > 1024 {
			t.Fatalf("cursor of %d characters: %s", len(page.Next), raw)
		}
	}
}
