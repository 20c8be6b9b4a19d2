// Command localcloud runs Partner Cloud for Azure on loopback without AWS or
// Docker: the real function binaries behind an API Gateway emulator with a
// local JWT issuer, DynamoDB, and the other emulators plugged into the cloud.
//
//	localcloud [run] [flags]     start the local cloud (Ctrl-C stops it)
//	localcloud token [flags]     print a token for the running cloud
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
	default:
		err = fmt.Errorf("unknown command %q (want run or token)", cmd)
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
	fs.StringVar(&o.AccountsTable, "accounts-table", "", "table (logical id or name) receiving the scenario's accounts")
	fs.Float64Var(&o.TimeScale, "time-scale", 1, "run local clocks this many times faster than real time")
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
	o.Services = services()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cloud.Start(ctx, o)
	if err != nil {
		return err
	}
	defer c.Close()
	tok, err := c.Token(*account, []string{"admin"})
	if err != nil {
		return err
	}
	printScreen(os.Stdout, c, *account, tok)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "localcloud: stopping")
	return nil
}

// services lists the emulators plugged into the cloud besides the core
// (API Gateway, Lambda, DynamoDB). Each is a cloud.Service: Step Functions,
// SES v2 with its outbox, Secrets Manager and the Microsoft double are added
// here as they are built; until then endpoints.json and the functions'
// endpoint variables carry their planned URLs (cloud.PlannedEndpoints).
func services() []cloud.Service {
	return nil
}

func printScreen(w io.Writer, c *cloud.Cloud, account, tok string) {
	eps := c.Endpoints()
	api := c.APIURL()
	fmt.Fprintf(w, `
Partner Cloud for Azure: local cloud running (Ctrl-C stops it)

  API                %s
  Microsoft double   %s
  Outbox (emails)    %s
  Step Functions     %s
  DynamoDB           %s
  endpoints          %s

Admin token for %s (valid 1 hour; new one: make token ACCOUNT=<id> ROLES=admin):

  export TOKEN=%s

Create a first migration:

  curl -s -X POST %s/providers -H "Authorization: Bearer %s" -H 'Content-Type: application/json' -d '{"name":"Contoso production","type":"azure","option":"migrate","azureAdminEmail":"admin@contoso.example","subscriptionIds":[],"acceptedTerms":{"partner":"2017-08","microsoft":"2017-08"}}'

`, api, eps[cloud.EndpointMicrosoft], eps[cloud.EndpointOutbox], eps[cloud.EndpointStepFunctions], eps[cloud.EndpointDynamoDB],
		filepath.Join(c.StateDir(), cloud.EndpointsFile), account, tok, api, tok)
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
	tok, err := iss.Sign(jwtissuer.Claims{Subject: *sub, AccountID: *account, Roles: rs, TTL: *ttl})
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
