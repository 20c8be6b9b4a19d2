package store

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
)

// The gsi4 index lists the active providers, for the scheduled health
// checks: a provider item carries gsi4pk ACTIVE (and gsi4sk its id) while
// its status is active, and nothing otherwise, so the index is sparse and
// holds only what the checks read (keys only). Every write of a provider
// puts the whole item, so the keys come and go with the status.
const activeGSI4PK = "ACTIVE"

// ProviderRef names one provider.
type ProviderRef struct {
	AccountID  string `json:"accountId"`
	ProviderID string `json:"providerId"`
}

// ListActive returns up to limit (1..100) active providers, oldest first,
// through gsi4, and the cursor of the next page ("" on the last). A cursor
// that is not one this method returned is invalid_request. The index is
// eventually consistent: a provider activated a moment ago may be missing
// from this run, and is in the next.
func (s *Store) ListActive(ctx context.Context, limit int, cursor string) ([]ProviderRef, string, error) {
	limit = min(max(limit, MinListLimit), MaxListLimit)
	in := s.activeQuery()
	if cursor != "" {
		start, err := decodeActiveCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = activeKey(start)
	}
	items, err := s.queryUpTo(ctx, in, limit+1)
	if err != nil {
		return nil, "", apperr.Wrap(err, "query gsi4")
	}
	refs := make([]ProviderRef, 0, min(len(items), limit))
	for _, item := range items {
		a, p, ok := ProviderKey(keyString(item[AttrPK]), keyString(item[AttrSK]))
		if ok {
			refs = append(refs, ProviderRef{AccountID: a, ProviderID: p})
		}
	}
	next := ""
	if len(refs) > limit {
		refs = refs[:limit]
		next = encodeActiveCursor(refs[limit-1])
	}
	return refs, next, nil
}

// CountActive counts the active providers (gsi4, keys only: a count of
// thousands reads a few pages of keys).
func (s *Store) CountActive(ctx context.Context) (int, error) {
	in := s.activeQuery()
	in.Select = types.SelectCount
	n := 0
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return 0, apperr.Wrap(err, "count gsi4")
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (s *Store) activeQuery() *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexGSI4),
		KeyConditionExpression:    aws.String("#g = :g"),
		ExpressionAttributeNames:  map[string]string{"#g": AttrGSI4PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": str(activeGSI4PK)},
	}
}

// activeKey is the index key of a provider, as ExclusiveStartKey.
func activeKey(r ProviderRef) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrGSI4PK: str(activeGSI4PK), AttrGSI4SK: str(r.ProviderID),
		AttrPK: str(accountPK(r.AccountID)), AttrSK: str(providerSK(r.ProviderID)),
	}
}

func encodeActiveCursor(r ProviderRef) string {
	raw, _ := json.Marshal(r)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeActiveCursor(cursor string) (ProviderRef, error) {
	var r ProviderRef
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(raw, &r)
	}
	if err != nil || r.AccountID == "" || !ValidProviderID(r.ProviderID) {
		return ProviderRef{}, apperr.New(apperr.InvalidRequest, "The cursor is not valid; start again from the first page.",
			apperr.Detail{Field: "cursor", Code: "invalid", Message: "use the cursor of a previous page"})
	}
	return r, nil
}
