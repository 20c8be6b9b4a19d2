package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore returns a store over a fresh table, with a clock at t0.
func newStore(t *testing.T) (*store.Store, *clock) {
	t.Helper()
	s, _ := storetest.NewTestStore(t)
	c := &clock{t: t0}
	s.Now = c.Now
	return s, c
}

func newProvider(accountID, name string) *provider.Provider {
	return &provider.Provider{
		AccountID: accountID, Name: name, Type: provider.TypeAzure, Option: provider.OptionMigrate,
		Status: provider.StatusPendingConsent, CreatedBy: "user:u1",
		Subscriptions: []provider.Subscription{{ID: "00000000-0000-0000-0000-000000000001", State: provider.SubscriptionPending}},
		Timeline:      []provider.Event{{At: t0, Status: provider.StatusPendingConsent, What: "created", By: "user:u1"}},
	}
}

func mustCreate(t *testing.T, s *store.Store, p *provider.Provider) *provider.Provider {
	t.Helper()
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatalf("CreateProvider(%q): %v", p.Name, err)
	}
	return p
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestAccount(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	a := account.Account{ID: "acct-1", Name: "Org", Billable: true, USOffice: true, Demo: true, UpdatedAt: t0, UpdatedBy: "operator:o1"}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		want *account.Account
	}{
		{"present", "acct-1", &a},
		{"absent", "acct-2", nil},
		{"prefix of another id", "acct", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetAccount(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) || got != nil && (*got != *tc.want) {
				t.Fatalf("GetAccount(%q) = %+v, want %+v", tc.id, got, tc.want)
			}
		})
	}
	if _, err := s.GetAccount(ctx, ""); !apperr.Is(err, apperr.Internal) {
		t.Fatalf("empty account id: %v, want internal", err)
	}
}

func TestTermsFirstAcceptanceKept(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	first := []account.Acceptance{
		{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "user:first", AcceptedAt: t0},
		{Document: account.MicrosoftTerms, Version: "2017-08", AcceptedBy: "user:first"}, // stamped by the clock
	}
	if err := s.RecordAcceptances(ctx, "acct-1", first); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	again := []account.Acceptance{
		{Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "user:second", AcceptedAt: t0.Add(time.Hour)},
		{Document: account.PartnerTerms, Version: "2018-01", AcceptedBy: "user:second", AcceptedAt: t0.Add(time.Hour)},
	}
	if err := s.RecordAcceptances(ctx, "acct-1", again); err != nil {
		t.Fatal(err)
	}
	got, err := s.TermsAccepted(ctx, "acct-1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]account.Acceptance{
		"partner#2017-08":   {Document: account.PartnerTerms, Version: "2017-08", AcceptedBy: "user:first", AcceptedAt: t0},
		"microsoft#2017-08": {Document: account.MicrosoftTerms, Version: "2017-08", AcceptedBy: "user:first", AcceptedAt: t0},
		"partner#2018-01":   {Document: account.PartnerTerms, Version: "2018-01", AcceptedBy: "user:second", AcceptedAt: t0.Add(time.Hour)},
	}
	if len(got) != len(want) {
		t.Fatalf("TermsAccepted = %+v, want %d acceptances", got, len(want))
	}
	for _, a := range got {
		w, ok := want[string(a.Document)+"#"+a.Version]
		if !ok || w.AcceptedBy != a.AcceptedBy || !w.AcceptedAt.Equal(a.AcceptedAt) {
			t.Errorf("acceptance %+v, want %+v", a, w)
		}
	}
	other, err := s.TermsAccepted(ctx, "acct-2")
	if err != nil || len(other) != 0 {
		t.Fatalf("other account's acceptances = %v, %v; want none", other, err)
	}
}

func TestCreateProviderConflicts(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	orig := newProvider("acct-1", "Contoso Production")
	if err := s.CreateProvider(ctx, orig, &store.IdempotencyRecord{Key: "key-1", BodyHash: "h1"}); err != nil {
		t.Fatal(err)
	}
	if !store.ValidProviderID(orig.ID) || orig.Version != 1 || !orig.CreatedAt.Equal(t0) || !orig.UpdatedAt.Equal(t0) {
		t.Fatalf("created provider not filled in: %+v", orig)
	}
	tests := []struct {
		name      string
		account   string
		pname     string
		idem      *store.IdempotencyRecord
		wantCode  apperr.Code
		wantIdem  bool
		wantNoErr bool
	}{
		{name: "same name", account: "acct-1", pname: "Contoso Production", wantCode: apperr.NameTaken},
		{name: "name differs in case", account: "acct-1", pname: "contoso PRODUCTION", wantCode: apperr.NameTaken},
		{name: "same key, same name", account: "acct-1", pname: "Contoso Production", idem: &store.IdempotencyRecord{Key: "key-1", BodyHash: "h1"}, wantIdem: true},
		{name: "same key, other name", account: "acct-1", pname: "Other", idem: &store.IdempotencyRecord{Key: "key-1", BodyHash: "h2"}, wantIdem: true},
		{name: "other key, same name", account: "acct-1", pname: "CONTOSO production", idem: &store.IdempotencyRecord{Key: "key-2"}, wantCode: apperr.NameTaken},
		{name: "same name, other account", account: "acct-2", pname: "Contoso Production", wantNoErr: true},
		{name: "same key, other account", account: "acct-3", pname: "x", idem: &store.IdempotencyRecord{Key: "key-1"}, wantNoErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateProvider(ctx, newProvider(tc.account, tc.pname), tc.idem)
			switch {
			case tc.wantNoErr:
				if err != nil {
					t.Fatal(err)
				}
			case tc.wantIdem:
				if !errors.Is(err, store.ErrIdempotencyKeyUsed) {
					t.Fatalf("error = %v, want ErrIdempotencyKeyUsed", err)
				}
			default:
				wantCode(t, err, tc.wantCode)
			}
		})
	}
	// The failed attempts wrote nothing: still one provider, and the record
	// still names the original.
	items, _, err := s.ListProviders(ctx, "acct-1", 100, "")
	if err != nil || len(items) != 1 || items[0].ID != orig.ID {
		t.Fatalf("providers of acct-1 = %+v, %v; want only %s", items, err, orig.ID)
	}
	rec, err := s.GetIdempotency(ctx, "acct-1", "key-1")
	if err != nil || rec == nil || rec.ProviderID != orig.ID || rec.BodyHash != "h1" || !rec.CreatedAt.Equal(t0) {
		t.Fatalf("idempotency record = %+v, %v", rec, err)
	}
	if rec, err := s.GetIdempotency(ctx, "acct-1", "key-2"); rec != nil || err != nil {
		t.Fatalf("key of a failed create = %+v, %v; want none", rec, err)
	}
}

func TestCreateProviderConcurrentSameName(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	const n = 50
	var ok, taken, other atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "Same Name"
			if i%2 == 1 {
				name = "same NAME"
			}
			err := s.CreateProvider(ctx, newProvider("acct-1", name), nil)
			switch {
			case err == nil:
				ok.Add(1)
			case apperr.Is(err, apperr.NameTaken):
				taken.Add(1)
			default:
				other.Add(1)
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || taken.Load() != n-1 || other.Load() != 0 {
		t.Fatalf("ok=%d name_taken=%d other=%d; want 1, %d, 0", ok.Load(), taken.Load(), other.Load(), n-1)
	}
	items, next, err := s.ListProviders(ctx, "acct-1", 100, "")
	if err != nil || len(items) != 1 || next != "" {
		t.Fatalf("listed %d providers (next %q, err %v); want exactly 1", len(items), next, err)
	}
}

func TestAccountIsolation(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	p := mustCreate(t, s, newProvider("acct-1", "Mine"))

	if _, err := s.GetProvider(ctx, "acct-2", p.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("other account GetProvider: %v, want not_found", err)
	}
	items, _, err := s.ListProviders(ctx, "acct-2", 100, "")
	if err != nil || len(items) != 0 {
		t.Fatalf("other account lists %+v, %v; want nothing", items, err)
	}
	_, err = s.UpdateProvider(ctx, "acct-2", p.ID, func(*provider.Provider) error {
		t.Error("mutate called for another account's provider")
		return nil
	})
	wantCode(t, err, apperr.NotFound)
	// A cursor made from another account's id only positions within the
	// caller's own partition.
	forged := base64.RawURLEncoding.EncodeToString([]byte("PROVIDER#" + store.NewProviderID(t0.Add(time.Hour))))
	items, _, err = s.ListProviders(ctx, "acct-2", 100, forged)
	if err != nil || len(items) != 0 {
		t.Fatalf("other account with a forged cursor lists %+v, %v; want nothing", items, err)
	}
	got, err := s.GetProvider(ctx, "acct-1", p.ID)
	if err != nil || got.ID != p.ID || got.Name != "Mine" || len(got.Timeline) != 1 || len(got.Subscriptions) != 1 {
		t.Fatalf("owner GetProvider = %+v, %v", got, err)
	}
}

func TestGetProviderNotFound(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"", "prv_", "nope", store.NewProviderID(t0), "PRV_" + store.NewProviderID(t0)[4:], "prv_" + string(make([]byte, 2000))} {
		if _, err := s.GetProvider(context.Background(), "acct-1", id); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("GetProvider(%.20q) = %v, want not_found", id, err)
		}
	}
}

func TestListProvidersPagination(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	var ids []string // creation order
	for i := range 7 {
		p := mustCreate(t, s, newProvider("acct-1", fmt.Sprintf("p%d", i)))
		ids = append(ids, p.ID)
		clk.Add(time.Second)
	}
	mustCreate(t, s, newProvider("acct-2", "elsewhere"))

	var got []string
	cursor, pages := "", 0
	for {
		items, next, err := s.ListProviders(ctx, "acct-1", 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(items) == 0 || len(items) > 3 {
			t.Fatalf("page %d has %d items", pages, len(items))
		}
		for _, p := range items {
			got = append(got, p.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 {
		t.Fatalf("pages = %d, want 3", pages)
	}
	if len(got) != len(ids) {
		t.Fatalf("listed %d, want %d", len(got), len(ids))
	}
	for i, id := range got {
		if want := ids[len(ids)-1-i]; id != want {
			t.Fatalf("item %d = %s, want %s (newest first)", i, id, want)
		}
	}
	// An exact multiple of the page size has no empty last page.
	items, next, err := s.ListProviders(ctx, "acct-1", 7, "")
	if err != nil || len(items) != 7 || next != "" {
		t.Fatalf("limit 7: %d items, next %q, err %v", len(items), next, err)
	}
	// Limits are clamped.
	if items, _, err := s.ListProviders(ctx, "acct-1", 0, ""); err != nil || len(items) != 1 {
		t.Fatalf("limit 0: %d items, %v; want 1", len(items), err)
	}
	if items, _, err := s.ListProviders(ctx, "acct-1", 1000, ""); err != nil || len(items) != 7 {
		t.Fatalf("limit 1000: %d items, %v; want 7", len(items), err)
	}
}

func TestListProvidersBadCursor(t *testing.T) {
	s, _ := newStore(t)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, cursor string }{
		{"not base64", "!!!"},
		{"padded std base64", base64.StdEncoding.EncodeToString([]byte("PROVIDER#x"))},
		{"not a provider key", enc("NAME#contoso")},
		{"idempotency key", enc("IDEMPOTENCY#k")},
		{"account key", enc("ACCOUNT")},
		{"malformed id", enc("PROVIDER#prv_zzz")},
		{"garbage bytes", enc("\x00\xff")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.ListProviders(context.Background(), "acct-1", 10, tc.cursor)
			wantCode(t, err, apperr.InvalidRequest)
		})
	}
}

func TestUpdateProviderConcurrent(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	p := mustCreate(t, s, newProvider("acct-1", "Race"))
	clk.Add(time.Minute)

	// Both first mutate calls wait until both have read the provider, so
	// both writes expect the same version and one must lose and retry.
	var calls atomic.Int32
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	var wg sync.WaitGroup
	for _, what := range []string{"first", "second"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			firstCall := true
			_, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(p *provider.Provider) error {
				calls.Add(1)
				if firstCall {
					firstCall = false
					bothRead.Done()
					bothRead.Wait()
				}
				p.Timeline = append(p.Timeline, provider.Event{At: t0, Status: p.Status, What: what, By: "system"})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.GetProvider(ctx, "acct-1", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != p.Version+2 {
		t.Errorf("version = %d, want %d", got.Version, p.Version+2)
	}
	if !got.UpdatedAt.Equal(t0.Add(time.Minute)) || !got.CreatedAt.Equal(t0) {
		t.Errorf("times = created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	seen := map[string]bool{}
	for _, e := range got.Timeline {
		seen[e.What] = true
	}
	if len(got.Timeline) != 3 || !seen["first"] || !seen["second"] {
		t.Errorf("timeline = %+v, want created, first, second", got.Timeline)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("mutate called %d times, want 3 (one lost race retried)", got)
	}
}

func TestUpdateProviderOutcomes(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	p := mustCreate(t, s, newProvider("acct-1", "Upd"))
	abort := apperr.New(apperr.InvalidState, "nope")
	tests := []struct {
		name        string
		id          string
		mutate      func(*provider.Provider) error
		wantErr     error
		wantCode    apperr.Code
		wantVersion int
		wantStatus  provider.Status
	}{
		{name: "abort", id: p.ID, mutate: func(p *provider.Provider) error { p.Status = provider.StatusFailed; return abort }, wantErr: abort, wantVersion: 1, wantStatus: provider.StatusPendingConsent},
		{name: "rename refused", id: p.ID, mutate: func(p *provider.Provider) error { p.Name = "other"; return nil }, wantCode: apperr.Internal, wantVersion: 1, wantStatus: provider.StatusPendingConsent},
		{name: "applied", id: p.ID, mutate: func(p *provider.Provider) error { p.Status = provider.StatusCancelled; p.Version = 99; return nil }, wantVersion: 2, wantStatus: provider.StatusCancelled},
		{name: "absent", id: store.NewProviderID(t0), mutate: func(*provider.Provider) error { return nil }, wantCode: apperr.NotFound, wantVersion: 2, wantStatus: provider.StatusCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ret, err := s.UpdateProvider(ctx, "acct-1", tc.id, tc.mutate)
			switch {
			case tc.wantErr != nil:
				if err != tc.wantErr {
					t.Fatalf("error = %v, want %v as is", err, tc.wantErr)
				}
			case tc.wantCode != "":
				wantCode(t, err, tc.wantCode)
			case err != nil:
				t.Fatal(err)
			case ret.Version != tc.wantVersion || ret.Status != tc.wantStatus:
				t.Fatalf("returned %+v", ret)
			}
			got, err := s.GetProvider(ctx, "acct-1", p.ID)
			if err != nil || got.Version != tc.wantVersion || got.Status != tc.wantStatus {
				t.Fatalf("stored = %+v, %v; want version %d status %s", got, err, tc.wantVersion, tc.wantStatus)
			}
		})
	}
}

// racingClient makes every conditional provider write lose a race: before
// each PutItem it bumps the stored version behind the store's back.
type racingClient struct {
	store.DynamoDBAPI
	puts atomic.Int32
}

func (c *racingClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opt ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	_, err := c.DynamoDBAPI.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(storetest.TableName),
		Key:                       map[string]types.AttributeValue{"pk": in.Item["pk"], "sk": in.Item["sk"]},
		UpdateExpression:          aws.String("SET #v = #v + :one"),
		ExpressionAttributeNames:  map[string]string{"#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.PutItem(ctx, in, opt...)
}

func TestUpdateProviderRetriesExhausted(t *testing.T) {
	base, client := storetest.NewTestStore(t)
	p := mustCreate(t, base, newProvider("acct-1", "Contended"))
	racing := &racingClient{DynamoDBAPI: client}
	s := store.New(racing, storetest.TableName)
	_, err := s.UpdateProvider(context.Background(), "acct-1", p.ID, func(*provider.Provider) error { return nil })
	if !apperr.Is(err, apperr.Internal) || !errors.Is(err, store.ErrConcurrentUpdate) {
		t.Fatalf("error = %v, want internal wrapping ErrConcurrentUpdate", err)
	}
	if got := racing.puts.Load(); got != 9 {
		t.Fatalf("attempts = %d, want 9 (1 + 8 retries)", got)
	}
}

func TestFindProvider(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	p := mustCreate(t, s, newProvider("acct-7", "Findable"))
	got, err := s.FindProvider(ctx, p.ID)
	if err != nil || got.ID != p.ID || got.AccountID != "acct-7" || got.Name != "Findable" {
		t.Fatalf("FindProvider = %+v, %v", got, err)
	}
	for _, id := range []string{store.NewProviderID(t0), "garbage", ""} {
		if _, err := s.FindProvider(ctx, id); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("FindProvider(%q) = %v, want not_found", id, err)
		}
	}
}

func TestIdempotencyExpiry(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	first := newProvider("acct-1", "One")
	if err := s.CreateProvider(ctx, first, &store.IdempotencyRecord{Key: "k", BodyHash: "h"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		live    bool
	}{
		{0, true},
		{store.IdempotencyTTL - time.Second, true},
		{time.Second, false}, // exactly 24h after
		{time.Hour, false},
	}
	for _, st := range steps {
		clk.Add(st.advance)
		rec, err := s.GetIdempotency(ctx, "acct-1", "k")
		if err != nil || (rec != nil) != st.live {
			t.Fatalf("at %v: record %+v, %v; want live=%v", clk.Now().Sub(t0), rec, err, st.live)
		}
	}
	// An expired record that TTL has not deleted yet does not block the key.
	second := newProvider("acct-1", "Two")
	if err := s.CreateProvider(ctx, second, &store.IdempotencyRecord{Key: "k", BodyHash: "h2"}); err != nil {
		t.Fatalf("reusing an expired key: %v", err)
	}
	rec, err := s.GetIdempotency(ctx, "acct-1", "k")
	if err != nil || rec == nil || rec.ProviderID != second.ID || rec.BodyHash != "h2" {
		t.Fatalf("record after reuse = %+v, %v", rec, err)
	}
	if _, err := s.GetIdempotency(ctx, "acct-1", string(make([]byte, 300))); !apperr.Is(err, apperr.InvalidRequest) {
		t.Fatalf("over-long key: %v, want invalid_request", err)
	}
}

// txClient alters TransactWriteItems outcomes: it can fail the first calls
// with a TransactionConflict, or strip cancellation reasons.
type txClient struct {
	store.DynamoDBAPI
	conflicts    atomic.Int32 // calls left to fail with a conflict
	stripReasons bool
	calls        atomic.Int32
}

func (c *txClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opt ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	if c.conflicts.Add(-1) >= 0 {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = aws.String("None")
		}
		reasons[len(reasons)-1].Code = aws.String("TransactionConflict")
		return nil, &types.TransactionCanceledException{Message: aws.String("conflict"), CancellationReasons: reasons}
	}
	out, err := c.DynamoDBAPI.TransactWriteItems(ctx, in, opt...)
	var tce *types.TransactionCanceledException
	if c.stripReasons && errors.As(err, &tce) {
		return nil, &types.TransactionCanceledException{Message: tce.Message}
	}
	return out, err
}

func TestCreateProviderTransactionOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int32
		strip     bool
		pname     string
		idemKey   string
		wantCalls int32
		check     func(t *testing.T, err error)
	}{
		{name: "conflict then success", conflicts: 2, pname: "New", wantCalls: 3, check: func(t *testing.T, err error) {
			if err != nil {
				t.Fatal(err)
			}
		}},
		{name: "conflicts persist", conflicts: 100, pname: "New", wantCalls: 5, check: func(t *testing.T, err error) { wantCode(t, err, apperr.Internal) }},
		{name: "no reasons, name taken", strip: true, pname: "TAKEN", wantCalls: 1, check: func(t *testing.T, err error) { wantCode(t, err, apperr.NameTaken) }},
		{name: "no reasons, key used", strip: true, pname: "taken", idemKey: "used", wantCalls: 1, check: func(t *testing.T, err error) {
			if !errors.Is(err, store.ErrIdempotencyKeyUsed) {
				t.Fatalf("error = %v, want ErrIdempotencyKeyUsed", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, client := storetest.NewTestStore(t)
			if err := base.CreateProvider(context.Background(), newProvider("acct-1", "Taken"), &store.IdempotencyRecord{Key: "used"}); err != nil {
				t.Fatal(err)
			}
			tx := &txClient{DynamoDBAPI: client, stripReasons: tc.strip}
			tx.conflicts.Store(tc.conflicts)
			s := store.New(tx, storetest.TableName)
			var idem *store.IdempotencyRecord
			if tc.idemKey != "" {
				idem = &store.IdempotencyRecord{Key: tc.idemKey}
			}
			tc.check(t, s.CreateProvider(context.Background(), newProvider("acct-1", tc.pname), idem))
			if got := tx.calls.Load(); got != tc.wantCalls {
				t.Errorf("transactions = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestProviderIDs(t *testing.T) {
	prev := ""
	for i := range 1000 {
		id := store.NewProviderID(t0.Add(time.Duration(i/10) * time.Millisecond))
		if !store.ValidProviderID(id) || len(id) != 30 {
			t.Fatalf("invalid id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids not increasing: %s after %s", id, prev)
		}
		prev = id
	}
	for _, id := range []string{"", "prv_", "prv_01ARZ3NDEKTSV4RRFFQ69G5FA", "prv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "x_01arz3ndektsv4rrffq69g5fav", "prv_01arz3ndektsv4rrffq69g5fa!"} {
		if store.ValidProviderID(id) {
			t.Errorf("ValidProviderID(%q) = true", id)
		}
	}
	if !store.ValidProviderID("prv_01arz3ndektsv4rrffq69g5fav") {
		t.Error("a lower-case ULID id is not valid")
	}
}
