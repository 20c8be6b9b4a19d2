// Package lazydynamodb is the DynamoDB client of the functions (store.DynamoDBAPI),
// built on its first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_DYNAMODB), and the product's adapters on it.
//
// The SDK client is reached only through closures (see awsconf), never
// through a field, an interface or a generic type argument, and each
// adapter's client has only the operations that adapter calls, so that a
// binary keeps only those.
package lazydynamodb

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/store"
)

// Client is a DynamoDB client whose SDK client is built on the first call.
// An operation its constructor did not give it fails with an error.
type Client struct {
	getItem            func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	putItem            func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	updateItem         func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	deleteItem         func(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	query              func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	transactWriteItems func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// New returns a client with every operation for cfg; nothing is built
// until the first call.
func New(cfg *awsconf.Config) *Client {
	client := sdkClient(cfg)
	return &Client{
		getItem:            getItem(client),
		putItem:            putItem(client),
		updateItem:         updateItem(client),
		deleteItem:         deleteItem(client),
		query:              query(client),
		transactWriteItems: transactWriteItems(client),
	}
}

// Store is the product's store on a client for cfg, in the table
// TABLE_NAME (recorded in env when unset).
func Store(env *config.Env, cfg *awsconf.Config) *store.Store {
	return store.New(New(cfg), env.Required("TABLE_NAME"))
}

// GetItem calls the SDK client's GetItem.
func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if c.getItem == nil {
		return nil, missing("GetItem")
	}
	return c.getItem(ctx, in, opts...)
}

// PutItem calls the SDK client's PutItem.
func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if c.putItem == nil {
		return nil, missing("PutItem")
	}
	return c.putItem(ctx, in, opts...)
}

// UpdateItem calls the SDK client's UpdateItem.
func (c *Client) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.updateItem == nil {
		return nil, missing("UpdateItem")
	}
	return c.updateItem(ctx, in, opts...)
}

// DeleteItem calls the SDK client's DeleteItem.
func (c *Client) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if c.deleteItem == nil {
		return nil, missing("DeleteItem")
	}
	return c.deleteItem(ctx, in, opts...)
}

// Query calls the SDK client's Query.
func (c *Client) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if c.query == nil {
		return nil, missing("Query")
	}
	return c.query(ctx, in, opts...)
}

// TransactWriteItems calls the SDK client's TransactWriteItems.
func (c *Client) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.transactWriteItems == nil {
		return nil, missing("TransactWriteItems")
	}
	return c.transactWriteItems(ctx, in, opts...)
}

// sdkClient builds the SDK client on its first call, once.
func sdkClient(cfg *awsconf.Config) func() *dynamodb.Client {
	var (
		once sync.Once
		c    *dynamodb.Client
	)
	return func() *dynamodb.Client {
		once.Do(func() { c = dynamodb.NewFromConfig(cfg.For("DYNAMODB")) })
		return c
	}
}

func getItem(client func() *dynamodb.Client) func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return func(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
		return client().GetItem(ctx, in, opts...)
	}
}

func putItem(client func() *dynamodb.Client) func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return func(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
		return client().PutItem(ctx, in, opts...)
	}
}

func updateItem(client func() *dynamodb.Client) func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return func(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
		return client().UpdateItem(ctx, in, opts...)
	}
}

func deleteItem(client func() *dynamodb.Client) func(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return func(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
		return client().DeleteItem(ctx, in, opts...)
	}
}

func query(client func() *dynamodb.Client) func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return func(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
		return client().Query(ctx, in, opts...)
	}
}

func transactWriteItems(client func() *dynamodb.Client) func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
		return client().TransactWriteItems(ctx, in, opts...)
	}
}

func missing(op string) error {
	return fmt.Errorf("lazydynamodb: this client was made without %s", op)
}
