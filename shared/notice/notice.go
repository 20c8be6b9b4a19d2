// Package notice sends what a provider's changes put in its outbox (see
// provider.OutboxEntry): it renders each pending entry as an email and
// removes it from the provider once sent. The outbox relay function calls
// Deliver when the table's stream says a provider has pending entries.
package notice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store reads a provider and writes it back conditionally (store.Store).
type Store interface {
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Sender sends one email (ses.SES).
type Sender interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Relay delivers a provider's pending notices.
type Relay struct {
	Store  Store
	Mailer Sender
	Brand  mail.Brand
	// Representatives is the partner's representatives' address.
	Representatives string
	// Tasks resumes the workflow's waits that an outbox entry asks to
	// resume (provider.NoticeResumeBilling).
	Tasks Tasks
	// Workflows start a new provider's workflow by its option
	// (provider.NoticeStartWorkflow): the migration, or the new-customer
	// provisioning.
	Workflows map[provider.Option]Starter
	Now       func() time.Time
}

// Starter starts a provider's workflow execution, named from the provider
// id so that a second start returns the first's ARN
// (stepfunctions.Executions).
type Starter interface {
	Start(ctx context.Context, in workflow.Input) (string, error)
}

// Deliver sends each notice pending on the provider, oldest first, and
// removes each one sent. A provider that no longer exists has nothing to
// send. A notice SES refuses for good (email_rejected) is removed with a
// timeline event saying it could not be sent; any other failure leaves it
// pending and is returned (the stream delivers the record again), after
// the other notices were tried.
func (r *Relay) Deliver(ctx context.Context, accountID, providerID string) error {
	p, err := r.Store.GetProvider(ctx, accountID, providerID)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var failed error
	for _, e := range p.Outbox {
		if err := r.deliver(ctx, p, e); err != nil {
			failed = errors.Join(failed, err)
		}
	}
	return failed
}

func (r *Relay) deliver(ctx context.Context, p *provider.Provider, e provider.OutboxEntry) error {
	log := logging.From(ctx).With("notice", e.ID)
	switch e.Kind {
	case provider.NoticeResumeBilling:
		return r.resume(ctx, p, e)
	case provider.NoticeCancelTransfer:
		// The transfer canceller's (shared/transfercancel; its own mark
		// wakes it): the relay links no Azure SDK. Seen here only beside
		// the relay's own entries.
		return nil
	case provider.NoticeStartWorkflow:
		return r.startWorkflow(ctx, p, e)
	}
	msg, err := Render(p, e, r.Brand, r.Representatives)
	if err != nil {
		// A kind this code cannot render is a programming error; keeping it
		// pending would wake the relay for ever.
		log.Error("notice cannot be rendered; dropped", "error", err.Error())
		return r.remove(ctx, p, e, "A notice could not be prepared and was not sent ("+string(e.Kind)+").")
	}
	_, err = r.Mailer.Send(ctx, msg)
	switch {
	case apperr.Is(err, apperr.EmailRejected):
		log.Error("notice rejected by SES; dropped", "error", err.Error())
		return r.remove(ctx, p, e, noticeRefused(e))
	case err != nil:
		log.Warn("notice not sent; stays pending", "error", err.Error())
		return err
	}
	log.Info("notice sent", "kind", string(e.Kind))
	return r.remove(ctx, p, e, "")
}

// remove takes the entry out of the outbox, with a timeline event when
// what is not empty.
func (r *Relay) remove(ctx context.Context, p *provider.Provider, e provider.OutboxEntry, what string) error {
	_, err := r.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if q.Dequeue(e.ID) && what != "" {
			q.AddEvent(provider.Event{At: r.Now(), Status: q.Status, What: what, By: "system"})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove notice %s: %w", e.ID, err)
	}
	return nil
}

// noticeRefused is the timeline's sentence for a notice whose address SES
// refused for good.
func noticeRefused(e provider.OutboxEntry) string {
	if e.Audience == provider.AudienceRequester {
		return "A notice to the requester could not be delivered: the address was refused."
	}
	return "A notice to the partner's representatives could not be delivered: the address was refused."
}

// resume ends the workflow's wait for the entry's subscription (its kept
// task token) so that the subscription is advanced now: the move plan was
// approved. A wait that no longer waits, or no token kept, is fine: the
// wait's next run reads the approval from the provider.
func (r *Relay) resume(ctx context.Context, p *provider.Provider, e provider.OutboxEntry) error {
	log := logging.From(ctx).With("notice", e.ID, "subscription_id", e.Subscription)
	if token := p.SubscriptionTask(e.Subscription); token != "" && r.Tasks != nil {
		err := r.Tasks.Succeed(ctx, token, map[string]any{"subscriptionId": e.Subscription, "final": false, "resumed": "move_plan_approved"})
		switch {
		case errors.Is(err, workflow.ErrTaskGone):
			log.Info("subscription wait no longer waiting; its next run reads the approval")
		case err != nil:
			log.Warn("resume failed; stays pending", "error", err.Error())
			return err
		default:
			log.Info("subscription wait resumed")
		}
	}
	return r.remove(ctx, p, e, "")
}

// startWorkflow starts the provider's workflow and records its execution
// with the entry's removal. A provider that ended before its start
// (cancelled at once, say) is not started. A fault leaves the entry
// pending: the stream delivers it again.
func (r *Relay) startWorkflow(ctx context.Context, p *provider.Provider, e provider.OutboxEntry) error {
	log := logging.From(ctx).With("notice", e.ID)
	starter := r.Workflows[p.Option]
	if !p.Open() || starter == nil {
		if p.Open() {
			log.Error("no workflow for the provider's option; not started", "option", string(p.Option))
		}
		return r.remove(ctx, p, e, "")
	}
	arn, err := starter.Start(ctx, workflow.Input{AccountID: p.AccountID, ProviderID: p.ID})
	if err != nil {
		log.Warn("workflow not started yet; stays pending", "error", err.Error())
		return fmt.Errorf("start the workflow of %s: %w", p.ID, err)
	}
	if _, err := r.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.RecordWorkflowStarted(e.ID, arn)
		return nil
	}); err != nil {
		return fmt.Errorf("record the execution of %s: %w", p.ID, err)
	}
	log.Info("workflow started", "execution_arn", arn)
	return nil
}

// RelayFromEnv is the Relay a function builds at start-up: the brand
// (mail.BrandFromEnv), the representatives' address REPRESENTATIVES_EMAIL,
// the clock real time in UTC.
func RelayFromEnv(env *config.Env, store Store, mailer Sender, tasks Tasks, workflows map[provider.Option]Starter) *Relay {
	return &Relay{
		Store: store, Mailer: mailer, Tasks: tasks, Workflows: workflows,
		Brand:           mail.BrandFromEnv(env),
		Representatives: env.Required("REPRESENTATIVES_EMAIL"),
		Now:             func() time.Time { return time.Now().UTC() },
	}
}
