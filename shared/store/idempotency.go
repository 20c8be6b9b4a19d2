package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
)

// IdempotencyTTL is how long an idempotency key is remembered.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKeyLen bounds a key so its sort key stays well within
// DynamoDB's limits; longer keys are invalid_request.
const MaxIdempotencyKeyLen = 255

// ErrIdempotencyKeyUsed is returned by CreateProvider when the account already
// used the idempotency key (and it has not expired); the caller then reads the
// record with GetIdempotency to replay or refuse.
var ErrIdempotencyKeyUsed = errors.New("store: idempotency key already used")

// IdempotencyRecord remembers which provider a create request with an
// Idempotency-Key made, and a hash of its body.
type IdempotencyRecord struct {
	Key, BodyHash, ProviderID string
	CreatedAt                 time.Time
}

// idempotencyItem is the stored form of an IdempotencyRecord.
type idempotencyItem struct {
	Key        string    `dynamodbav:"key"`
	BodyHash   string    `dynamodbav:"bodyHash"`
	ProviderID string    `dynamodbav:"providerId"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	ExpiresAt  int64     `dynamodbav:"expiresAt"`
}

func idempotencySK(key string) string { return idempotencyPrefix + key }

// checkIdempotencyKey rejects an empty or over-long key.
func checkIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return apperr.New(apperr.InvalidRequest, "The Idempotency-Key header is invalid.",
			apperr.Detail{Field: "Idempotency-Key", Code: "invalid", Message: fmt.Sprintf("1 to %d characters", MaxIdempotencyKeyLen)})
	}
	return nil
}

// GetIdempotency returns the account's record of key, or nil, nil when there
// is none or it expired (TTL deletion is lazy, so expiry is checked here).
func (s *Store) GetIdempotency(ctx context.Context, accountID, key string) (*IdempotencyRecord, error) {
	if err := requireAccount(accountID); err != nil {
		return nil, err
	}
	if err := checkIdempotencyKey(key); err != nil {
		return nil, err
	}
	item, err := s.getItem(ctx, keyOf(accountID, idempotencySK(key)))
	if err != nil {
		return nil, apperr.Wrap(err, "get idempotency record")
	}
	if item == nil {
		return nil, nil
	}
	var rec idempotencyItem
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return nil, apperr.Undecodable(err, "decode idempotency record")
	}
	if s.now().Unix() >= rec.ExpiresAt {
		return nil, nil
	}
	return &IdempotencyRecord{Key: rec.Key, BodyHash: rec.BodyHash, ProviderID: rec.ProviderID, CreatedAt: rec.CreatedAt}, nil
}

// idempotencyPut builds the transaction item that writes the record. It
// succeeds when no record exists or the existing one expired but was not yet
// deleted by TTL.
func (s *Store) idempotencyPut(accountID string, rec *IdempotencyRecord, now time.Time) (types.TransactWriteItem, error) {
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now
	}
	item, err := attributevalue.MarshalMap(idempotencyItem{
		Key: rec.Key, BodyHash: rec.BodyHash, ProviderID: rec.ProviderID,
		CreatedAt: rec.CreatedAt.UTC(), ExpiresAt: now.Add(IdempotencyTTL).Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	addKey(item, accountID, idempotencySK(rec.Key))
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#exp": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}},
	}}, nil
}

// idempotencyLive reports whether an unexpired record of key exists.
func (s *Store) idempotencyLive(ctx context.Context, accountID, key string) (bool, error) {
	rec, err := s.GetIdempotency(ctx, accountID, key)
	return rec != nil, err
}
