package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/consent/mailing"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
)

// DefaultInterval is the least time between two resends of one provider's
// consent email.
const DefaultInterval = 5 * time.Minute

// Store is what POST /providers/{id}/resend reads and writes.
type Store interface {
	GetAccount(ctx context.Context, accountID string) (*account.Account, error)
	// GetProvider returns not_found for an unknown id and for another
	// account's provider.
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	// UpdateProvider applies mutate under optimistic locking (conditional on
	// the version read, re-read and re-applied on a lost race); an error from
	// mutate aborts the write and is returned as is.
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Handler serves POST /providers/{id}/resend: the consent email again, with
// the same link and expiry, at most once per Interval and provider.MaxResends
// times per invitation (the rules are the provider's: Provider.ClaimResend).
//
// Any user of the provider's account may resend (nothing here is reserved
// to administrators, and the email goes only to the address the admin who
// created the provider gave). Another account's provider is 404.
//
// The limits hold under concurrency: a resend first claims the slot
// (Invitation.ClaimResend: LastResentAt and the claim count) with the store's
// optimistic UpdateProvider, re-checking the limits inside mutate, so of two
// concurrent requests only one can write; the other re-reads, sees the claim
// and gets 429.
//
// When SES fails after the slot was claimed the slot is not released: SES may
// have accepted the message before the error (a timeout), and releasing it
// would let a flaky SES turn into a burst of emails to the customer's
// administrator. The answer is 500 internal with a message saying when to try
// again, and a Retry-After header.
type Handler struct {
	Store  Store
	Mailer Mailer
	// Key derives the invitation link (a consent.Key, or
	// consent.KeyFromEnv: read on first use).
	Key consent.KeySource
	// BaseURL is the public API's base URL; links are BaseURL + "/consent/" + id.
	BaseURL  string
	Brand    mail.Brand
	Interval time.Duration
	Now      func() time.Time
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	p, err := h.Store.GetProvider(ctx, caller.AccountID, req.PathParameters["id"])
	if err != nil {
		return api.Response{}, err
	}
	log := logging.From(ctx).With("provider_id", p.ID)
	ctx = logging.With(ctx, log)
	now := h.Now().UTC()
	// Refuse early without a write; the claim checks again.
	if err := p.CheckResend(now, h.Interval); err != nil {
		return h.refuse(req, err)
	}

	by := caller.Requester().By()
	p, err = h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		return q.ClaimResend(now, h.Interval)
	})
	if err != nil {
		return h.refuse(req, err)
	}

	mailing := mailing.Mailing{Key: h.Key, BaseURL: h.BaseURL, Brand: h.Brand, Accounts: h.Store, Mailer: h.Mailer}
	if err := mailing.Send(ctx, p, "resend", *p.Invitation.ExpiresAt); err != nil {
		msg := fmt.Sprintf("The consent email could not be sent. Please try again in %s.", minutes(h.Interval))
		if apperr.Is(err, apperr.EmailRejected) {
			msg = "The consent email could not be delivered to the Azure administrator's address. Contact support with this request id."
		}
		log.Error("consent email resend failed; the resend slot stays claimed", "by", by, "error", err.Error())
		resp := api.Error(req, &apperr.Error{Code: apperr.Internal, Message: msg, Cause: err})
		resp.Headers["Retry-After"] = strconv.Itoa(seconds(h.Interval))
		return resp, nil
	}

	q, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.RecordResent(by, now)
		return nil
	})
	if err != nil {
		// The email went out; only the timeline entry is missing. Answer
		// with what was claimed rather than invite a retry that sends again.
		log.Error("consent email resent but the timeline event was not recorded", "error", err.Error())
		q = p
	}
	log.Info("consent email resent", "by", by, "to", logging.MaskEmail(q.AzureAdminEmail))
	return api.JSON(req, api.StatusAccepted, q.View()), nil
}

// refuse turns a check's error into the response; a 429 within the interval
// carries Retry-After, one for used-up resends says what to do instead.
func (h *Handler) refuse(req api.Request, err error) (api.Response, error) {
	var refused *provider.ResendRefused
	if !errors.As(err, &refused) {
		return api.Response{}, err
	}
	if refused.Exhausted {
		e := apperr.New(apperr.TooManyRequests, fmt.Sprintf(
			"The consent email was already resent %d times, the most for one invitation. Ask the Azure administrator to use the link in one of the emails already sent (it works until it expires), or cancel this provider and create a new one.", provider.MaxResends))
		e.Extra = map[string]any{"maxResends": provider.MaxResends}
		return api.Error(req, e), nil
	}
	secs := seconds(refused.RetryAfter)
	e := apperr.New(apperr.TooManyRequests, fmt.Sprintf(
		"The consent email can be resent at most once every %s; try again in %d seconds.", minutes(h.Interval), secs))
	e.Extra = map[string]any{"retryAfterSeconds": secs}
	resp := api.Error(req, e)
	resp.Headers["Retry-After"] = strconv.Itoa(secs)
	return resp, nil
}

// seconds is a Retry-After value: whole seconds, rounded up, at least 1.
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// minutes names an interval for a message ("5 minutes").
func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		if n := int(d / time.Minute); n != 1 {
			return strconv.Itoa(n) + " minutes"
		}
		return "1 minute"
	}
	return d.String()
}
