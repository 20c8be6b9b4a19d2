package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/store/storetest"
)

// items counts the items of the table whose sort key starts with prefix.
func items(t *testing.T, client *dynamodb.Client, prefix string) int {
	t.Helper()
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(storetest.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range out.Items {
		if sk, ok := it[store.AttrSK].(*types.AttributeValueMemberS); ok && len(sk.Value) >= len(prefix) && sk.Value[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func TestDeleteProvider(t *testing.T) {
	ctx := context.Background()
	ended := func(p *provider.Provider) error {
		if p.Open() {
			return apperr.New(apperr.InvalidState, "still open")
		}
		return nil
	}
	t.Run("deletes the provider and frees its name", func(t *testing.T) {
		s, client := storetest.NewTestStore(t)
		p := newProvider("acct-1", "Contoso")
		p.Status = provider.StatusActive
		mustCreate(t, s, p)
		other := mustCreate(t, s, newProvider("acct-1", "Fabrikam"))
		if err := s.DeleteProvider(ctx, "acct-1", p.ID, ended); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetProvider(ctx, "acct-1", p.ID)
		wantCode(t, err, apperr.NotFound)
		if n := items(t, client, "NAME#"); n != 1 {
			t.Fatalf("%d name claims left, want Fabrikam's only", n)
		}
		if _, err := s.GetProvider(ctx, "acct-1", other.ID); err != nil {
			t.Fatalf("the other provider: %v", err)
		}
		mustCreate(t, s, newProvider("acct-1", "CONTOSO")) // the name is free again
		wantCode(t, s.DeleteProvider(ctx, "acct-1", p.ID, nil), apperr.NotFound)
	})
	t.Run("a refusing check deletes nothing", func(t *testing.T) {
		s, client := storetest.NewTestStore(t)
		p := mustCreate(t, s, newProvider("acct-1", "Contoso")) // pending_consent
		wantCode(t, s.DeleteProvider(ctx, "acct-1", p.ID, ended), apperr.InvalidState)
		if _, err := s.GetProvider(ctx, "acct-1", p.ID); err != nil || items(t, client, "NAME#") != 1 {
			t.Fatalf("the provider or its claim is gone: %v", err)
		}
	})
	t.Run("another account's provider is not found", func(t *testing.T) {
		s, _ := storetest.NewTestStore(t)
		p := mustCreate(t, s, newProvider("acct-1", "Contoso"))
		wantCode(t, s.DeleteProvider(ctx, "acct-2", p.ID, nil), apperr.NotFound)
		wantCode(t, s.DeleteProvider(ctx, "acct-1", "prv_not-an-id", nil), apperr.NotFound)
		if _, err := s.GetProvider(ctx, "acct-1", p.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a concurrent change is read and checked again", func(t *testing.T) {
		s, _ := storetest.NewTestStore(t)
		p := mustCreate(t, s, newProvider("acct-1", "Contoso"))
		var seen []provider.Status
		err := s.DeleteProvider(ctx, "acct-1", p.ID, func(q *provider.Provider) error {
			seen = append(seen, q.Status)
			if len(seen) == 1 { // another writer cancels it between the read and the delete
				if _, err := s.UpdateProvider(ctx, "acct-1", p.ID, func(r *provider.Provider) error {
					r.Status = provider.StatusCancelled
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 || seen[1] != provider.StatusCancelled {
			t.Fatalf("check saw %v, want the first and the changed provider", seen)
		}
		_, err = s.GetProvider(ctx, "acct-1", p.ID)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("a name claim of another provider stays", func(t *testing.T) {
		s, client := storetest.NewTestStore(t)
		p := mustCreate(t, s, newProvider("acct-1", "Contoso"))
		// The claim now points elsewhere (an inconsistency DeleteProvider must not widen).
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(storetest.TableName), Item: map[string]types.AttributeValue{
			store.AttrPK: &types.AttributeValueMemberS{Value: "ACCOUNT#acct-1"}, store.AttrSK: &types.AttributeValueMemberS{Value: "NAME#contoso"},
			"providerId": &types.AttributeValueMemberS{Value: "prv_someone-else"}, "accountId": &types.AttributeValueMemberS{Value: "acct-1"},
		}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProvider(ctx, "acct-1", p.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetProvider(ctx, "acct-1", p.ID); !apperr.Is(err, apperr.NotFound) || items(t, client, "NAME#") != 1 {
			t.Fatalf("provider %v; claims %d, want the other provider's claim kept", err, items(t, client, "NAME#"))
		}
	})
	t.Run("DynamoDB failure is internal", func(t *testing.T) {
		base, client := storetest.NewTestStore(t)
		p := mustCreate(t, base, newProvider("acct-1", "Contoso"))
		s := store.New(failingTransact{client}, storetest.TableName)
		err := s.DeleteProvider(ctx, "acct-1", p.ID, nil)
		if !apperr.Is(err, apperr.Internal) {
			t.Fatalf("error = %v, want internal", err)
		}
	})
}

// failingTransact fails every transaction.
type failingTransact struct{ *dynamodb.Client }

func (failingTransact) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, errors.New("dynamodb: service unavailable")
}
