// Command check-ownership is the CheckOwnership task of the migration state
// machine: it checks, in the customer tenant, that the partner principal
// holds Owner on every subscription to be moved.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/store"
)

var (
	_ Store            = (*store.Store)(nil)
	_ OwnershipChecker = (*ownership.Azure)(nil)
	_ Mailer           = (*mail.SES)(nil)
)

func main() {
	log := logging.Setup(nil)
	ctx := context.Background()
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	from := env.Required("MAIL_FROM")
	reps := env.Required("REPRESENTATIVES_EMAIL")
	deadline := env.Duration("OWNERSHIP_DEADLINE", 30*24*time.Hour)
	warning := env.Duration("OWNERSHIP_WARNING", 36*time.Hour)
	brand := mail.BrandFromEnv(env)
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		log.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	settings, err := ownership.SettingsFromEnv(ctx, env, secretsmanager.NewFromConfig(cfg))
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	factory, err := settings.Factory(nil)
	if err != nil {
		log.Error("invalid Azure credential configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:           store.New(dynamodb.NewFromConfig(cfg), table),
		Checker:         &ownership.Azure{NewCredential: factory, Options: settings.ARMOptions(nil)},
		Mailer:          &mail.SES{Client: sesv2.NewFromConfig(cfg), From: from},
		Brand:           brand,
		Representatives: reps,
		Deadline:        deadline,
		Warning:         warning,
		Now:             func() time.Time { return time.Now().UTC() },
	}
	lambda.Start(h.Handle)
}
