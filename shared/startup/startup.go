// Package startup is how every function starts: JSON logs, the configuration
// read from the environment and checked once, the handler built, then
// lambda.Start. Nothing at start-up talks to the network: clients and
// secrets that a request may not need are built on first use (lazy.Value,
// the awsconf clients), so a cold start costs little more than the Lambda
// runtime's own.
//
// A configuration problem (a variable missing or invalid) is reported once,
// as one log line naming every such variable, and the process exits with
// status 1 before lambda.Start. Lambda then reports the init failure
// (Runtime.ExitError) and runs no invocation half-configured. Nothing at
// start-up can fail for a passing reason (there is no I/O), so exiting loses
// nothing that waiting would have won; a failure on first use (a secret that
// cannot be read, say) is an error of that request, which the handler
// reports, and the next request tries again.
package startup

import (
	"errors"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnercloud/azure/shared/awsconf"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
)

// Env is the function's environment variables (config.Env): a build
// function reads its settings from it, and problems are recorded there.
type Env = config.Env

// AWS is the function's AWS configuration (awsconf.Config), read from the
// Lambda environment; the clients made from it (awsconf's sub-packages) are
// built on their first call.
type AWS = awsconf.Config

// BuildFunc reads the function's configuration from env and returns its
// handler (anything lambda.Start accepts). It must not do I/O: what needs
// the network is wrapped in a lazy.Value or is an awsconf client, built on
// first use. Problems are recorded in env (Required, Duration, Check, Add)
// or returned.
type BuildFunc func(env *Env, aws *AWS) (handler any, err error)

// Run sets up logging, builds the handler from the process environment and
// starts it. It does not return; on a configuration problem it logs the
// problem once and exits with status 1.
func Run(build BuildFunc) {
	h, err := Build(os.Stdout, config.FromOS(), build)
	if err != nil {
		os.Exit(1)
	}
	lambda.Start(h)
}

// Build is Run without lambda.Start and the exit: it installs the JSON
// logger on w, reads the AWS configuration (which Lambda always provides:
// region and the execution role's credentials), calls build and returns its
// handler, or an error that it has already logged ("invalid configuration",
// naming each variable).
func Build(w io.Writer, env *Env, build BuildFunc) (any, error) {
	log := logging.Setup(w)
	h, err := build(env, awsconf.FromEnv(env))
	if err = distinct(env.Err(), err); err == nil && h == nil {
		err = errors.New("startup: the build function returned no handler")
	}
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		return nil, err
	}
	return h, nil
}

// distinct joins the problems, each once (two settings may check the same
// variable).
func distinct(errs ...error) error {
	var out []error
	seen := map[string]bool{}
	var add func(error)
	add = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				add(e)
			}
			return
		}
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	for _, err := range errs {
		add(err)
	}
	return errors.Join(out...)
}
