// Command create-provider is the Lambda function of POST /providers.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

var (
	_ ProviderCreator  = (*store.Store)(nil)
	_ ExecutionStarter = (*workflow.Executions)(nil)
	_ CredentialProver = (*ownership.CustomerCredentials)(nil)
	_ SecretStore      = (*secret.Store)(nil)
	_ DomainChecker    = (*partnercenter.Client)(nil)
)

func main() {
	logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	stateMachine := env.Required("STATE_MACHINE_ARN")
	newCustomerMachine := env.Required("NEW_CUSTOMER_STATE_MACHINE_ARN")
	// The Azure endpoints (the local cloud points them at its double).
	azure := ownership.Settings{
		AuthorityHost:   env.Optional("AZURE_AUTHORITY_HOST", ""),
		ResourceManager: env.Optional("AZURE_RESOURCE_MANAGER_ENDPOINT", ""),
	}
	terms, termsErr := account.TermsFromEnv(env)
	contact := env.Optional("CONTACT_EMAIL", account.DefaultContact)
	var contactErr error
	if msg := provider.ValidateEmail(contact); msg != "" {
		contactErr = errors.New("environment variable CONTACT_EMAIL " + msg)
	}
	if err := errors.Join(env.Err(), termsErr, contactErr, azure.ValidateEndpoints()); err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := awsconf.Load(context.Background())
	if err != nil {
		slog.Error("cannot load the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	// Partner Center (option new's domain check), with the partner app's
	// credential in the partner tenant.
	pc, err := partnercenter.FromEnv(context.Background(), env, secretsmanager.NewFromConfig(awsCfg))
	if err != nil {
		slog.Error("invalid Partner Center configuration", "error", err.Error())
		os.Exit(1)
	}
	pc.MaxRetries = 2 // within the request, under API Gateway's 30 s
	pc.MaxRetryAfter = 5 * time.Second
	sfnClient := sfn.NewFromConfig(awsCfg)
	h := &Handler{
		Store:        store.New(dynamodb.NewFromConfig(awsCfg), table),
		Executions:   &workflow.Executions{Client: sfnClient, StateMachineARN: stateMachine},
		NewCustomers: &workflow.Executions{Client: sfnClient, StateMachineARN: newCustomerMachine},
		Domains:      pc,
		Prover:       &ownership.CustomerCredentials{Settings: azure},
		Secrets:      &secret.Store{Client: secretsmanager.NewFromConfig(awsCfg)},
		Terms:        terms,
		Contact:      contact,
		Now:          time.Now,
	}
	lambda.Start(api.Handle(h.Handle))
}
