package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// TestOutboxStoredForTheStreamFilter: the table stream's filter wakes the
// relay on a provider item's outboxSince string (template.yaml), so it must
// be stored as S while a notice is pending, and be absent once none is.
func TestOutboxStoredForTheStreamFilter(t *testing.T) {
	ctx := context.Background()
	s, client := storetest.NewTestStore(t)
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate, Status: provider.StatusAwaitingOwnerAccess, CreatedBy: "user:u"}
	if err := s.CreateProvider(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	raw := func() map[string]types.AttributeValue {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(storetest.TableName), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#acct-1"}, "sk": &types.AttributeValueMemberS{Value: "PROVIDER#" + p.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	if _, ok := raw()["outboxSince"]; ok {
		t.Fatal("outboxSince stored with nothing pending")
	}
	var id string
	if _, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error {
		id = q.Enqueue(provider.NoticeOwnerWaitStarted, t0).ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	since, ok := raw()["outboxSince"].(*types.AttributeValueMemberS)
	if !ok || since.Value != "2026-05-01T09:00:00Z" {
		t.Fatalf("outboxSince %#v, want the string 2026-05-01T09:00:00Z", raw()["outboxSince"])
	}
	got, err := s.GetProvider(ctx, "acct-1", p.ID)
	if err != nil || len(got.Outbox) != 1 || got.Outbox[0].ID != id || got.Outbox[0].Kind != provider.NoticeOwnerWaitStarted {
		t.Fatalf("outbox read back %+v, %v", got, err)
	}
	if _, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error { q.Dequeue(id); return nil }); err != nil {
		t.Fatal(err)
	}
	item := raw()
	if _, ok := item["outboxSince"]; ok {
		t.Fatal("outboxSince kept after the last notice was removed")
	}
	if _, ok := item["outbox"]; ok {
		t.Fatal("an empty outbox stored")
	}
}
