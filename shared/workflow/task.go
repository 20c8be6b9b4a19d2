package workflow

import (
	"context"

	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Task is the input of one task of the state machines (InviteInput,
// OwnershipInput, OutcomeInput, NewCustomerInput).
type Task interface {
	// Validate refuses an input the task cannot process.
	Validate() error
	// ref names the provider the task works on.
	ref() Input
	// logAttrs are the attributes of every log line of the task.
	logAttrs() []any
}

// ProviderReader reads the provider a task works on (store.Store).
type ProviderReader interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
}

// Run runs one task, the same way for every task function: it validates in,
// puts the provider id and the execution ARN (and the task's own
// attributes) in the context's logger, reads the provider when store is not
// nil (step then gets nil), runs step, and returns any error as the named
// error the state machine's Retry and Catch match (Named). It is for the
// state machines what api.Handle is for the HTTP routes.
func Run[In Task, Out any](ctx context.Context, in In, store ProviderReader, step func(context.Context, *provider.Provider) (Out, error)) (Out, error) {
	var none Out
	if err := in.Validate(); err != nil {
		return none, Named(err)
	}
	log := logging.From(ctx).With(in.logAttrs()...)
	ctx = logging.With(ctx, log)
	var p *provider.Provider
	if store != nil {
		ref := in.ref()
		var err error
		if p, err = store.GetProvider(ctx, ref.AccountID, ref.ProviderID); err != nil {
			return none, failed(ctx, err)
		}
	}
	out, err := step(ctx, p)
	if err != nil {
		return none, failed(ctx, err)
	}
	return out, nil
}

// failed names err and logs which named error the task ends with.
func failed(ctx context.Context, err error) error {
	n := Named(err)
	logging.From(ctx).Info("task ended with a named error", "error_name", ErrorName(n), "reason", n.Error())
	return n
}
