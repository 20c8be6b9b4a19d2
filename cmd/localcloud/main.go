// Command localcloud runs Partner Cloud for Azure on loopback without AWS or
// Docker: the real function binaries behind an API Gateway emulator with a
// local JWT issuer, DynamoDB, Step Functions, SES with an outbox page, Secrets
// Manager, EventBridge (with the template's schedules) and a Microsoft cloud
// double.
//
//	localcloud [run] [flags]     start the local cloud (Ctrl-C stops it)
//	localcloud token [flags]     print a token for the running cloud
//	localcloud demo [flags]      drive one migration end to end through the API
//	localcloud stop [flags]      stop a cloud that `localcloud run` started (its pid file)
//	localcloud invoke [flags]    run one function with one event, as sam local invoke does
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = run(args)
	case "token":
		err = token(args, os.Stdout)
	case "demo":
		err = demo(args, os.Stdout)
	case "stop":
		err = stop(args, os.Stdout)
	case "invoke":
		err = invoke(args, os.Stdout, os.Stderr)
	default:
		err = fmt.Errorf("unknown command %q (want run, token, demo, stop or invoke)", cmd)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "localcloud:", err)
		}
		os.Exit(1)
	}
}

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string { return "" }
func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	kv[k] = v
	return nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var o cloud.Options
	params, env := keyValues{}, keyValues{}
	fs.StringVar(&o.Root, "root", "", "repository root (default: the directory holding go.mod)")
	fs.StringVar(&o.Template, "template", "", "SAM template (default <root>/template.yaml)")
	fs.StringVar(&o.Scenario, "scenario", "", "scenario file (default <root>/cmd/localcloud/scenario/default.json)")
	fs.StringVar(&o.APIAddr, strings.TrimPrefix(cloud.FlagAPIAddr, "-"), "127.0.0.1:3000", "API Gateway address")
	fs.StringVar(&o.DynamoAddr, strings.TrimPrefix(cloud.FlagDynamoAddr, "-"), "127.0.0.1:8000", "embedded DynamoDB address")
	fs.StringVar(&o.DynamoEndpoint, "dynamodb-endpoint", "", "use this DynamoDB-compatible endpoint (e.g. DynamoDB Local) instead of the embedded one")
	addrFlag(fs, &o.StepFunctionsAddr, cloud.FlagStepFunctionsAddr, cloud.EndpointStepFunctions, "Step Functions address")
	addrFlag(fs, &o.SESAddr, cloud.FlagSESAddr, cloud.EndpointSES, "SES v2 API address")
	addrFlag(fs, &o.OutboxAddr, cloud.FlagOutboxAddr, cloud.EndpointOutbox, "outbox page address")
	addrFlag(fs, &o.SecretsManagerAddr, cloud.FlagSecretsManagerAddr, cloud.EndpointSecretsManager, "Secrets Manager address")
	addrFlag(fs, &o.MicrosoftAddr, cloud.FlagMicrosoftAddr, cloud.EndpointMicrosoft, "Microsoft double address (HTTPS)")
	addrFlag(fs, &o.EventsAddr, cloud.FlagEventsAddr, cloud.EndpointEvents, "EventBridge address (its events are listed at /events)")
	fs.StringVar(&o.AccountsTable, "accounts-table", "", "table (logical id or name) receiving the scenario's accounts")
	fs.Float64Var(&o.TimeScale, "time-scale", 1, "run the workflow's clocks (Step Functions waits, invitation and ownership durations) this many times faster than real time; sign-in and consent keep real time")
	fs.IntVar(&o.MaxInstances, "max-instances", 8, "concurrent processes per function")
	fs.BoolVar(&o.SkipBuild, "skip-build", false, "use the binaries already built in .local/bin")
	fs.Var(params, "param", "template parameter override KEY=VALUE (repeatable)")
	fs.Var(env, "env", "extra function environment variable KEY=VALUE (repeatable)")
	account := fs.String("account", "acct-eligible", "account of the token printed at start-up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Parameters, o.EnvOverrides = params, env
	o.Log = os.Stderr
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	o.Console = os.Stdout // each email sent, with its links, and each event put
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cloud.Start(ctx, o)
	if err != nil {
		return err
	}
	defer c.Close()
	pidFile, err := writePIDFile(c.StateDir())
	if err != nil {
		return err
	}
	defer os.Remove(pidFile)
	fnFile, err := writeFunctionsFile(c)
	if err != nil {
		return err
	}
	defer os.Remove(fnFile)
	tok, err := c.Token(*account, []string{"admin"})
	if err != nil {
		return err
	}
	printScreen(os.Stdout, c, *account, tok)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "localcloud: stopping")
	return nil
}

// addrFlag defines an address flag whose default is the service's planned address.
func addrFlag(fs *flag.FlagSet, p *string, name, key, usage string) {
	fs.StringVar(p, strings.TrimPrefix(name, "-"), cloud.DefaultAddr(key), usage)
}

func printScreen(w io.Writer, c *cloud.Cloud, account, tok string) {
	eps := c.Endpoints()
	api := c.APIURL()
	lasts := ""
	if d, ok := c.FunctionDuration("INVITATION_EXPIRY"); ok {
		lasts = fmt.Sprintf(" (an invitation link lasts %s of real time)", roundDuration(d))
	}
	fmt.Fprintf(w, `
Partner Cloud for Azure: local cloud running (Ctrl-C or make stop stops it)

  API                %s
  Outbox (emails)    %s
  Microsoft double   %s/_control
  Step Functions     %s
  DynamoDB           %s
  SES v2             %s
  Secrets Manager    %s
  EventBridge        %s (events: %s/events)
  endpoints          %s
  time scale         %v%s

Time scale: for a walk-through in a browser use 1 to %d (make run TIME_SCALE=%d: the
invitation lasts hours, ownership re-checks come every few seconds); for scripts and
make demo, %d. The sign-in and consent pages keep real time at any scale.

Admin token for %s (valid 1 hour; new one: make token ACCOUNT=<id> ROLES=admin):

  export TOKEN=%s

Create a first migration:

%s

The consent email's link is printed here and listed on the outbox page; sign in
as admin@contoso.example. Grant the missing Owner role on the page of the
Microsoft double, or:

  curl -s --cacert %s -X POST %s/_control/owner -H 'Content-Type: application/json' -d '{"tenant":"contoso","subscriptionId":"20000000-0000-4000-8000-000000000102","grant":true}'

`, api, eps[cloud.EndpointOutbox], eps[cloud.EndpointMicrosoft], eps[cloud.EndpointStepFunctions], eps[cloud.EndpointDynamoDB],
		eps[cloud.EndpointSES], eps[cloud.EndpointSecretsManager], eps[cloud.EndpointEvents], eps[cloud.EndpointEvents],
		filepath.Join(c.StateDir(), cloud.EndpointsFile), c.TimeScale(), lasts,
		cloud.MaxBrowserTimeScale, cloud.BrowserTimeScale, cloud.ScriptTimeScale,
		account, tok, indent(cloud.FirstMigrationCurl(api), "  "), eps[cloud.EndpointMicrosoftCA], eps[cloud.EndpointMicrosoft])
}

// roundDuration keeps a duration readable: whole seconds, or whole minutes
// past an hour.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// token prints a token signed with the running cloud's key.
func token(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	root := fs.String("root", "", "repository root (default: the directory holding go.mod)")
	account := fs.String("account", "acct-eligible", "account id (account_id claim)")
	roles := fs.String("roles", "admin", "comma-separated roles (roles claim)")
	sub := fs.String("sub", "", "user id (sub claim; default local-user@<account>)")
	ttl := fs.Duration("ttl", jwtissuer.DefaultTTL, "token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		r, err := cloud.FindRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	state := filepath.Join(*root, ".local")
	notRunning := fmt.Errorf("the local cloud is not running (no live cloud found in %s); start it with `make run`", state)
	iss, err := jwtissuer.Load(filepath.Join(state, cloud.KeyFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return notRunning
		}
		return err
	}
	if !apiAnswers(filepath.Join(state, cloud.EndpointsFile)) {
		return notRunning
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	if *sub == "" {
		*sub = cloud.SubjectFor(*account)
	}
	claims := cloud.UserClaims(*account, rs)
	claims.Subject, claims.TTL = *sub, *ttl
	tok, err := iss.Sign(claims)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// apiAnswers tells whether the API named in endpoints.json accepts connections.
func apiAnswers(endpointsPath string) bool {
	data, err := os.ReadFile(endpointsPath)
	if err != nil {
		return false
	}
	var eps map[string]string
	if json.Unmarshal(data, &eps) != nil {
		return false
	}
	u, err := url.Parse(eps[cloud.EndpointAPI])
	if err != nil || u.Host == "" {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
