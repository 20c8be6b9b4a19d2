package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
)

// FunctionsFile, in the state directory, describes the running cloud's
// functions as its Lambda host runs them (binary, environment with the local
// endpoints, timeout), so that `localcloud invoke` can run one of them against
// that cloud's services. Written by `localcloud run`, removed when it stops.
const FunctionsFile = "functions.json"

// hostedFunctions is FunctionsFile's content.
type hostedFunctions struct {
	// HostEnv is added to every function's environment (endpoints, trust store).
	HostEnv map[string]string `json:"hostEnv"`
	// Functions are in template order.
	Functions []hostedFunction `json:"functions"`
}

type hostedFunction struct {
	lambdahost.Function
	// Package is the function's Go package, e.g. "./functions/create-provider".
	Package string `json:"package"`
}

// describeFunctions is the running cloud's hostedFunctions.
func describeFunctions(c *cloud.Cloud) hostedFunctions {
	pkgs := map[string]string{}
	for _, f := range c.Template().Functions {
		pkg := f.GoPackage
		if pkg == "" {
			pkg = f.CodeURI
		}
		pkgs[f.LogicalID] = pkg
	}
	out := hostedFunctions{HostEnv: c.HostEnv()}
	for _, f := range c.Functions() {
		out.Functions = append(out.Functions, hostedFunction{Function: f, Package: pkgs[f.Name]})
	}
	return out
}

func writeFunctionsFile(c *cloud.Cloud) (string, error) {
	data, err := json.MarshalIndent(describeFunctions(c), "", "  ")
	if err != nil {
		return "", err
	}
	p := filepath.Join(c.StateDir(), FunctionsFile)
	if err := os.WriteFile(p+".tmp", append(data, '\n'), 0o600); err != nil {
		return "", err
	}
	return p, os.Rename(p+".tmp", p)
}

// find picks the function named by its logical id (CreateProviderFunction)
// or its folder (create-provider), case-insensitively.
func (h hostedFunctions) find(name string) (hostedFunction, error) {
	var names []string
	for _, f := range h.Functions {
		if strings.EqualFold(f.Name, name) || strings.EqualFold(path.Base(filepath.ToSlash(f.Package)), name) {
			return f, nil
		}
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return hostedFunction{}, fmt.Errorf("no function %q in template.yaml; the functions are %s", name, strings.Join(names, ", "))
}

// invoke runs one function's real bootstrap with one event through the local
// Lambda host, as `sam local invoke` does in Docker: the response on stdout,
// the function's logs on stderr, a non-zero exit on a function error. It uses
// the services of the local cloud that `make run` serves when one runs, else
// starts them in this process for the one invocation (without the API).
func invoke(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "repository root (default: the directory holding go.mod)")
	stateDir := fs.String("state", "", "state directory of the running cloud (default <root>/.local)")
	fn := fs.String("fn", "", "the function: its LogicalId in template.yaml (CreateProviderFunction) or its folder (create-provider)")
	eventPath := fs.String("event", "", "the event: a JSON file (e.g. events/create-provider.json), - for standard input; default {}")
	scale := fs.Float64("time-scale", 1, "time scale of the cloud started when none runs")
	own := fs.Bool("own-cloud", false, "start a cloud for this invocation even when one runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fn == "" && fs.NArg() > 0 {
		*fn = fs.Arg(0)
	}
	if *fn == "" {
		return errors.New("which function? -fn <LogicalId> (make invoke FN=<LogicalId> EVENT=events/<file>.json)")
	}
	event := []byte("{}")
	if *eventPath != "" {
		var err error
		if *eventPath == "-" {
			event, err = io.ReadAll(os.Stdin)
		} else {
			event, err = os.ReadFile(*eventPath)
		}
		if err != nil {
			return fmt.Errorf("event: %w", err)
		}
		if !json.Valid(event) {
			return fmt.Errorf("event %s is not JSON", *eventPath)
		}
	}
	if *root == "" {
		r, err := cloud.FindRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	state := *stateDir
	if state == "" {
		state = filepath.Join(*root, ".local")
	}
	fns, err := runningFunctions(state)
	if err == nil && !*own {
		fmt.Fprintf(stderr, "invoke: using the local cloud that runs (%s)\n", filepath.Join(state, cloud.EndpointsFile))
	} else {
		// No cloud runs: start one for this invocation. Its own state
		// directory and free ports keep it apart from a `make run` started
		// meanwhile.
		dir := filepath.Join(state, "invoke")
		logPath := filepath.Join(dir, "cloud.log")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer logf.Close()
		fmt.Fprintf(stderr, "invoke: no local cloud runs; starting its services for this invocation (their log: %s)\n", logPath)
		local := "127.0.0.1:0"
		c, err := cloud.Start(ctx, cloud.Options{Root: *root, StateDir: dir, TimeScale: *scale, Log: logf, Console: logf, Progress: stderr,
			APIAddr: local, DynamoAddr: local, StepFunctionsAddr: local, SESAddr: local, OutboxAddr: local, SecretsManagerAddr: local, MicrosoftAddr: local, EventsAddr: local})
		if err != nil {
			return err
		}
		defer c.Close()
		fns = describeFunctions(c)
	}
	f, err := fns.find(*fn)
	if err != nil {
		return err
	}
	resp, err := invokeOne(ctx, fns.HostEnv, f.Function, event, stderr)
	var fe *lambdahost.FunctionError
	if errors.As(err, &fe) {
		// As sam local invoke: the error payload is the response.
		fmt.Fprintf(stdout, "%s\n", fe.Payload())
		return fmt.Errorf("%s returned a function error: %s: %s", f.Name, fe.ErrorType, fe.ErrorMessage)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(resp))
	return err
}

// runningFunctions reads the functions of the cloud that runs, or fails when
// none answers.
func runningFunctions(state string) (hostedFunctions, error) {
	var h hostedFunctions
	if !apiAnswers(filepath.Join(state, cloud.EndpointsFile)) {
		return h, errors.New("no local cloud runs")
	}
	data, err := os.ReadFile(filepath.Join(state, FunctionsFile))
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("%s: %w", FunctionsFile, err)
	}
	return h, nil
}

// invokeOne starts the function in a Lambda host of its own (its logs to
// logs, each line prefixed with its name), invokes it once with a bound of
// its timeout plus the start-up, and stops it.
func invokeOne(ctx context.Context, hostEnv map[string]string, f lambdahost.Function, event []byte, logs io.Writer) ([]byte, error) {
	f.MaxInstances = 1
	h := lambdahost.New(lambdahost.Options{Log: logs, MaxInstances: 1, Env: hostEnv})
	defer h.Close()
	if err := h.Register(f); err != nil {
		return nil, err
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	return h.Invoke(ctx, f.Name, event)
}
