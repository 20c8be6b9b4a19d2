// Package store is the DynamoDB state adapter of the product: accounts, terms
// acceptances, providers, their unique names and idempotency records, all in
// one table.
//
// Every item of an account lives in the partition ACCOUNT#<accountId>, and
// every method that touches account data takes the caller's account id and
// builds the partition key from it, so one account can never address another
// account's items. The reads across accounts are the operators': FindProvider
// (by provider id alone, through gsi1) and ListOperatorProviders (by status,
// through gsi2 and gsi3).
//
// Item layout (pk / sk):
//
//	ACCOUNT#<a> / ACCOUNT                       account.Account
//	ACCOUNT#<a> / TERMS#<document>#<version>    account.Acceptance (first one kept)
//	ACCOUNT#<a> / PROVIDER#<providerId>         provider.Provider (+ gsi1pk PROVIDER#<id>, gsi1sk PROVIDER;
//	                                            gsi2pk STATUS#<status>, gsi2sk <updatedAt>#<id>;
//	                                            while open, gsi3pk WAITING#<status>, gsi3sk <waitingSince>#<id>)
//	                                            while active, gsi4pk ACTIVE, gsi4sk <id>)
//	ACCOUNT#<a> / NAME#<lower-cased name>       name claim: providerId
//	ACCOUNT#<a> / IDEMPOTENCY#<key>             idempotency record (TTL expiresAt)
package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
)

// Attribute and index names of the table (mirrored in template.yaml).
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrGSI1PK    = "gsi1pk"
	AttrGSI1SK    = "gsi1sk"
	IndexGSI1     = "gsi1"
	AttrGSI2PK    = "gsi2pk"
	AttrGSI2SK    = "gsi2sk"
	IndexGSI2     = "gsi2"
	AttrGSI3PK    = "gsi3pk"
	AttrGSI3SK    = "gsi3sk"
	IndexGSI3     = "gsi3"
	AttrGSI4PK    = "gsi4pk"
	AttrGSI4SK    = "gsi4sk"
	IndexGSI4     = "gsi4"
	TTLAttribute  = "expiresAt"
	attrVersion   = "version"
	attrProvider  = "providerId"
	attrAccountID = "accountId"
)

// Key prefixes and fixed sort keys.
const (
	accountPrefix     = "ACCOUNT#"
	accountSK         = "ACCOUNT"
	termsPrefix       = "TERMS#"
	providerPrefix    = "PROVIDER#"
	providerGSI1SK    = "PROVIDER"
	statusPrefix      = "STATUS#"
	waitingPrefix     = "WAITING#"
	namePrefix        = "NAME#"
	idempotencyPrefix = "IDEMPOTENCY#"
)

// DynamoDBAPI is the subset of *dynamodb.Client the store calls.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

// Store reads and writes the product's state in one DynamoDB table.
type Store struct {
	client DynamoDBAPI
	table  string
	// Now is the clock used for createdAt, updatedAt and expiresAt. It
	// defaults to time.Now; tests may replace it before first use.
	Now func() time.Time
}

// New returns a Store over the named table.
func New(client DynamoDBAPI, table string) *Store {
	return &Store{client: client, table: table, Now: time.Now}
}

// now returns the store's clock reading in UTC (without a monotonic reading,
// so values round-trip through DynamoDB unchanged).
func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// CreateTableInput describes the table as template.yaml does: keys pk/sk,
// the gsi1 index (keys only), the operators' gsi2 and gsi3 (all attributes,
// see ListOperatorProviders), the health checks' gsi4 (keys only, see
// ListActive) and on-demand billing. Time to live on TTLAttribute is set
// separately (UpdateTimeToLive, or TimeToLiveSpecification in the
// template).
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(n string, t types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(n), KeyType: t}
	}
	attrs := []types.AttributeDefinition{str(AttrPK), str(AttrSK), str(AttrGSI1PK), str(AttrGSI1SK),
		str(AttrGSI2PK), str(AttrGSI2SK), str(AttrGSI3PK), str(AttrGSI3SK), str(AttrGSI4PK), str(AttrGSI4SK)}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attrs,
		KeySchema:            []types.KeySchemaElement{key(AttrPK, types.KeyTypeHash), key(AttrSK, types.KeyTypeRange)},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(IndexGSI1),
			KeySchema:  []types.KeySchemaElement{key(AttrGSI1PK, types.KeyTypeHash), key(AttrGSI1SK, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}, {
			IndexName:  aws.String(IndexGSI2),
			KeySchema:  []types.KeySchemaElement{key(AttrGSI2PK, types.KeyTypeHash), key(AttrGSI2SK, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}, {
			IndexName:  aws.String(IndexGSI3),
			KeySchema:  []types.KeySchemaElement{key(AttrGSI3PK, types.KeyTypeHash), key(AttrGSI3SK, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}, {
			IndexName:  aws.String(IndexGSI4),
			KeySchema:  []types.KeySchemaElement{key(AttrGSI4PK, types.KeyTypeHash), key(AttrGSI4SK, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	}
}

// accountPK is the partition key of every item of an account.
func accountPK(accountID string) string { return accountPrefix + accountID }

// key builds a primary key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

// keyOf builds the primary key of an account's item.
func keyOf(accountID, sk string) map[string]types.AttributeValue {
	return key(accountPK(accountID), sk)
}

// addKey sets the primary key of an account's item on item.
func addKey(item map[string]types.AttributeValue, accountID, sk string) {
	item[AttrPK] = str(accountPK(accountID))
	item[AttrSK] = str(sk)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// requireAccount rejects an empty account id: a programming error, never a
// client's.
func requireAccount(accountID string) error {
	if accountID == "" {
		return apperr.Wrap(errors.New("empty account id"), "store")
	}
	return nil
}

// isConditionFailed reports whether err is a failed condition of a single-item write.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// getItem reads one item with a strongly consistent read; nil when absent.
func (s *Store) getItem(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// queryPrefix returns every item of a partition whose sort key begins with prefix.
func (s *Store) queryPrefix(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#sk": AttrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":prefix": str(prefix)},
		ConsistentRead:            aws.Bool(true),
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
