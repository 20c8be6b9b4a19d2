package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/consent/mailing"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store is what the invitation task reads and writes.
type Store interface {
	GetAccount(ctx context.Context, accountID string) (*account.Account, error)
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
	// PutInvitation stores the record; it refuses (invalid_state) to reopen a closed one.
	PutInvitation(ctx context.Context, r consent.Record) error
	GetInvitation(ctx context.Context, hash string) (*consent.Record, error)
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// TaskResumer resumes a waiting task.
type TaskResumer interface {
	Succeed(ctx context.Context, token string, output any) error
}

// Handler is the AwaitConsent task: on each run it keeps the new task token
// behind the invitation and sends the invitation or a reminder when due.
type Handler struct {
	Store  Store
	Mailer Mailer
	Tasks  TaskResumer
	// Key derives the invitation links (a consent.Key, or
	// consent.KeyFromEnv: read on first use).
	Key      consent.KeySource
	Schedule consent.Schedule
	// BaseURL is the public API's base URL; links are BaseURL + "/consent/" + id.
	BaseURL string
	Brand   mail.Brand
	Now     func() time.Time
}

// Handle runs one AwaitConsent invocation, in the task wrapper (input
// validated, provider read, errors named, logs with the provider and
// execution).
func (h *Handler) Handle(ctx context.Context, in workflow.InviteInput) (workflow.InviteOutput, error) {
	return workflow.Run(ctx, in, h.Store, func(ctx context.Context, p *provider.Provider) (workflow.InviteOutput, error) {
		return h.invite(ctx, in, p)
	})
}

// invite keeps the task token behind the invitation and sends the email
// the schedule finds due; at the expiry it ends the wait (invitation_expired).
func (h *Handler) invite(ctx context.Context, in workflow.InviteInput, p *provider.Provider) (workflow.InviteOutput, error) {
	log := logging.From(ctx)
	switch {
	case p.ConsentRecorded():
		// Consent was recorded but the resume did not reach this wait
		// (the callback's SendTaskSuccess failed or raced a timeout): resume now.
		if err := h.resume(ctx, in.TaskToken, p.TenantID); err != nil {
			return workflow.InviteOutput{}, err
		}
		log.Info("consent already recorded; workflow resumed")
		return workflow.InviteOutput{Sent: string(provider.ActionResumeOK)}, nil
	case p.Status != provider.StatusPendingConsent:
		return workflow.InviteOutput{}, apperr.New(apperr.InvalidState, fmt.Sprintf("provider is %s; no invitation to send", p.Status))
	}

	now := h.Now()
	action := h.Schedule.Due(p.Invitation, now)
	if action == provider.ActionExpire {
		return workflow.InviteOutput{}, h.expire(ctx, p)
	}

	// The link is derived from a nonce kept on the provider; make sure one
	// exists before anything is sent so every retry sends the same link.
	p, err := h.ensureNonce(ctx, p)
	if err != nil {
		return workflow.InviteOutput{}, err
	}
	expires := now.Add(h.Schedule.Expiry)
	if p.Invitation.ExpiresAt != nil {
		expires = *p.Invitation.ExpiresAt
	}
	rec := consent.Record{Hash: p.Invitation.Hash, AccountID: p.AccountID, ProviderID: p.ID, TaskToken: in.TaskToken, Status: consent.StatusOpen, ExpiresAt: expires, UpdatedAt: now}
	if err := h.Store.PutInvitation(ctx, rec); err != nil {
		if apperr.Is(err, apperr.InvalidState) {
			return h.closed(ctx, p.Invitation.Hash, in.TaskToken)
		}
		return workflow.InviteOutput{}, err
	}
	if action == provider.ActionWait {
		log.Info("invitation task token renewed; nothing to send")
		return workflow.InviteOutput{Sent: string(action)}, nil
	}

	// Claim the email before sending it, with a conditional write on fresh
	// data: two overlapping runs (a slow run and the next poll, or a retry)
	// cannot both send it. If the send fails, the claim is given back so a
	// retry sends it; only a crash between claim and send loses an email.
	claim := provider.NewClaimID()
	var claimed bool
	var event provider.Event
	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		claimed, event = q.ClaimInvitationEmail(h.Schedule, action, claim, expires, now)
		return nil
	})
	if err != nil {
		return workflow.InviteOutput{}, err
	}
	if !claimed {
		log.Info("email already sent by another run")
		return workflow.InviteOutput{Sent: string(provider.ActionWait)}, nil
	}
	mailing := mailing.Mailing{Key: h.Key, BaseURL: h.BaseURL, Brand: h.Brand, Accounts: h.Store, Mailer: h.Mailer}
	if err := mailing.Send(ctx, p, string(action), expires); err != nil {
		h.unclaim(ctx, p, action, event)
		return workflow.InviteOutput{}, err
	}
	log.Info("consent email sent", "kind", string(action), "to", logging.MaskEmail(p.AzureAdminEmail))
	return workflow.InviteOutput{Sent: string(action)}, nil
}

// resume resumes the wait with the consent recorded in tenantID; a token
// that no longer waits is fine (the wait moved on).
func (h *Handler) resume(ctx context.Context, token, tenantID string) error {
	if err := h.Tasks.Succeed(ctx, token, workflow.ConsentResult{TenantID: tenantID}); err != nil && !errors.Is(err, workflow.ErrTaskGone) {
		return &apperr.Error{Code: apperr.Unavailable, Message: "resume after recorded consent failed", Cause: err}
	}
	return nil
}

// unclaim gives back a claimed email whose send failed, so that the retry
// sends it. It removes exactly what the claim wrote.
func (h *Handler) unclaim(ctx context.Context, p *provider.Provider, action provider.InvitationAction, event provider.Event) {
	_, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.UnclaimInvitationEmail(action, event)
		return nil
	})
	if err != nil {
		logging.From(ctx).Error("could not give back an unsent email's claim", "error", err.Error())
	}
}

// closed handles an invitation the callback already closed: the callback
// recorded the administrator's answer but could not resume this wait (its
// provider update or its SendTask call failed). Resume with that answer.
func (h *Handler) closed(ctx context.Context, hash, token string) (workflow.InviteOutput, error) {
	rec, err := h.Store.GetInvitation(ctx, hash)
	if err != nil {
		return workflow.InviteOutput{}, err
	}
	switch rec.Status {
	case consent.StatusConsented:
		// The callback may have closed the invitation without recording the
		// consent on the provider (its write failed): record it here, once.
		if _, err := h.Store.UpdateProvider(ctx, rec.AccountID, rec.ProviderID, func(q *provider.Provider) error {
			q.RecordConsent(rec.TenantID, "", h.Now())
			return nil
		}); err != nil {
			return workflow.InviteOutput{}, err
		}
		if err := h.resume(ctx, token, rec.TenantID); err != nil {
			return workflow.InviteOutput{}, err
		}
		return workflow.InviteOutput{Sent: string(provider.ActionResumeOK)}, nil
	case consent.StatusDeclined:
		return workflow.InviteOutput{}, provider.EndError(apperr.ConsentDeclined)
	case consent.StatusExpired:
		return workflow.InviteOutput{}, provider.EndError(apperr.InvitationExpired)
	}
	return workflow.InviteOutput{}, apperr.New(apperr.InvalidState, "the invitation is closed ("+string(rec.Status)+")")
}

// ensureNonce gives the invitation its nonce once (StartInvitation).
func (h *Handler) ensureNonce(ctx context.Context, p *provider.Provider) (*provider.Provider, error) {
	if p.Invitation != nil && p.Invitation.Nonce != "" {
		return p, nil
	}
	nonce, err := consent.NewNonce()
	if err != nil {
		return nil, &apperr.Error{Code: apperr.Unavailable, Message: "no randomness for the invitation", Cause: err}
	}
	key, err := h.Key.SigningKey(ctx)
	if err != nil {
		return nil, err
	}
	hash := consent.Hash(key.InvitationID(p.ID, nonce))
	return h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		return q.StartInvitation(nonce, hash)
	})
}

// expire closes the invitation; the state machine records the status.
func (h *Handler) expire(ctx context.Context, p *provider.Provider) error {
	if p.Invitation != nil && p.Invitation.Hash != "" {
		// Closing is best effort here: the recorder closes it again.
		_ = h.Store.PutInvitation(ctx, consent.Record{Hash: p.Invitation.Hash, AccountID: p.AccountID, ProviderID: p.ID, Status: consent.StatusExpired, ExpiresAt: *p.Invitation.ExpiresAt, UpdatedAt: h.Now()})
	}
	return provider.EndError(apperr.InvitationExpired)
}
