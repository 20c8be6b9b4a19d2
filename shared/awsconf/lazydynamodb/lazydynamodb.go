// Package lazydynamodb is the DynamoDB client of the functions, built on its
// first call from the function's awsconf.Config (endpoint
// AWS_ENDPOINT_URL_DYNAMODB). It has the operations the product calls (store.DynamoDBAPI).
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
	client := sync.OnceValue(func() *dynamodb.Client { return dynamodb.NewFromConfig(cfg.For("DYNAMODB")) })
	return &Client{
		getItem:            awsconf.Op(client, (*dynamodb.Client).GetItem),
		putItem:            awsconf.Op(client, (*dynamodb.Client).PutItem),
		updateItem:         awsconf.Op(client, (*dynamodb.Client).UpdateItem),
		deleteItem:         awsconf.Op(client, (*dynamodb.Client).DeleteItem),
		query:              awsconf.Op(client, (*dynamodb.Client).Query),
		transactWriteItems: awsconf.Op(client, (*dynamodb.Client).TransactWriteItems),
	}
}

// GetItem calls dynamodb.Client.GetItem.
func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return c.getItem(ctx, in, opts...)
}

// PutItem calls dynamodb.Client.PutItem.
func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return c.putItem(ctx, in, opts...)
}

// UpdateItem calls dynamodb.Client.UpdateItem.
func (c *Client) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return c.updateItem(ctx, in, opts...)
}

// DeleteItem calls dynamodb.Client.DeleteItem.
func (c *Client) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return c.deleteItem(ctx, in, opts...)
}

// Query calls dynamodb.Client.Query.
func (c *Client) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return c.query(ctx, in, opts...)
}

// TransactWriteItems calls dynamodb.Client.TransactWriteItems.
func (c *Client) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return c.transactWriteItems(ctx, in, opts...)
}

// Store is the product's store on a client for cfg, in the table
// TABLE_NAME (recorded in env when unset).
func Store(env *config.Env, cfg *awsconf.Config) *store.Store {
	return store.New(New(cfg), env.Required("TABLE_NAME"))
}
