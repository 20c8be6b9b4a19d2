// Package cloud assembles the local cloud: it reads template.yaml, builds the
// functions for the host, serves DynamoDB, starts the product's emulators
// (the Microsoft double, Secrets Manager, SES with its outbox, Step Functions,
// EventBridge; see services.go) and any further Services plugged into it,
// hosts the functions through the Lambda Runtime API with the local
// parameters and endpoints, delivers the tables' stream records to the
// functions whose DynamoDB events ask for them (see streams.go), runs the
// template's scheduled events (see schedules.go), and fronts them with the
// API Gateway emulator and its JWT issuer.
package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/cmd/localcloud/internal/apigateway"
	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
	"github.com/partnercloud/azure/cmd/localcloud/internal/eventbridge"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/shared/account"
)

// Keys of endpoints.json.
const (
	EndpointAPI            = "api"
	EndpointOutbox         = "outbox"
	EndpointMicrosoft      = "microsoft"
	EndpointStepFunctions  = "stepfunctions"
	EndpointDynamoDB       = "dynamodb"
	EndpointSES            = "ses"
	EndpointSecretsManager = "secretsmanager"
	EndpointEvents         = "events"
)

// PlannedEndpoints are the default URLs of the emulators that are Services
// (their default addresses come from here).
var PlannedEndpoints = map[string]string{
	EndpointStepFunctions:  "http://127.0.0.1:8083",
	EndpointSES:            "http://127.0.0.1:8005",
	EndpointSecretsManager: "http://127.0.0.1:8006",
	EndpointEvents:         "http://127.0.0.1:8007",
	EndpointOutbox:         "http://127.0.0.1:8025",
	EndpointMicrosoft:      "https://127.0.0.1:8443",
}

// endpointEnv maps endpoints.json keys to the AWS SDK's standard endpoint
// variables set in every function's environment.
var endpointEnv = map[string]string{
	EndpointDynamoDB:       "AWS_ENDPOINT_URL_DYNAMODB",
	EndpointStepFunctions:  "AWS_ENDPOINT_URL_SFN",
	EndpointSES:            "AWS_ENDPOINT_URL_SESV2",
	EndpointSecretsManager: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
	EndpointEvents:         "AWS_ENDPOINT_URL_EVENTBRIDGE",
}

// Options configures Start. Zero values take the documented defaults.
type Options struct {
	// Root is the repository root (default: the directory holding go.mod,
	// found by walking up from the working directory).
	Root string
	// Template is the SAM template (default <Root>/template.yaml).
	Template string
	// Parameters override the template's parameter defaults.
	Parameters map[string]string
	// Scenario is the scenario file (default <Root>/cmd/localcloud/scenario/default.json).
	Scenario string
	// StateDir holds endpoints.json, the JWT key and the built binaries
	// (default <Root>/.local).
	StateDir string
	// APIAddr is the API Gateway address (default 127.0.0.1:3000).
	APIAddr string
	// DynamoAddr is the embedded DynamoDB's address (default 127.0.0.1:8000).
	DynamoAddr string
	// DynamoEndpoint, when set, is an external DynamoDB-compatible endpoint
	// (DynamoDB Local, say) used instead of the embedded one.
	DynamoEndpoint string
	// StepFunctionsAddr, SESAddr, OutboxAddr, SecretsManagerAddr,
	// MicrosoftAddr and EventsAddr are the addresses of the built-in
	// emulators (defaults: the hosts of PlannedEndpoints; use 127.0.0.1:0
	// in tests).
	StepFunctionsAddr, SESAddr, OutboxAddr, SecretsManagerAddr, MicrosoftAddr, EventsAddr string
	// AccountsTable is the logical id or name of the table the scenario's
	// accounts are written to (default: the only table, or the first with a
	// pk/sk key schema).
	AccountsTable string
	// TimeScale makes local clocks run this many times faster (default 1):
	// Step Functions' waits, and the function durations in ScaledEnv (never
	// those in HumanPacedEnv).
	TimeScale float64
	// MaxInstances is the concurrency per function (default 8).
	MaxInstances int
	// Log receives the functions' output and the cloud's own log (default os.Stderr).
	Log io.Writer
	// Logger is the cloud's structured logger (default: text to Log).
	Logger *slog.Logger
	// Console receives a short report of every email sent, with its links,
	// and of every event put on EventBridge (default Log).
	Console io.Writer
	// EnvOverrides are added last to every function's environment.
	EnvOverrides map[string]string
	// Services are further emulators started after the built-in ones.
	Services []Service
	// SkipBuild uses the binaries already in <StateDir>/bin.
	SkipBuild bool
	// Progress, when set, receives one line per function built (the build
	// takes a while; nil prints nothing).
	Progress io.Writer
	// CountDynamoDB counts the embedded DynamoDB's requests by operation
	// (see DynamoCounts); off by default. No effect with DynamoEndpoint.
	CountDynamoDB bool
	// HoldSchedules keeps the template's scheduled events from firing on
	// their own: FireSchedule fires one when the caller is ready.
	HoldSchedules bool
}

// Flag names used in error messages about busy ports.
const (
	FlagAPIAddr            = "-api-addr"
	FlagDynamoAddr         = "-dynamodb-addr"
	FlagStepFunctionsAddr  = "-stepfunctions-addr"
	FlagSESAddr            = "-ses-addr"
	FlagOutboxAddr         = "-outbox-addr"
	FlagSecretsManagerAddr = "-secretsmanager-addr"
	FlagMicrosoftAddr      = "-microsoft-addr"
	FlagEventsAddr         = "-events-addr"
)

// Service is an emulator plugged into the cloud. Start binds its port (use
// Listen for a clear busy-port error), starts serving, and returns its
// endpoint; it runs before any function is invoked, so a Service must not
// invoke functions during Start, but may keep c.Invoker() to invoke them later.
// Close stops it.
type Service interface {
	Name() string
	Start(ctx context.Context, c *Cloud) (Endpoint, error)
	Close() error
}

// Endpoint is what a Service reports once started.
type Endpoint struct {
	// Key is its endpoints.json key (e.g. "stepfunctions"); URL its address.
	Key, URL string
	// Extra are further endpoints.json entries (e.g. "outbox" for SES).
	Extra map[string]string
	// Env is added to every function's environment (e.g. SSL_CERT_FILE).
	// The AWS endpoint variable for Key is set by the cloud itself.
	Env map[string]string
	// Parameters are template parameter values this service needs locally
	// (e.g. AzureAuthorityHost). Each is applied when the template declares
	// it and Options.Parameters does not set it; the template is then
	// resolved again before the next service starts.
	Parameters map[string]string
}

// Cloud is a running local cloud.
type Cloud struct {
	opts      Options
	log       *slog.Logger
	tmpl      *samtemplate.Template
	params    map[string]string // Options.Parameters plus the local ones
	host      *lambdahost.Host
	hostReady atomic.Pointer[lambdahost.Host] // host, for Invoker's callers
	issuer    *jwtissuer.Issuer
	gateway   *apigateway.Gateway
	apiSrv    *http.Server
	apiURL    string
	dyn       *dynamo.Server
	dynURL    string
	dynCount  *dynamo.Counter // nil unless Options.CountDynamoDB
	dynFaults *dynamo.Faults  // off until a test switches it on
	hostEnv   map[string]string
	functions []lambdahost.Function
	endpoints map[string]string
	started   []Service
	keyPath   string
	streams   streamMappings
	schedules *eventbridge.Scheduler
	closeOnce sync.Once
}

// Start builds and starts everything; on error whatever started is stopped.
func Start(ctx context.Context, opts Options) (_ *Cloud, err error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c := &Cloud{opts: opts, log: opts.Logger, endpoints: map[string]string{}, params: map[string]string{}, dynFaults: &dynamo.Faults{}}
	for k, v := range opts.Parameters {
		c.params[k] = v
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()

	if c.tmpl, err = samtemplate.Load(opts.Template, c.params); err != nil {
		return nil, err
	}
	// Bind the fixed ports first, so a busy port fails before the build.
	apiLn, err := Listen(opts.APIAddr, FlagAPIAddr)
	if err != nil {
		return nil, err
	}
	c.apiURL = "http://" + apiLn.Addr().String()
	c.apiSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	defer func() {
		if err != nil {
			apiLn.Close()
		}
	}()
	var dynLn net.Listener
	if opts.DynamoEndpoint == "" {
		if dynLn, err = Listen(opts.DynamoAddr, FlagDynamoAddr); err != nil {
			return nil, err
		}
	}
	builtins, err := c.builtinServices()
	if err != nil {
		if dynLn != nil {
			dynLn.Close()
		}
		return nil, err
	}
	// Close closes the started services; these are closed here on error
	// until they start (closing a service twice is harmless).
	defer func() {
		if err != nil {
			for _, s := range builtins {
				_ = s.Close()
			}
		}
	}()

	bins, err := c.build(ctx)
	if err != nil {
		if dynLn != nil {
			dynLn.Close()
		}
		return nil, err
	}

	if dynLn != nil {
		if opts.CountDynamoDB {
			c.dynCount = dynamo.NewCounter()
		}
		c.dyn = dynamo.StartWithFaults(dynLn, c.dynFaults, c.dynCount)
		c.dynURL = c.dyn.URL
	} else {
		c.dynURL = strings.TrimRight(opts.DynamoEndpoint, "/")
	}
	c.endpoints[EndpointDynamoDB] = c.dynURL
	if err := c.prepareTables(ctx); err != nil {
		return nil, err
	}
	if name, err := c.accountsTable(); err == nil {
		c.endpoints[EndpointTable] = name
	}

	if err := c.setLocalParameters(map[string]string{ParamPublicBaseURL: c.apiURL}); err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, s := range append(builtins, opts.Services...) {
		ep, err := s.Start(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", s.Name(), err)
		}
		c.started = append(c.started, s)
		if ep.Key != "" {
			c.endpoints[ep.Key] = ep.URL
		}
		for k, v := range ep.Extra {
			c.endpoints[k] = v
		}
		for k, v := range ep.Env {
			env[k] = v
		}
		if err := c.setLocalParameters(ep.Parameters); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name(), err)
		}
		c.log.Info("service started", "service", s.Name(), "url", ep.URL)
	}
	for key, name := range endpointEnv {
		env[name] = c.endpoints[key]
	}
	for k, v := range opts.EnvOverrides {
		env[k] = v
	}

	c.hostEnv = env
	c.host = lambdahost.New(lambdahost.Options{Log: opts.Log, MaxInstances: opts.MaxInstances, Env: env})
	for _, f := range c.tmpl.Functions {
		fenv, err := ScaleEnv(f.Environment, opts.TimeScale)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", f.LogicalID, err)
		}
		// Timeouts stay real-time: they bound real work.
		fn := lambdahost.Function{Name: f.LogicalID, Binary: bins[f.LogicalID], Env: fenv,
			Timeout: time.Duration(f.Timeout) * time.Second, MemoryMB: f.MemorySize}
		if err := c.host.Register(fn); err != nil {
			return nil, err
		}
		c.functions = append(c.functions, fn)
	}
	c.hostReady.Store(c.host)
	if err := c.startStreamMappings(); err != nil {
		return nil, err
	}
	if err := c.startSchedules(); err != nil {
		return nil, err
	}

	if c.issuer, err = c.newIssuer(); err != nil {
		return nil, err
	}
	c.keyPath = filepath.Join(opts.StateDir, KeyFile)
	if err := c.issuer.WriteKeyFile(c.keyPath); err != nil {
		return nil, fmt.Errorf("write JWT key: %w", err)
	}
	routes, err := apigateway.RoutesFromTemplate(c.tmpl)
	if err != nil {
		return nil, err
	}
	cors, err := apigateway.CORSFromTemplate(c.tmpl, c.Resolver())
	if err != nil {
		return nil, err
	}
	c.gateway, err = apigateway.New(apigateway.Config{Routes: routes, Invoker: c.host, Verifier: c.issuer,
		AccountID: samtemplate.AccountID, Log: c.log.With("component", "apigateway"), CORS: cors})
	if err != nil {
		return nil, err
	}
	c.apiSrv.Handler = c.gateway
	go func() { _ = c.apiSrv.Serve(apiLn) }()
	c.endpoints[EndpointAPI] = c.apiURL

	if err := c.writeEndpoints(); err != nil {
		return nil, err
	}
	c.log.Info("local cloud ready", "api", c.apiURL, "dynamodb", c.dynURL, "functions", len(c.tmpl.Functions), "routes", len(routes))
	return c, nil
}

func (o *Options) defaults() error {
	if o.Root == "" {
		root, err := FindRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.Template == "" {
		o.Template = filepath.Join(o.Root, "template.yaml")
	}
	if o.Scenario == "" {
		o.Scenario = filepath.Join(o.Root, "cmd", "localcloud", "scenario", "default.json")
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(o.Root, ".local")
	}
	if o.APIAddr == "" {
		o.APIAddr = "127.0.0.1:3000"
	}
	if o.DynamoAddr == "" {
		o.DynamoAddr = "127.0.0.1:8000"
	}
	for _, a := range []struct {
		addr *string
		key  string
	}{
		{&o.StepFunctionsAddr, EndpointStepFunctions}, {&o.SESAddr, EndpointSES}, {&o.OutboxAddr, EndpointOutbox},
		{&o.SecretsManagerAddr, EndpointSecretsManager}, {&o.MicrosoftAddr, EndpointMicrosoft}, {&o.EventsAddr, EndpointEvents},
	} {
		if *a.addr == "" {
			*a.addr = DefaultAddr(a.key)
		}
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if o.TimeScale < 0 {
		return fmt.Errorf("time scale %v must be positive", o.TimeScale)
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(o.Log, nil))
	}
	if o.Console == nil {
		o.Console = o.Log
	}
	return nil
}

// DefaultAddr is the default host:port of a built-in emulator, by its
// endpoints.json key (from PlannedEndpoints).
func DefaultAddr(key string) string {
	u, err := url.Parse(PlannedEndpoints[key])
	if err != nil {
		return ""
	}
	return u.Host
}

// setLocalParameters applies local parameter values (see Endpoint.Parameters)
// and resolves the template again if any changed.
func (c *Cloud) setLocalParameters(params map[string]string) error {
	changed := false
	for k, v := range params {
		if _, declared := c.tmpl.Parameters[k]; !declared {
			continue
		}
		if _, userSet := c.opts.Parameters[k]; userSet || c.params[k] == v {
			continue
		}
		c.params[k] = v
		changed = true
	}
	if !changed {
		return nil
	}
	t, err := samtemplate.Load(c.opts.Template, c.params)
	if err != nil {
		return err
	}
	c.tmpl = t
	return nil
}

// FindRoot walks up from the working directory to the directory holding go.mod.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; pass -root")
		}
		dir = parent
	}
}

// Listen binds a loopback TCP address; a busy port gives an error naming the
// port and the flag that changes it.
func Listen(addr, flag string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s %q: the local cloud binds to loopback addresses only", flag, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("port %s is already in use; stop what uses it or choose another address with %s", addr, flag)
		}
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, flag, err)
	}
	return ln, nil
}

// newIssuer uses the issuer and audience of the template's JWT authorizer when
// they resolve, else the defaults documented in package jwtissuer.
func (c *Cloud) newIssuer() (*jwtissuer.Issuer, error) {
	issuer, audiences := "", []string(nil)
	for _, api := range c.tmpl.HttpApis {
		names := make([]string, 0, len(api.Authorizers))
		for n := range api.Authorizers {
			names = append(names, n)
		}
		sort.Strings(names)
		if api.DefaultAuthorizer != "" {
			names = append([]string{api.DefaultAuthorizer}, names...)
		}
		for _, n := range names {
			a, ok := api.Authorizers[n]
			if !ok {
				continue
			}
			if a.Err != nil {
				c.log.Warn("JWT authorizer not resolvable locally; using the local issuer defaults", "authorizer", n, "err", a.Err)
				continue
			}
			if issuer == "" && a.Issuer != "" && len(a.Audience) > 0 {
				issuer, audiences = a.Issuer, a.Audience
			}
		}
	}
	if issuer == "" {
		issuer = jwtissuer.DefaultIssuer(strings.TrimPrefix(c.apiURL, "http://"))
		audiences = []string{jwtissuer.DefaultAudience}
	}
	iss, err := jwtissuer.New(issuer, audiences[0])
	if err != nil {
		return nil, err
	}
	iss.Accepted = audiences
	return iss, nil
}

// KeyFile is the JWT key's file name in the state directory.
const KeyFile = "jwt-key.pem"

// EndpointsFile is endpoints.json's file name in the state directory.
const EndpointsFile = "endpoints.json"

func (c *Cloud) writeEndpoints() error {
	out := map[string]string{}
	for k, v := range c.endpoints {
		out[k] = v
	}
	out["jwtIssuer"] = c.issuer.Issuer
	out["jwtAudience"] = c.issuer.Audience
	out[EndpointTimeScale] = strconv.FormatFloat(c.opts.TimeScale, 'g', -1, 64)
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(c.opts.StateDir, EndpointsFile)
	if err := os.MkdirAll(c.opts.StateDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// prepareTables creates the template's tables and writes the scenario's accounts.
func (c *Cloud) prepareTables(ctx context.Context) error {
	client := dynamo.NewClient(c.dynURL)
	if err := dynamo.CreateTables(ctx, client, c.tmpl.Tables); err != nil {
		return err
	}
	return c.seedAccounts(ctx, client)
}

// Scenario is the part of the scenario file the core reads; the Microsoft
// double reads its own section from ScenarioPath.
type Scenario struct {
	Accounts []account.Account `json:"accounts"`
}

func (c *Cloud) seedAccounts(ctx context.Context, client *dynamodb.Client) error {
	data, err := os.ReadFile(c.opts.Scenario)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	var sc Scenario
	if err := json.Unmarshal(data, &sc); err != nil {
		return fmt.Errorf("scenario %s: %w", c.opts.Scenario, err)
	}
	if len(sc.Accounts) == 0 {
		return nil
	}
	table, err := c.accountsTable()
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, a := range sc.Accounts {
		if a.ID == "" {
			return fmt.Errorf("scenario %s: an account has no accountId", c.opts.Scenario)
		}
		if a.UpdatedAt.IsZero() {
			a.UpdatedAt = now
		}
		item, err := AccountItem(a)
		if err != nil {
			return err
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			return fmt.Errorf("seed account %s into %s: %w", a.ID, table, err)
		}
	}
	c.log.Info("scenario accounts written", "table", table, "accounts", len(sc.Accounts))
	return nil
}

// AccountItem is the DynamoDB item of an account: its dynamodbav attributes
// plus pk "ACCOUNT#<id>" and sk "ACCOUNT".
func AccountItem(a account.Account) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return nil, fmt.Errorf("marshal account %s: %w", a.ID, err)
	}
	item["pk"] = &types.AttributeValueMemberS{Value: "ACCOUNT#" + a.ID}
	item["sk"] = &types.AttributeValueMemberS{Value: "ACCOUNT"}
	return item, nil
}

func (c *Cloud) accountsTable() (string, error) {
	tables := c.tmpl.Tables
	if c.opts.AccountsTable != "" {
		for _, t := range tables {
			if t.LogicalID == c.opts.AccountsTable || t.Name == c.opts.AccountsTable {
				return t.Name, nil
			}
		}
		return "", fmt.Errorf("accounts table %q is not in the template", c.opts.AccountsTable)
	}
	if len(tables) == 1 {
		return tables[0].Name, nil
	}
	for _, t := range tables {
		if len(t.KeySchema) == 2 && t.KeySchema[0].Name == "pk" && t.KeySchema[1].Name == "sk" {
			return t.Name, nil
		}
	}
	return "", errors.New("cannot tell which table holds accounts (no pk/sk table); set the accounts table")
}

// APIURL is the API's base URL, e.g. "http://127.0.0.1:3000".
func (c *Cloud) APIURL() string { return c.apiURL }

// DynamoURL is the DynamoDB endpoint in use.
func (c *Cloud) DynamoURL() string { return c.dynURL }

// Endpoints returns a copy of endpoints.json's service URLs.
func (c *Cloud) Endpoints() map[string]string {
	out := make(map[string]string, len(c.endpoints))
	for k, v := range c.endpoints {
		out[k] = v
	}
	return out
}

// Invoker invokes the template's functions by name or ARN; Step Functions'
// Lambda tasks go through it. It may be taken before the Lambda host exists
// (while Services start): it finds the host at each call.
func (c *Cloud) Invoker() lambdahost.Invoker { return lazyInvoker{c} }

type lazyInvoker struct{ c *Cloud }

func (l lazyInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	h := l.c.hostReady.Load()
	if h == nil {
		return nil, errors.New("the Lambda host is not started yet")
	}
	return h.Invoke(ctx, function, payload)
}

// Host is the Lambda host (invocation counts, instances).
func (c *Cloud) Host() *lambdahost.Host { return c.host }

// Functions are the functions as registered with the Lambda host (binary,
// scaled environment, timeout, memory), in template order. With HostEnv they
// let a caller start the same function in a host of its own (the benchmarks'
// cold starts do).
func (c *Cloud) Functions() []lambdahost.Function {
	out := make([]lambdahost.Function, len(c.functions))
	copy(out, c.functions)
	return out
}

// HostEnv is the environment the Lambda host adds to every function (the
// endpoint variables, SSL_CERT_FILE, Options.EnvOverrides).
func (c *Cloud) HostEnv() map[string]string {
	out := make(map[string]string, len(c.hostEnv))
	for k, v := range c.hostEnv {
		out[k] = v
	}
	return out
}

// DynamoCounts returns the embedded DynamoDB's requests so far by operation
// (X-Amz-Target without its prefix), or nil unless the cloud was started
// with Options.CountDynamoDB.
func (c *Cloud) DynamoCounts() map[string]int64 {
	if c.dynCount == nil {
		return nil
	}
	return c.dynCount.Counts()
}

// Template is the loaded, resolved template.
func (c *Cloud) Template() *samtemplate.Template { return c.tmpl }

// Resolver resolves further template values with the cloud's parameters.
func (c *Cloud) Resolver() *samtemplate.Resolver { return c.tmpl.Resolver(c.params) }

// Parameters returns the template parameter values in use: Options.Parameters
// and the local ones the cloud set.
func (c *Cloud) Parameters() map[string]string {
	out := make(map[string]string, len(c.params))
	for k, v := range c.params {
		out[k] = v
	}
	return out
}

// TimeScale is how many times faster than real time local clocks run.
func (c *Cloud) TimeScale() float64 { return c.opts.TimeScale }

// ScenarioPath is the scenario file in use.
func (c *Cloud) ScenarioPath() string { return c.opts.Scenario }

// StateDir is the directory of endpoints.json, keys and binaries.
func (c *Cloud) StateDir() string { return c.opts.StateDir }

// Logger is the cloud's logger, for Services.
func (c *Cloud) Logger() *slog.Logger { return c.log }

// Token signs a token for account with roles, accepted by the API.
func (c *Cloud) Token(accountID string, roles []string) (string, error) {
	return c.issuer.Sign(UserClaims(accountID, roles))
}

// UserClaims are the claims of the local user of an account: its sub, and a
// name and email address so the requester's emails have somewhere to go.
func UserClaims(accountID string, roles []string) jwtissuer.Claims {
	return jwtissuer.Claims{Subject: SubjectFor(accountID), AccountID: accountID, Roles: roles, Name: "Local User", Email: "requester@" + accountID + ".example"}
}

// SubjectFor is the user id (sub) of the local tokens for an account.
func SubjectFor(accountID string) string { return "local-user@" + accountID }

// Close stops the API, the services, every function process and DynamoDB, and
// removes the JWT key file (so `token` knows the cloud is gone).
func (c *Cloud) Close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c.streams.close()
		if c.schedules != nil {
			c.schedules.Close()
		}
		if c.apiSrv != nil {
			_ = c.apiSrv.Shutdown(ctx)
		}
		for i := len(c.started) - 1; i >= 0; i-- {
			if err := c.started[i].Close(); err != nil {
				c.log.Warn("service close", "service", c.started[i].Name(), "err", err)
			}
		}
		if c.host != nil {
			_ = c.host.Close()
		}
		if c.dyn != nil {
			_ = c.dyn.Close()
		}
		if c.keyPath != "" {
			_ = os.Remove(c.keyPath)
		}
	})
	return nil
}
