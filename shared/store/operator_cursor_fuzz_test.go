package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// FuzzOperatorCursor feeds any cursor, with any filters, to the operators'
// listing over a recording client. A cursor it refuses is an
// invalid_request *apperr.Error (400) on the cursor and reads nothing. A
// cursor it accepts only positions the queries: every query is on gsi2 or
// gsi3, in a status partition the filters allow (an open status on gsi3),
// after a well-formed sort key (below the cut-off on gsi3), and reads no
// partition twice.
func FuzzOperatorCursor(f *testing.F) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	id := NewProviderID(now)
	pos := compactSK(indexSK(now.Add(-100*time.Hour), id))
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add("", 0, 0, false)
	f.Add("!!!", 0, 0, false)
	f.Add(b64(`{"v":1,"at":{"active":"`+pos+`","failed":"-"}}`), 0, 0, false)
	f.Add(b64(`{"v":1,"s":"active","h":"ok","at":{"active":"`+pos+`"}}`), 5, 1, false)
	f.Add(b64(fmt.Sprintf(`{"v":1,"k":true,"p":true,"t":%d,"at":{"awaiting_customer":"%s"}}`, now.UnixNano(), pos)), 0, 0, true)
	f.Add(b64(fmt.Sprintf(`{"v":1,"k":true,"t":%d,"at":{"active":"%s"}}`, now.UnixNano(), pos)), 0, 0, true)
	f.Add(b64(`{"v":1,"at":{"active":"`+strings.Repeat("9", 49)+`"}}`), 0, 0, false)
	f.Add(b64(`PROVIDER#`+id), 0, 0, false)
	f.Fuzz(func(t *testing.T, cursor string, status, health int, stuck bool) {
		q := OperatorQuery{Limit: 3, Cursor: cursor, Stuck: stuck, StuckAfter: 72 * time.Hour}
		if status > 0 && status <= len(provider.Statuses) {
			q.Status = provider.Statuses[status-1]
		}
		q.Health = map[int]provider.HealthStatus{1: provider.HealthOK, 2: provider.HealthAttention}[health]
		rec := &queryRecorder{}
		s := New(rec, "table")
		s.Now = func() time.Time { return now }
		page, err := s.ListOperatorProviders(context.Background(), q)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.InvalidRequest || api.HTTPStatus(e.Code) != 400 || len(e.Details) != 1 || e.Details[0].Field != "cursor" {
				t.Fatalf("cursor %q: error %v, want invalid_request on the cursor", cursor, err)
			}
			if len(rec.queries) != 0 {
				t.Fatalf("cursor %q was refused after a read", cursor)
			}
			return
		}
		if page.Next != "" || len(page.Providers) != 0 {
			t.Fatalf("an empty index gave %+v", page)
		}
		seen := map[string]bool{}
		for _, in := range rec.queries {
			index := aws.ToString(in.IndexName)
			pk := in.ExpressionAttributeValues[":pk"].(*types.AttributeValueMemberS).Value
			if seen[index+pk] {
				t.Fatalf("cursor %q: %s %s read twice", cursor, index, pk)
			}
			seen[index+pk] = true
			var st provider.Status
			switch index {
			case IndexGSI2:
				st = provider.Status(strings.TrimPrefix(pk, statusPrefix))
			case IndexGSI3:
				st = provider.Status(strings.TrimPrefix(pk, waitingPrefix))
				if !q.Stuck || st.Terminal() {
					t.Fatalf("cursor %q: gsi3 read for %s (stuck %v)", cursor, st, q.Stuck)
				}
			default:
				t.Fatalf("cursor %q: a query on %q", cursor, index)
			}
			if !st.Valid() || q.Status != "" && st != q.Status {
				t.Fatalf("cursor %q: partition %q with the status filter %q", cursor, pk, q.Status)
			}
			p, ok := in.ExpressionAttributeValues[":pos"].(*types.AttributeValueMemberS)
			if !ok {
				continue
			}
			tm, pid, _ := strings.Cut(p.Value, "#")
			parsed, err := time.Parse(indexTimeLayout, tm)
			if err != nil || !ValidProviderID(pid) || indexSK(parsed, pid) != p.Value {
				t.Fatalf("cursor %q: position %q is not a sort key", cursor, p.Value)
			}
			if index == IndexGSI3 && p.Value >= in.ExpressionAttributeValues[":cut"].(*types.AttributeValueMemberS).Value {
				t.Fatalf("cursor %q: stuck position %q past the cut-off", cursor, p.Value)
			}
			if again, ok := expandSK(compactSK(p.Value)); !ok || again != p.Value {
				t.Fatalf("sort key %q does not round-trip: %q", p.Value, again)
			}
		}
	})
}
