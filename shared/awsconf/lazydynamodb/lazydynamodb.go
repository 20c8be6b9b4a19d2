// Package lazydynamodb is the DynamoDB client of the functions (store.DynamoDBAPI),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_DYNAMODB), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, so that the
// binary keeps only the operations called here.
package lazydynamodb

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/store"
)

// Client is a DynamoDB client whose SDK client is built on the first call.
type Client struct {
	getItem            func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	putItem            func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	updateItem         func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	deleteItem         func(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	query              func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	transactWriteItems func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// New returns a client for cfg; nothing is built until the first call.
func New(cfg *awsconf.Config) *Client {
	var (
		once sync.Once
		c    *dynamodb.Client
	)
	client := func() *dynamodb.Client {
		once.Do(func() { c = dynamodb.NewFromConfig(cfg.For("DYNAMODB")) })
		return c
	}
	return &Client{
		getItem: func(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
			return client().GetItem(ctx, in, opts...)
		},
		putItem: func(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
			return client().PutItem(ctx, in, opts...)
		},
		updateItem: func(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
			return client().UpdateItem(ctx, in, opts...)
		},
		deleteItem: func(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
			return client().DeleteItem(ctx, in, opts...)
		},
		query: func(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
			return client().Query(ctx, in, opts...)
		},
		transactWriteItems: func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
			return client().TransactWriteItems(ctx, in, opts...)
		},
	}
}

// GetItem calls the SDK client's GetItem.
func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return c.getItem(ctx, in, opts...)
}

// PutItem calls the SDK client's PutItem.
func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return c.putItem(ctx, in, opts...)
}

// UpdateItem calls the SDK client's UpdateItem.
func (c *Client) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return c.updateItem(ctx, in, opts...)
}

// DeleteItem calls the SDK client's DeleteItem.
func (c *Client) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return c.deleteItem(ctx, in, opts...)
}

// Query calls the SDK client's Query.
func (c *Client) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return c.query(ctx, in, opts...)
}

// TransactWriteItems calls the SDK client's TransactWriteItems.
func (c *Client) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return c.transactWriteItems(ctx, in, opts...)
}

// Store is the product's store on a client for cfg, in the table
// TABLE_NAME (recorded in env when unset).
func Store(env *config.Env, cfg *awsconf.Config) *store.Store {
	return store.New(New(cfg), env.Required("TABLE_NAME"))
}
