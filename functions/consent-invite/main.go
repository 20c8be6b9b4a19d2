// Command consent-invite is the AwaitConsent task of the migration state
// machine: it keeps the task token behind the invitation and sends the
// consent email, or a reminder when one is due.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

var (
	_ Store       = (*store.Store)(nil)
	_ Mailer      = (*mail.SES)(nil)
	_ TaskResumer = (*workflow.Tasks)(nil)
)

func main() {
	log := logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	baseURL := env.Required("PUBLIC_BASE_URL")
	from := env.Required("MAIL_FROM")
	keyARN := env.Required("SIGNING_KEY_SECRET_ARN")
	brand := mail.BrandFromEnv(env)
	schedule := consent.Schedule{
		Expiry:    env.Duration("INVITATION_EXPIRY", consent.DefaultSchedule.Expiry),
		Reminders: env.Durations("INVITATION_REMINDERS", consent.DefaultSchedule.Reminders),
	}
	if err := env.Err(); err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		log.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	key, err := consent.LoadKey(ctx, secretsmanager.NewFromConfig(cfg), keyARN)
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:    store.New(dynamodb.NewFromConfig(cfg), table),
		Mailer:   &mail.SES{Client: sesv2.NewFromConfig(cfg), From: from},
		Tasks:    &workflow.Tasks{Client: sfn.NewFromConfig(cfg)},
		Key:      key,
		Schedule: schedule,
		BaseURL:  baseURL,
		Brand:    brand,
		Now:      func() time.Time { return time.Now().UTC() },
	}
	slog.Info("consent-invite ready")
	lambda.Start(h.Handle)
}
