// Command resend-invitation is the Lambda function of
// POST /providers/{id}/resend: the consent email again, same link and expiry.
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
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/store"
)

var (
	_ Store  = (*store.Store)(nil)
	_ Mailer = (*mail.SES)(nil)
)

func main() {
	logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	baseURL := env.Required("PUBLIC_BASE_URL")
	from := env.Required("MAIL_FROM")
	keyARN := env.Required("SIGNING_KEY_SECRET_ARN")
	brand := mail.BrandFromEnv(env)
	interval := env.Duration("RESEND_INTERVAL", DefaultInterval)
	if err := env.Err(); err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	ctx := context.Background()
	awsCfg, err := awsconf.Load(ctx)
	if err != nil {
		slog.Error("cannot load the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	key, err := consent.LoadKey(ctx, secretsmanager.NewFromConfig(awsCfg), keyARN)
	if err != nil {
		slog.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:    store.New(dynamodb.NewFromConfig(awsCfg), table),
		Mailer:   &mail.SES{Client: sesv2.NewFromConfig(awsCfg), From: from},
		Key:      key,
		BaseURL:  baseURL,
		Brand:    brand,
		Interval: interval,
		Now:      func() time.Time { return time.Now().UTC() },
	}
	lambda.Start(api.Handle(h.Handle))
}
