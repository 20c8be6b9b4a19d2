// Command delete-provider is the Lambda function of DELETE /providers/{id}:
// it deletes a finished or cancelled provider and its credential secret.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/store"
)

var (
	_ Store         = (*store.Store)(nil)
	_ SecretDeleter = (*secret.Store)(nil)
)

func main() {
	logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	if err := env.Err(); err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconf.Load(context.Background())
	if err != nil {
		slog.Error("cannot load the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:   store.New(dynamodb.NewFromConfig(awsCfg), table),
		Secrets: &secret.Store{Client: secretsmanager.NewFromConfig(awsCfg)},
	}
	lambda.Start(api.Handle(h.Handle))
}
