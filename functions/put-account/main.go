// Command put-account is the Lambda function of PUT /accounts/{accountId}.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/store"
)

var _ AccountWriter = (*store.Store)(nil)

func main() {
	logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	operatorRole, roleErr := api.OperatorRoleFromEnv(env)
	if err := errors.Join(env.Err(), roleErr); err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconf.Load(context.Background())
	if err != nil {
		slog.Error("cannot load the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{Store: store.New(dynamodb.NewFromConfig(awsCfg), table), Now: time.Now, OperatorRole: operatorRole}
	lambda.Start(api.Handle(h.Handle))
}
