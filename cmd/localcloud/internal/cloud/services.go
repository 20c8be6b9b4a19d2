package cloud

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/eventbridge"
	"github.com/partnercloud/azure/cmd/localcloud/internal/microsoft"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/cmd/localcloud/internal/secrets"
	"github.com/partnercloud/azure/cmd/localcloud/internal/ses"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions"
	"github.com/partnercloud/azure/cmd/localcloud/internal/sts"
)

// The product's emulators, started by Start in this order before any extra
// Options.Services: the Microsoft double (its URL and scenario feed template
// parameters), Secrets Manager (the template's secrets and the partner app's
// credential), SES with its outbox page, Step Functions (the template's
// state machines, resolved with every local parameter), and EventBridge
// (the default bus and the template's event buses).

// Files in the state directory.
const (
	// CAFile is the Microsoft double's CA certificate (PEM); every function
	// trusts it through SSL_CERT_FILE.
	CAFile = "microsoft-ca.pem"
	// OutboxDir holds the .eml files of the emails sent.
	OutboxDir = "outbox"
)

// Extra keys of endpoints.json.
const (
	// EndpointMicrosoftCA is the path of the Microsoft double's CA PEM.
	EndpointMicrosoftCA = "microsoftCA"
	// EndpointTimeScale is the time scale the cloud runs with (a number).
	EndpointTimeScale = "timeScale"
	// EndpointTable is the name of the product's DynamoDB table (the one
	// the scenario's accounts are written to).
	EndpointTable = "table"
	// EndpointSTS is the STS endpoint (GetCallerIdentity, for checking an
	// AWS CLI or SDK configuration), served beside Secrets Manager.
	EndpointSTS = "sts"
)

// Template parameters the local cloud sets so that the functions talk to the
// local services with no local branches in their code. A parameter is only
// set when the template declares it and Options.Parameters does not.
const (
	ParamAzureClientID                = "AzureClientId"                 // the scenario's partner app
	ParamAzureAuthorityHost           = "AzureAuthorityHost"            // the Microsoft double's URL + "/"
	ParamAzureResourceManagerEndpoint = "AzureResourceManagerEndpoint"  // the Microsoft double's URL
	ParamPartnerTenantID              = "PartnerTenantId"               // the scenario's partner tenant
	ParamPartnerCredentialSecretArn   = "PartnerCredentialSecretArn"    // PartnerCredentialSecretName's ARN
	ParamPublicBaseURL                = "PublicBaseUrl"                 // the API's URL
	ParamPartnerCenterEndpoint        = "PartnerCenterEndpoint"         // the Microsoft double's URL (it serves /v1)
	ParamGraphEndpoint                = "GraphEndpoint"                 // the Microsoft double's URL (it serves /v1.0)
	ParamAdminCenterURL               = "AdminCenterUrl"                // the Microsoft double's URL (its admin center pages)
	ParamWebhookCertHosts             = "PartnerCenterWebhookCertHosts" // the Microsoft double's host:port (it serves the signing certificate)
	ParamGdapSecurityGroupID          = "GdapSecurityGroupId"           // LocalSecurityGroupID
	ParamAzurePortalURL               = "AzurePortalUrl"                // the Microsoft double's URL (its transfer request pages)
	ParamBillingAccountID             = "BillingAccountId"              // the double's partner billing account
	ParamBillingProfileID             = "BillingProfileId"              // the double's partner billing profile
)

// LocalSecurityGroupID is the partner security group the local cloud
// configures for the GDAP access assignment (the double accepts any group
// id), so that the assignment step runs locally as it does for a partner
// who configures one.
const LocalSecurityGroupID = "10000000-0000-4000-8000-0000000000c1"

// WebhookPath is the product's Partner Center webhook route; the local
// cloud registers it at the Microsoft double, as the partner does once at
// Partner Center.
const WebhookPath = "/webhooks/partner-center"

// ParamMailFromIdentity is the template parameter naming the SES identity
// the product sends from; the local SES reports it verified.
const ParamMailFromIdentity = "MailFromIdentity"

// parameterValue is a template parameter's value in use: the cloud's, or
// the template's default; "" when the template does not declare it.
func (c *Cloud) parameterValue(name string) string {
	if v, ok := c.params[name]; ok {
		return v
	}
	if p, ok := c.Template().Parameters[name]; ok {
		return p.Default
	}
	return ""
}

// PartnerCredentialSecretName is the local secret holding the partner app's
// client secret (from the scenario); PartnerCredentialSecretArn points at it.
const PartnerCredentialSecretName = "partner-azure-credential"

// builtinServices binds the ports of the product's emulators, so that a busy
// port fails before the build, and returns them in start order. On error the
// listeners already bound are closed.
func (c *Cloud) builtinServices() (_ []Service, err error) {
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
	listen := func(addr, flag string) net.Listener {
		if err != nil {
			return nil
		}
		var ln net.Listener
		if ln, err = Listen(addr, flag); err == nil {
			lns = append(lns, ln)
		}
		return ln
	}
	o := c.opts
	ms := &microsoftService{ln: listen(o.MicrosoftAddr, FlagMicrosoftAddr)}
	sm := &secretsService{ln: listen(o.SecretsManagerAddr, FlagSecretsManagerAddr)}
	em := &sesService{apiLn: listen(o.SESAddr, FlagSESAddr), pageLn: listen(o.OutboxAddr, FlagOutboxAddr)}
	sf := &stepFunctionsService{ln: listen(o.StepFunctionsAddr, FlagStepFunctionsAddr)}
	ev := &eventsService{ln: listen(o.EventsAddr, FlagEventsAddr)}
	if err != nil {
		return nil, err
	}
	return []Service{ms, sm, em, sf, ev}, nil
}

// serve serves h on ln until the returned server is shut down.
func serve(ln net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// shutdown stops srv, or closes ln when srv never started.
func shutdown(srv *http.Server, ln net.Listener) error {
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}
	if ln != nil {
		return ln.Close()
	}
	return nil
}

// microsoftService is the Microsoft cloud double over TLS (HTTP/2 offered, as
// the Azure SDK needs), with a CA made at start-up.
type microsoftService struct {
	ln     net.Listener
	srv    *http.Server
	Double *microsoft.Server
	CA     *microsoft.CA
}

func (s *microsoftService) Name() string { return "microsoft" }

func (s *microsoftService) Start(_ context.Context, c *Cloud) (Endpoint, error) {
	sc, err := microsoft.LoadScenario(c.ScenarioPath())
	if err != nil {
		return Endpoint{}, fmt.Errorf("scenario %s: %w", c.ScenarioPath(), err)
	}
	if s.Double, err = microsoft.New(sc, microsoft.Options{}); err != nil {
		return Endpoint{}, err
	}
	if s.CA, err = microsoft.NewCA(filepath.Join(c.StateDir(), CAFile)); err != nil {
		return Endpoint{}, err
	}
	// Partner Center's webhook events are signed with a certificate of the
	// local CA (which the functions trust), and sent to the product's API.
	if err := s.Double.UseCA(s.CA); err != nil {
		return Endpoint{}, err
	}
	if api := c.APIURL(); api != "" {
		if err := s.Double.RegisterWebhook(api+WebhookPath, nil); err != nil {
			return Endpoint{}, fmt.Errorf("register the Partner Center webhook: %w", err)
		}
	}
	s.srv = &http.Server{Handler: s.Double, TLSConfig: s.CA.ServerTLSConfig(), ReadHeaderTimeout: 10 * time.Second}
	// ServeTLS with the certificate in TLSConfig configures HTTP/2.
	go func() { _ = s.srv.ServeTLS(s.ln, "", "") }()
	url := "https://" + s.ln.Addr().String()
	return Endpoint{
		Key: EndpointMicrosoft, URL: url,
		Extra: map[string]string{EndpointMicrosoftCA: s.CA.Path},
		Env:   map[string]string{"SSL_CERT_FILE": s.CA.Path},
		Parameters: map[string]string{
			ParamAzureClientID:                sc.Partner.AppID,
			ParamPartnerTenantID:              sc.Partner.TenantID,
			ParamAzureAuthorityHost:           url + "/",
			ParamAzureResourceManagerEndpoint: url,
			ParamPartnerCenterEndpoint:        url,
			ParamGraphEndpoint:                url,
			ParamAdminCenterURL:               url,
			ParamWebhookCertHosts:             s.ln.Addr().String(),
			ParamGdapSecurityGroupID:          LocalSecurityGroupID,
			ParamAzurePortalURL:               url,
			ParamBillingAccountID:             s.Double.BillingAccount(),
			ParamBillingProfileID:             s.Double.BillingProfile(),
		},
	}, nil
}

func (s *microsoftService) Close() error { return shutdown(s.srv, s.ln) }

// secretsService is Secrets Manager, preloaded with every
// AWS::SecretsManager::Secret of the template (generated or literal values)
// under the ARN `!Ref` gives, and with the partner app's client secret.
type secretsService struct {
	ln    net.Listener
	srv   *http.Server
	Store *secrets.Store
}

func (s *secretsService) Name() string { return "secretsmanager" }

func (s *secretsService) Start(_ context.Context, c *Cloud) (Endpoint, error) {
	preload := map[string]string{}
	for _, sec := range c.Template().Secrets {
		v := sec.SecretString
		if sec.Generate {
			n := sec.PasswordLength
			if n <= 0 {
				n = 32 // GenerateSecretString's default
			}
			v = "" // rand.Text is 26 characters of A-Z and 2-7: alphanumeric
			for len(v) < n {
				v += rand.Text()
			}
			v = v[:n]
		}
		preload[sec.Name] = v
	}
	sc, err := microsoft.LoadScenario(c.ScenarioPath())
	if err != nil {
		return Endpoint{}, fmt.Errorf("scenario %s: %w", c.ScenarioPath(), err)
	}
	preload[PartnerCredentialSecretName] = sc.Partner.ClientSecret
	s.Store = secrets.New(preload, secrets.Options{Region: samtemplate.Region, AccountID: samtemplate.AccountID})
	s.srv = serve(s.ln, sts.Beside(s.Store, sts.Options{AccountID: samtemplate.AccountID}))
	url := "http://" + s.ln.Addr().String()
	return Endpoint{
		Key: EndpointSecretsManager, URL: url,
		Extra:      map[string]string{EndpointSTS: url},
		Parameters: map[string]string{ParamPartnerCredentialSecretArn: samtemplate.SecretARN(PartnerCredentialSecretName)},
	}, nil
}

func (s *secretsService) Close() error { return shutdown(s.srv, s.ln) }

// sesService is SES v2 (SendEmail) on one port and the outbox page on
// another. The outbox folder is emptied at start-up: the emails of an earlier
// run point at providers that no longer exist.
type sesService struct {
	apiLn, pageLn   net.Listener
	apiSrv, pageSrv *http.Server
	Outbox          *ses.Outbox
}

func (s *sesService) Name() string { return "ses" }

func (s *sesService) Start(_ context.Context, c *Cloud) (Endpoint, error) {
	var err error
	var identities []string
	if id := c.parameterValue(ParamMailFromIdentity); id != "" {
		identities = append(identities, id)
	}
	if s.Outbox, err = ses.NewOutbox(ses.Options{Dir: filepath.Join(c.StateDir(), OutboxDir), Console: c.opts.Console,
		Identities: identities}); err != nil {
		return Endpoint{}, err
	}
	if err := s.Outbox.Clear(); err != nil {
		return Endpoint{}, fmt.Errorf("empty the outbox: %w", err)
	}
	s.apiSrv = serve(s.apiLn, s.Outbox.APIHandler())
	s.pageSrv = serve(s.pageLn, s.Outbox.PageHandler())
	return Endpoint{
		Key: EndpointSES, URL: "http://" + s.apiLn.Addr().String(),
		Extra: map[string]string{EndpointOutbox: "http://" + s.pageLn.Addr().String()},
	}, nil
}

func (s *sesService) Close() error {
	return errors.Join(shutdown(s.apiSrv, s.apiLn), shutdown(s.pageSrv, s.pageLn))
}

// stepFunctionsService is Step Functions with the template's state machines,
// whose Lambda tasks run in the cloud's Lambda host, at the cloud's time scale.
type stepFunctionsService struct {
	ln     net.Listener
	srv    *http.Server
	Engine *stepfunctions.Engine
}

func (s *stepFunctionsService) Name() string { return "stepfunctions" }

func (s *stepFunctionsService) Start(_ context.Context, c *Cloud) (Endpoint, error) {
	s.Engine = stepfunctions.New(stepfunctions.Options{
		Lambda: c.Invoker(), TimeScale: c.TimeScale(),
		Region: samtemplate.Region, AccountID: samtemplate.AccountID,
		Logger: c.Logger().With("component", "stepfunctions"),
	})
	for _, sm := range c.Template().StateMachines {
		if err := createStateMachine(s.Engine, sm); err != nil {
			return Endpoint{}, err
		}
		c.Logger().Info("state machine created", "name", sm.Name, "arn", sm.ARN)
	}
	s.srv = serve(s.ln, s.Engine.Handler())
	return Endpoint{Key: EndpointStepFunctions, URL: "http://" + s.ln.Addr().String()}, nil
}

func (s *stepFunctionsService) Close() error {
	err := shutdown(s.srv, s.ln)
	if s.Engine != nil {
		s.Engine.Close()
	}
	return err
}

// eventsService is EventBridge (PutEvents and the event list at /events)
// with the default bus and the template's AWS::Events::EventBus resources;
// every event put is printed to the console.
type eventsService struct {
	ln     net.Listener
	srv    *http.Server
	Server *eventbridge.Server
}

func (s *eventsService) Name() string { return "eventbridge" }

func (s *eventsService) Start(_ context.Context, c *Cloud) (Endpoint, error) {
	var buses []string
	for _, b := range c.Template().EventBuses {
		buses = append(buses, b.Name)
	}
	s.Server = eventbridge.New(eventbridge.Options{Region: samtemplate.Region, AccountID: samtemplate.AccountID,
		Buses: buses, Console: c.opts.Console})
	s.srv = serve(s.ln, s.Server)
	return Endpoint{Key: EndpointEvents, URL: "http://" + s.ln.Addr().String()}, nil
}

func (s *eventsService) Close() error { return shutdown(s.srv, s.ln) }

// EventBridge is the EventBridge emulator (the events put), or nil before
// it starts.
func (c *Cloud) EventBridge() *eventbridge.Server {
	for _, s := range c.started {
		if ev, ok := s.(*eventsService); ok {
			return ev.Server
		}
	}
	return nil
}

// Engine is the Step Functions engine (state transitions per execution), or
// nil before it starts.
func (c *Cloud) Engine() *stepfunctions.Engine {
	for _, s := range c.started {
		if sf, ok := s.(*stepFunctionsService); ok {
			return sf.Engine
		}
	}
	return nil
}

// Microsoft is the Microsoft double (Calls by kind, the control API's
// state), or nil before it starts.
func (c *Cloud) Microsoft() *microsoft.Server {
	for _, s := range c.started {
		if ms, ok := s.(*microsoftService); ok {
			return ms.Double
		}
	}
	return nil
}

// Outbox is the SES emulator's outbox (Calls, Messages), or nil before it
// starts.
func (c *Cloud) Outbox() *ses.Outbox {
	for _, s := range c.started {
		if em, ok := s.(*sesService); ok {
			return em.Outbox
		}
	}
	return nil
}

// CAClient returns an HTTP client (HTTP/2 where offered) that trusts the
// system's roots and the CA certificate in pemPath: the Microsoft double's,
// written to <StateDir>/microsoft-ca.pem at start-up.
func CAClient(pemPath string) (*http.Client, error) {
	pem, err := os.ReadFile(pemPath)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", pemPath)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = true
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// substitution is a DefinitionSubstitutions placeholder.
var substitution = regexp.MustCompile(`\$\{([^}]+)\}`)

// createStateMachine reads sm's definition, applies its
// DefinitionSubstitutions as CloudFormation does (${Name} → value; unknown
// placeholders stay) and creates it under the name and ARN the template gives.
func createStateMachine(e *stepfunctions.Engine, sm samtemplate.StateMachine) error {
	if sm.DefinitionPath == "" {
		return fmt.Errorf("state machine %s: only DefinitionUri (a local file) is supported", sm.LogicalID)
	}
	raw, err := os.ReadFile(sm.DefinitionPath)
	if err != nil {
		return fmt.Errorf("state machine %s: %w", sm.LogicalID, err)
	}
	def := substitution.ReplaceAllStringFunc(string(raw), func(m string) string {
		if v, ok := sm.DefinitionSubstitutions[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
	role := "arn:aws:iam::" + samtemplate.AccountID + ":role/" + sm.LogicalID + "Role"
	arn, err := e.CreateStateMachine(sm.Name, def, role)
	if err != nil {
		return fmt.Errorf("state machine %s (%s): %w", sm.LogicalID, sm.DefinitionURI, err)
	}
	if arn != sm.ARN {
		return fmt.Errorf("state machine %s: the engine's ARN %s differs from the template's %s", sm.LogicalID, arn, sm.ARN)
	}
	return nil
}
