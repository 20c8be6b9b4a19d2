// Command create-provider is the Lambda function of POST /providers.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

var (
	_ ProviderCreator  = (*store.Store)(nil)
	_ ExecutionStarter = (*workflow.Executions)(nil)
)

func main() {
	logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	stateMachine := env.Required("STATE_MACHINE_ARN")
	terms, termsErr := account.TermsFromEnv(env)
	contact := env.Optional("CONTACT_EMAIL", account.DefaultContact)
	var contactErr error
	if msg := provider.ValidateEmail(contact); msg != "" {
		contactErr = errors.New("environment variable CONTACT_EMAIL " + msg)
	}
	if err := errors.Join(env.Err(), termsErr, contactErr); err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		slog.Error("cannot load the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:      store.New(dynamodb.NewFromConfig(awsCfg), table),
		Executions: &workflow.Executions{Client: sfn.NewFromConfig(awsCfg), StateMachineARN: stateMachine},
		Terms:      terms,
		Contact:    contact,
		Now:        time.Now,
	}
	lambda.Start(api.Handle(h.Handle))
}
