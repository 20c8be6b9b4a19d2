// Command initial-credentials serves GET and POST
// /providers/{id}/initial-credentials: a new customer tenant's initial
// administrator credentials, shown once through the single-use, expiring link
// of the completion email (GET shows a button, its POST shows the credentials).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/store"
)

var _ Store = (*store.Store)(nil)

// secrets reads with secret.Get and deletes with secret.Store.
type secrets struct {
	client *secretsmanager.Client
}

func (s secrets) Get(ctx context.Context, arn string) ([]byte, error) {
	return secret.Get(ctx, s.client, arn)
}

func (s secrets) Delete(ctx context.Context, arn string) error {
	return (&secret.Store{Client: s.client}).Delete(ctx, arn)
}

func main() {
	log := logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	publicBaseURL := env.Optional("PUBLIC_BASE_URL", "")
	if err := env.Err(); err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		log.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:         store.New(dynamodb.NewFromConfig(cfg), table),
		Secrets:       secrets{client: secretsmanager.NewFromConfig(cfg)},
		Now:           func() time.Time { return time.Now().UTC() },
		PublicBaseURL: publicBaseURL,
	}
	lambda.Start(api.Handle(h.Handle))
}
