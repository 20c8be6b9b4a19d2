// Command new-customer runs the steps of the new-customer state machine
// (option new): address validation, customer creation, the Microsoft
// Customer Agreement, the Azure plan order and the wait for its
// subscription, all in Partner Center with an app-only token.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/store"
)

var (
	_ Store         = (*store.Store)(nil)
	_ PartnerCenter = (*partnercenter.Client)(nil)
	_ SecretStore   = (*secret.Store)(nil)
)

func main() {
	log := logging.Setup(nil)
	ctx := context.Background()
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	template := env.Optional("MCA_TEMPLATE_ID", "117a69e3-2a16-4c1d-9d5e-6bd0e7b8c1a0")
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		log.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	pc, err := partnercenter.FromEnv(ctx, env, secretsmanager.NewFromConfig(cfg))
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:               store.New(dynamodb.NewFromConfig(cfg), table),
		PartnerCenter:       pc,
		Secrets:             &secret.Store{Client: secretsmanager.NewFromConfig(cfg)},
		AgreementTemplateID: template,
		Now:                 func() time.Time { return time.Now().UTC() },
	}
	lambda.Start(h.Handle)
}
