package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
)

// queryRecorder is a DynamoDB client that answers every Query with no items
// and records what it was asked; any other call panics (the embedded nil
// interface), which the fuzz target would report. Queries may come from
// several goroutines (the operators' listing reads partitions at once).
type queryRecorder struct {
	DynamoDBAPI
	mu      sync.Mutex
	queries []*dynamodb.QueryInput
}

func (q *queryRecorder) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cp := *in
	q.queries = append(q.queries, &cp)
	return &dynamodb.QueryOutput{}, nil
}

// FuzzListCursor feeds any cursor to ListProviders over a recording client.
// A cursor it refuses is an invalid_request *apperr.Error (400) and reads
// nothing; a cursor it accepts positions the query inside the caller's own
// partition, on a provider's sort key, and that key's cursor decodes to it
// again (encodeCursor and decodeCursor round-trip).
func FuzzListCursor(f *testing.F) {
	id := NewProviderID(time.Unix(1_700_000_000, 0))
	f.Add(encodeCursor(str(providerSK(id))))
	f.Add("")
	f.Add("!!!")
	f.Add(encodeCursor(str("PROVIDER#../../etc/passwd")))
	f.Add(encodeCursor(str("NAME#contoso")))
	f.Add(encodeCursor(str("ACCOUNT#other#PROVIDER#" + id)))
	f.Add(encodeCursor(str(providerSK(strings.ToUpper(id)))))
	f.Add(encodeCursor(str(providerSK(id))) + "=")
	f.Add("' OR 1=1 --")
	f.Fuzz(func(t *testing.T, cursor string) {
		rec := &queryRecorder{}
		s := New(rec, "table")
		_, next, err := s.ListProviders(context.Background(), "acct-1", 10, cursor)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.InvalidRequest || api.HTTPStatus(e.Code) != 400 {
				t.Fatalf("cursor %q: error %v, want invalid_request", cursor, err)
			}
			if len(rec.queries) != 0 {
				t.Fatalf("cursor %q was refused after a read", cursor)
			}
			return
		}
		if next != "" {
			t.Fatalf("an empty page has a next cursor %q", next)
		}
		if len(rec.queries) != 1 {
			t.Fatalf("%d queries", len(rec.queries))
		}
		start := rec.queries[0].ExclusiveStartKey
		if cursor == "" {
			if start != nil {
				t.Fatalf("no cursor, but the query starts at %v", start)
			}
			return
		}
		pk, _ := start[AttrPK].(*types.AttributeValueMemberS)
		sk, _ := start[AttrSK].(*types.AttributeValueMemberS)
		if pk == nil || sk == nil || pk.Value != accountPK("acct-1") || len(start) != 2 {
			t.Fatalf("cursor %q starts the query at %v, outside the caller's partition", cursor, start)
		}
		rest, ok := strings.CutPrefix(sk.Value, providerPrefix)
		if !ok || !ValidProviderID(rest) {
			t.Fatalf("cursor %q starts at the sort key %q, not a provider's", cursor, sk.Value)
		}
		again, err := decodeCursor(encodeCursor(sk))
		if err != nil || again != sk.Value {
			t.Fatalf("sort key %q does not round-trip: %q, %v", sk.Value, again, err)
		}
	})
}
