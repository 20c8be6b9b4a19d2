// Command record-outcome records how a migration ended (active, declined,
// expired, failed) on the provider and tells the requester.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/store"
)

var (
	_ Store  = (*store.Store)(nil)
	_ Mailer = (*mail.SES)(nil)
)

func main() {
	log := logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	from := env.Required("MAIL_FROM")
	brand := mail.BrandFromEnv(env)
	console := env.Optional("CONSOLE_URL", "")
	public := env.Required("PUBLIC_BASE_URL")
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
		Mailer:        &mail.SES{Client: sesv2.NewFromConfig(cfg), From: from},
		Brand:         brand,
		ConsoleURL:    console,
		PublicBaseURL: public,
		Now:           func() time.Time { return time.Now().UTC() },
	}
	lambda.Start(h.Handle)
}
