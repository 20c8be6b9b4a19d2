package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

func newRawStore(t *testing.T) (*store.Store, *dynamodb.Client) {
	t.Helper()
	s, c := storetest.NewTestStore(t)
	s.Now = (&clock{t: t0}).Now
	return s, c
}

// rawProvider reads a provider's stored item.
func rawProvider(t *testing.T, c *dynamodb.Client, accountID, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(storetest.TableName),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + accountID}, "sk": &types.AttributeValueMemberS{Value: "PROVIDER#" + id}}})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("raw item of %s: %v (%d attributes)", id, err, len(out.Item))
	}
	return out.Item
}

// putRaw writes item under the account's provider key, the way an old or a
// damaged item would be there.
func putRaw(t *testing.T, c *dynamodb.Client, accountID, id string, item map[string]types.AttributeValue) {
	t.Helper()
	item["pk"] = &types.AttributeValueMemberS{Value: "ACCOUNT#" + accountID}
	item["sk"] = &types.AttributeValueMemberS{Value: "PROVIDER#" + id}
	item["gsi1pk"] = &types.AttributeValueMemberS{Value: "PROVIDER#" + id}
	item["gsi1sk"] = &types.AttributeValueMemberS{Value: "PROVIDER"}
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(storetest.TableName), Item: item}); err != nil {
		t.Fatal(err)
	}
}

// TestProviderWithoutSubscriptionsRoundTrips: a migration created without
// subscription ids (they are optional), with a nil or an empty list, is
// stored with empty lists and reads back through every read.
func TestProviderWithoutSubscriptionsRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name     string
		subs     []provider.Subscription
		timeline []provider.Event
	}{
		{"nil subscriptions", nil, []provider.Event{{At: t0, Status: provider.StatusPendingConsent, What: "created", By: "user:u1"}}},
		{"empty subscriptions", []provider.Subscription{}, []provider.Event{{At: t0, Status: provider.StatusPendingConsent, What: "created", By: "user:u1"}}},
		{"nil subscriptions and timeline", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newRawStore(t)
			ctx := context.Background()
			p := newProvider("acct-1", "Contoso")
			p.Subscriptions, p.Timeline = tc.subs, tc.timeline
			mustCreate(t, s, p)
			other := mustCreate(t, s, newProvider("acct-1", "Fabrikam"))

			raw := rawProvider(t, c, "acct-1", p.ID)
			for _, attr := range []string{"subscriptions", "timeline"} {
				if l, ok := raw[attr].(*types.AttributeValueMemberL); !ok {
					t.Errorf("stored %s is %T, want a list", attr, raw[attr])
				} else if attr == "subscriptions" && len(l.Value) != 0 {
					t.Errorf("stored subscriptions %v, want none", l.Value)
				}
			}

			got, err := s.GetProvider(ctx, "acct-1", p.ID)
			if err != nil {
				t.Fatalf("GetProvider: %v", err)
			}
			if len(got.Subscriptions) != 0 || got.Status != provider.StatusPendingConsent || got.Name != "Contoso" {
				t.Errorf("GetProvider = %+v", got)
			}
			if v := got.View(); v.Subscriptions == nil || v.Timeline == nil {
				t.Errorf("view without lists: %+v", v)
			}
			page, err := s.ListProvidersPage(ctx, "acct-1", 10, "")
			if err != nil || len(page.Providers) != 2 || page.Skipped != 0 {
				t.Fatalf("ListProvidersPage = %+v, %v", page, err)
			}
			if page.Providers[0].ID != other.ID || page.Providers[1].ID != p.ID {
				t.Errorf("listed %s, %s; want %s, %s", page.Providers[0].ID, page.Providers[1].ID, other.ID, p.ID)
			}
			if found, err := s.FindProvider(ctx, p.ID); err != nil || found.ID != p.ID {
				t.Errorf("FindProvider = %+v, %v", found, err)
			}
			updated, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(p *provider.Provider) error {
				p.Timeline = append(p.Timeline, provider.Event{At: t0.Add(time.Minute), Status: p.Status, What: "invitation sent", By: "system"})
				return nil
			})
			if err != nil || updated.Version != 2 {
				t.Fatalf("UpdateProvider = %+v, %v", updated, err)
			}
			again, err := s.GetProvider(ctx, "acct-1", p.ID)
			if err != nil || len(again.Subscriptions) != 0 || len(again.Timeline) != len(tc.timeline)+1 {
				t.Fatalf("after update: %+v, %v", again, err)
			}
		})
	}
}

// TestNullListsOfOldItemsDecode: an item stored before lists were always
// lists has NULL for an empty one; it still reads.
func TestNullListsOfOldItemsDecode(t *testing.T) {
	s, c := newRawStore(t)
	p := newProvider("acct-1", "Old")
	p.ID, p.CreatedAt, p.UpdatedAt, p.Version = store.NewProviderID(t0), t0, t0, 1
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		t.Fatal(err)
	}
	item["subscriptions"] = &types.AttributeValueMemberNULL{Value: true}
	item["timeline"] = &types.AttributeValueMemberNULL{Value: true}
	putRaw(t, c, "acct-1", p.ID, item)

	got, err := s.GetProvider(context.Background(), "acct-1", p.ID)
	if err != nil {
		t.Fatalf("GetProvider: %v", err)
	}
	if len(got.Subscriptions) != 0 || len(got.Timeline) != 0 || got.Name != "Old" {
		t.Errorf("GetProvider = %+v", got)
	}
	if page, err := s.ListProvidersPage(context.Background(), "acct-1", 10, ""); err != nil || len(page.Providers) != 1 || page.Skipped != 0 {
		t.Errorf("ListProvidersPage = %+v, %v", page, err)
	}
}

// TestListProvidersSkipsUndecodableItems: an item that does not decode is
// left out of the list, counted and logged by its key without its values;
// the others are served. Reading it alone is a permanent error.
func TestListProvidersSkipsUndecodableItems(t *testing.T) {
	s, c := newRawStore(t)
	var logs bytes.Buffer
	ctx := logging.With(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))

	var good []*provider.Provider
	for _, name := range []string{"A", "B", "C"} {
		good = append(good, mustCreate(t, s, newProvider("acct-1", name)))
	}
	// The item the local cloud stored: subscriptions read back as a string.
	badType := store.NewProviderID(t0.Add(time.Hour))
	putRaw(t, c, "acct-1", badType, map[string]types.AttributeValue{
		"accountId": &types.AttributeValueMemberS{Value: "acct-1"}, "id": &types.AttributeValueMemberS{Value: badType},
		"name": &types.AttributeValueMemberS{Value: "Broken"}, "status": &types.AttributeValueMemberS{Value: "pending_consent"},
		"subscriptions": &types.AttributeValueMemberS{Value: "pending_consent"},
	})
	// A value the decoder would quote in its error.
	badValue := store.NewProviderID(t0.Add(2 * time.Hour))
	putRaw(t, c, "acct-1", badValue, map[string]types.AttributeValue{
		"accountId": &types.AttributeValueMemberS{Value: "acct-1"}, "id": &types.AttributeValueMemberS{Value: badValue},
		"createdAt": &types.AttributeValueMemberS{Value: "SECRET-not-a-time"},
	})

	page, err := s.ListProvidersPage(ctx, "acct-1", 10, "")
	if err != nil {
		t.Fatalf("ListProvidersPage: %v", err)
	}
	if page.Skipped != 2 || len(page.Providers) != 3 || page.Next != "" {
		t.Fatalf("page: %d providers, %d skipped, next %q; want 3, 2, none", len(page.Providers), page.Skipped, page.Next)
	}
	for i, p := range page.Providers {
		if want := good[len(good)-1-i].ID; p.ID != want {
			t.Errorf("provider %d is %s, want %s", i, p.ID, want)
		}
	}
	if ps, _, err := s.ListProviders(ctx, "acct-1", 10, ""); err != nil || len(ps) != 3 {
		t.Errorf("ListProviders = %d providers, %v", len(ps), err)
	}
	out := logs.String()
	for _, want := range []string{"PROVIDER#" + badType, "PROVIDER#" + badValue, "ACCOUNT#acct-1", "a string where []provider.Subscription was expected"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("log shows a stored value:\n%s", out)
	}

	// Pages of 2 go past the bad items: every good provider is listed once.
	var listed []string
	skipped, cursor := 0, ""
	for range 5 {
		page, err := s.ListProvidersPage(ctx, "acct-1", 2, cursor)
		if err != nil {
			t.Fatalf("page after %q: %v", cursor, err)
		}
		for _, p := range page.Providers {
			listed = append(listed, p.ID)
		}
		skipped += page.Skipped
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(listed) != 3 || skipped != 2 || cursor != "" {
		t.Errorf("paged: %v, %d skipped, cursor %q", listed, skipped, cursor)
	}

	// Alone, the bad item is a permanent internal error, never a transient one.
	_, err = s.GetProvider(ctx, "acct-1", badType)
	if !apperr.Is(err, apperr.Internal) || !errors.Is(err, apperr.ErrUndecodable) {
		t.Fatalf("GetProvider of the bad item: %v; want internal, undecodable", err)
	}
	if name := workflow.ErrorName(workflow.Named(err)); name != "UndecodableData" {
		t.Errorf("a task reading it fails with %s, want UndecodableData", name)
	}
	_, err = s.UpdateProvider(ctx, "acct-1", badValue, func(*provider.Provider) error { return nil })
	if !errors.Is(err, apperr.ErrUndecodable) {
		t.Errorf("UpdateProvider of the bad item: %v; want undecodable", err)
	}
}
