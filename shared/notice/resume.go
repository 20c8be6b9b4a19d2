package notice

import (
	"context"
	"errors"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// declineCause is why the wait ends when the administrator declines.
const declineCause = "The Azure administrator declined the partner's admin consent request."

// Invitations reads an invitation record and marks its resume done
// (store.Store).
type Invitations interface {
	GetInvitation(ctx context.Context, hash string) (*consent.Record, error)
	ResumeDone(ctx context.Context, hash string) error
}

// Tasks resumes a waiting Step Functions task (stepfunctions.Tasks).
type Tasks interface {
	Succeed(ctx context.Context, token string, output any) error
	Fail(ctx context.Context, token, name, cause string) error
}

// Resumer tells the workflow's AwaitConsent wait how an invitation ended,
// once the consent pages closed it (consent.Record.ResumeSince).
type Resumer struct {
	Invitations Invitations
	Tasks       Tasks
}

// Resume resumes the wait of the invitation with that hash: success with
// the tenant and time of consent, or the failure named for a decline or a
// refused tenant. A token that no longer waits is fine (the AwaitConsent
// task, run again when its wait times out, finds the outcome in the
// record); so is a record already resumed. Any other failure is returned,
// and the stream delivers the record again.
func (r *Resumer) Resume(ctx context.Context, hash string) error {
	log := logging.From(ctx)
	rec, err := r.Invitations.GetInvitation(ctx, hash)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.ResumeSince == nil {
		return nil
	}
	log = log.With("provider_id", rec.ProviderID)
	err = r.signal(ctx, rec)
	switch {
	case errors.Is(err, workflow.ErrTaskGone):
		log.Info("task no longer waiting; the AwaitConsent task resumes on its next run", "invitation_status", string(rec.Status))
	case err != nil:
		log.Warn("workflow not resumed; the record will be retried", "error", err.Error())
		return err
	default:
		log.Info("workflow resumed", "invitation_status", string(rec.Status))
	}
	return r.Invitations.ResumeDone(ctx, hash)
}

// signal sends the outcome the record holds to its task token.
func (r *Resumer) signal(ctx context.Context, rec *consent.Record) error {
	if rec.TaskToken == "" {
		logging.From(ctx).Error("invitation has no task token; the AwaitConsent task resumes on its next run")
		return nil
	}
	switch rec.Status {
	case consent.StatusConsented:
		out := workflow.ConsentResult{TenantID: rec.TenantID, ConsentedAt: rec.UpdatedAt}
		if rec.ConsentedAt != nil {
			out.ConsentedAt = *rec.ConsentedAt
		}
		return r.Tasks.Succeed(ctx, rec.TaskToken, out)
	case consent.StatusDeclined:
		name, cause := workflow.Failure(apperr.New(apperr.ConsentDeclined, declineCause))
		return r.Tasks.Fail(ctx, rec.TaskToken, name, cause)
	case consent.StatusRefused:
		code := rec.Refusal
		if code == "" {
			code = apperr.TenantAlreadyConnected
		}
		name, cause := workflow.Failure(provider.EndError(code))
		return r.Tasks.Fail(ctx, rec.TaskToken, name, cause)
	}
	return nil
}
