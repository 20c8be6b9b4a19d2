package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
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
	Store    Store
	Mailer   Mailer
	Tasks    TaskResumer
	Key      consent.Key
	Schedule consent.Schedule
	// BaseURL is the public API's base URL; links are BaseURL + "/consent/" + id.
	BaseURL string
	Brand   mail.Brand
	Now     func() time.Time
}

// Handle runs one AwaitConsent invocation.
func (h *Handler) Handle(ctx context.Context, in workflow.InviteInput) (workflow.InviteOutput, error) {
	if err := in.Validate(); err != nil {
		return workflow.InviteOutput{}, err
	}
	if in.TaskToken == "" {
		return workflow.InviteOutput{}, &workflow.InvalidInput{Reason: "taskToken is required"}
	}
	log := logging.From(ctx).With("provider_id", in.ProviderID, "execution_arn", in.ExecutionARN)
	ctx = logging.With(ctx, log)

	p, err := h.Store.GetProvider(ctx, in.AccountID, in.ProviderID)
	if err != nil {
		return workflow.InviteOutput{}, workflow.Named(err)
	}
	switch {
	case p.Status == provider.StatusAwaitingOwnerAccess || p.Status == provider.StatusActive:
		// Consent was recorded but the resume did not reach this wait
		// (the callback's SendTaskSuccess failed or raced a timeout): resume now.
		if err := h.Tasks.Succeed(ctx, in.TaskToken, workflow.ConsentResult{TenantID: p.TenantID}); err != nil && !errors.Is(err, workflow.ErrTaskGone) {
			return workflow.InviteOutput{}, &workflow.TransientError{Reason: "resume after recorded consent failed"}
		}
		log.Info("consent already recorded; workflow resumed")
		return workflow.InviteOutput{Sent: string(consent.ActionResumeOK)}, nil
	case p.Status != provider.StatusPendingConsent:
		return workflow.InviteOutput{}, &workflow.InvalidInput{Reason: fmt.Sprintf("provider is %s; no invitation to send", p.Status)}
	}

	now := h.Now()
	var sentAt time.Time
	reminders := 0
	if p.Invitation != nil && p.Invitation.SentAt != nil {
		sentAt, reminders = *p.Invitation.SentAt, p.Invitation.RemindersSent
	}
	action := h.Schedule.Next(now, sentAt, reminders)
	if action == consent.ActionExpire {
		return workflow.InviteOutput{}, h.expire(ctx, p)
	}

	// The link is derived from a nonce kept on the provider; make sure one
	// exists before anything is sent so every retry sends the same link.
	p, err = h.ensureNonce(ctx, p)
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
		return workflow.InviteOutput{}, workflow.Named(err)
	}
	if action == consent.ActionWait {
		log.Info("invitation task token renewed; nothing to send")
		return workflow.InviteOutput{Sent: string(action)}, nil
	}

	kind := "invitation"
	if action == consent.ActionRemind {
		kind = "reminder"
	}
	// Claim the email before sending it, with a conditional write on fresh
	// data: two overlapping runs (a slow run and the next poll, or a retry)
	// cannot both send it. If the send fails, the claim is given back so a
	// retry sends it; only a crash between claim and send loses an email.
	event := provider.Event{At: now, By: "system"}
	claim := newClaimID()
	claimed := false
	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		claimed = false
		inv := q.Invitation
		if inv.ClaimID == claim {
			claimed = true // our claim was written; the reply was lost
			return nil
		}
		var sent time.Time
		if inv.SentAt != nil {
			sent = *inv.SentAt
		}
		if q.Status != provider.StatusPendingConsent || h.Schedule.Next(now, sent, inv.RemindersSent) != action {
			return nil // another run sent it, or the provider moved on
		}
		t := now
		inv.LastSentAt = &t
		event.Status = q.Status
		event.What = "Reminder email sent to the Azure administrator (" + logging.MaskEmail(q.AzureAdminEmail) + ")."
		if action == consent.ActionSend {
			inv.SentAt, inv.ExpiresAt = &t, &expires
			event.What = "Consent email sent to the Azure administrator (" + logging.MaskEmail(q.AzureAdminEmail) + "); the link expires on " + expires.UTC().Format(time.RFC1123) + "."
		} else {
			inv.RemindersSent++
			event.Kind = provider.EventReminderSent
		}
		q.AddEvent(event)
		inv.ClaimID = claim
		claimed = true
		return nil
	})
	if err != nil {
		return workflow.InviteOutput{}, workflow.Named(err)
	}
	if !claimed {
		log.Info("email already sent by another run")
		return workflow.InviteOutput{Sent: string(consent.ActionWait)}, nil
	}
	if err := h.send(ctx, p, kind, expires); err != nil {
		h.unclaim(ctx, p, action, event)
		return workflow.InviteOutput{}, err
	}
	log.Info("consent email sent", "kind", kind, "to", logging.MaskEmail(p.AzureAdminEmail))
	return workflow.InviteOutput{Sent: string(action)}, nil
}

// unclaim gives back a claimed email whose send failed, so that the retry
// sends it. It removes exactly what the claim wrote.
func (h *Handler) unclaim(ctx context.Context, p *provider.Provider, action consent.Action, event provider.Event) {
	_, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if q.RemoveEvent(event) {
			if action == consent.ActionSend {
				q.Invitation.SentAt, q.Invitation.ExpiresAt = nil, nil
			} else if q.Invitation.RemindersSent > 0 {
				q.Invitation.RemindersSent--
			}
		}
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
		return workflow.InviteOutput{}, workflow.Named(err)
	}
	switch rec.Status {
	case consent.StatusConsented:
		// The callback may have closed the invitation without recording the
		// consent on the provider (its write failed): record it here, once.
		if _, err := h.Store.UpdateProvider(ctx, rec.AccountID, rec.ProviderID, func(q *provider.Provider) error {
			q.RecordConsent(rec.TenantID, "", h.Now())
			return nil
		}); err != nil {
			return workflow.InviteOutput{}, workflow.Named(err)
		}
		if err := h.Tasks.Succeed(ctx, token, workflow.ConsentResult{TenantID: rec.TenantID}); err != nil && !errors.Is(err, workflow.ErrTaskGone) {
			return workflow.InviteOutput{}, &workflow.TransientError{Reason: "resume after recorded consent failed"}
		}
		return workflow.InviteOutput{Sent: string(consent.ActionResumeOK)}, nil
	case consent.StatusDeclined:
		return workflow.InviteOutput{}, &workflow.ConsentDeclined{Reason: "The Azure administrator declined the consent."}
	case consent.StatusExpired:
		return workflow.InviteOutput{}, &workflow.InvitationExpired{Reason: "The invitation expired before the Azure administrator consented."}
	}
	return workflow.InviteOutput{}, &workflow.InvalidInput{Reason: "the invitation is closed (" + string(rec.Status) + ")"}
}

func (h *Handler) ensureNonce(ctx context.Context, p *provider.Provider) (*provider.Provider, error) {
	if p.Invitation != nil && p.Invitation.Nonce != "" {
		return p, nil
	}
	nonce, err := consent.NewNonce()
	if err != nil {
		return nil, &workflow.TransientError{Reason: "no randomness for the invitation"}
	}
	q, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if q.Status != provider.StatusPendingConsent {
			return apperr.New(apperr.InvalidState, "provider is "+string(q.Status)+"; no invitation to send")
		}
		if q.Invitation == nil {
			q.Invitation = &provider.Invitation{}
		}
		if q.Invitation.Nonce == "" {
			q.Invitation.Nonce = nonce
			q.Invitation.Hash = consent.Hash(h.Key.InvitationID(q.ID, nonce))
		}
		return nil
	})
	if err != nil {
		return nil, workflow.Named(err)
	}
	return q, nil
}

func (h *Handler) send(ctx context.Context, p *provider.Provider, kind string, expires time.Time) error {
	org := p.AccountID
	if a, err := h.Store.GetAccount(ctx, p.AccountID); err == nil && a != nil && a.Name != "" {
		org = a.Name
	}
	msg, err := h.Key.Email(h.BaseURL, h.Brand, p, org, kind, expires)
	if err != nil {
		return err
	}
	if _, err := h.Mailer.Send(ctx, msg); err != nil {
		return err // already a named workflow error
	}
	return nil
}

// expire closes the invitation; the state machine records the status.
func (h *Handler) expire(ctx context.Context, p *provider.Provider) error {
	if p.Invitation != nil && p.Invitation.Hash != "" {
		// Closing is best effort here: the recorder closes it again.
		_ = h.Store.PutInvitation(ctx, consent.Record{Hash: p.Invitation.Hash, AccountID: p.AccountID, ProviderID: p.ID, Status: consent.StatusExpired, ExpiresAt: *p.Invitation.ExpiresAt, UpdatedAt: h.Now()})
	}
	return &workflow.InvitationExpired{Reason: "The invitation expired before the Azure administrator consented."}
}

func newClaimID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
