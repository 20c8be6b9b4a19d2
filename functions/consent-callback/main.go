// Command consent-callback serves the public consent pages: the landing page
// behind the email link (GET /consent/{invitationId}) and Microsoft's
// admin-consent redirect (GET /consent/callback).
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/partnercloud/azure/shared/awsconf"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/signin"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

var (
	_ Store          = (*store.Store)(nil)
	_ TaskResumer    = (*workflow.Tasks)(nil)
	_ TenantVerifier = (*ownership.Azure)(nil)
	_ SignIn         = (*signin.Microsoft)(nil)
)

func main() {
	log := logging.Setup(nil)
	env := config.FromOS()
	table := env.Required("TABLE_NAME")
	keyARN := env.Required("SIGNING_KEY_SECRET_ARN")
	ttl := env.Duration("STATE_TTL", 30*time.Minute)
	site := Site{
		PartnerName:     env.Optional("PARTNER_NAME", "Partner Cloud"),
		ContactEmail:    env.Optional("CONTACT_EMAIL", "cloudintegration@partner.example"),
		PartnerTenantID: env.Required("PARTNER_TENANT_ID"),
		PublicBaseURL:   env.Required("PUBLIC_BASE_URL"),
	}
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		log.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	// Reads the Azure variables into env; the partner secret only when env is clean.
	settings, settingsErr := ownership.SettingsFromEnv(ctx, env, sm)
	c := settings.Cloud()
	site.ClientID = settings.ClientID
	site.AuthorityHost = c.ActiveDirectoryAuthorityHost
	site.ResourceManager = c.Services[cloud.ResourceManager].Endpoint
	if err := errors.Join(env.Err(), site.Validate()); err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	if settingsErr != nil {
		log.Error("partner credential unavailable", "error", settingsErr.Error())
		os.Exit(1)
	}
	factory, err := settings.Factory(nil)
	if err != nil {
		log.Error("partner credential unusable", "error", err.Error(), "variable", "PARTNER_CREDENTIAL_SECRET_ARN")
		os.Exit(1)
	}
	cred, err := signin.NewCredential(settings)
	if err != nil {
		log.Error("partner credential unusable for sign-in", "error", err.Error())
		os.Exit(1)
	}
	key, err := consent.LoadKey(ctx, sm, keyARN)
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &Handler{
		Store:         store.New(dynamodb.NewFromConfig(cfg), table),
		Tasks:         &workflow.Tasks{Client: sfn.NewFromConfig(cfg)},
		Tenants:       &ownership.Azure{NewCredential: factory, Options: settings.ARMOptions(nil)},
		SignIn:        &signin.Microsoft{Authority: site.AuthorityHost, ClientID: site.ClientID, RedirectURI: site.RedirectURI(), Credential: cred},
		Key:           key,
		Site:          site,
		StateTTL:      ttl,
		Now:           func() time.Time { return time.Now().UTC() },
		RetryDelay:    500 * time.Millisecond,
		VerifyTimeout: 5 * time.Second,
		ReplayWait:    2 * time.Second,
	}
	slog.Info("consent-callback ready")
	lambda.Start(h.Handle)
}
