package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/workflow"
)

// Store is what the outcome recorder reads and writes.
type Store interface {
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
	CloseInvitation(ctx context.Context, hash string, to consent.Status, tenantID string) (*consent.Record, error)
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Handler records how a migration ended: active, declined, expired or
// failed. It is idempotent: a repeated call changes nothing and sends no
// second email.
type Handler struct {
	Store  Store
	Mailer Mailer
	Brand  mail.Brand
	// ConsoleURL is where the requester sees the provider (optional).
	ConsoleURL string
	// PublicBaseURL starts the initial credentials link of option new.
	PublicBaseURL string
	// LinkLifetime is how long that link works; default DefaultLinkLifetime.
	LinkLifetime time.Duration
	Now          func() time.Time
}

// Handle records one outcome, in the task wrapper (input validated, errors
// named, logs with the provider and execution).
func (h *Handler) Handle(ctx context.Context, in workflow.OutcomeInput) (workflow.OutcomeOutput, error) {
	return workflow.Run(ctx, in, nil, func(ctx context.Context, _ *provider.Provider) (workflow.OutcomeOutput, error) {
		return h.record(ctx, in)
	})
}

// record writes the outcome on the provider (why it stopped, from the
// error the state machine caught), closes the invitation of a migration
// that did not become active, and tells the requester once.
func (h *Handler) record(ctx context.Context, in workflow.OutcomeInput) (workflow.OutcomeOutput, error) {
	var code apperr.Code
	if in.Error != nil {
		code = workflow.CodeOf(in.Error.Error)
	}
	now := h.Now()
	p, err := h.Store.UpdateProvider(ctx, in.AccountID, in.ProviderID, func(q *provider.Provider) error {
		_, err := q.RecordOutcome(in.Outcome, in.TenantID, code, now)
		return err
	})
	if err != nil {
		return workflow.OutcomeOutput{}, err
	}
	if in.Outcome != provider.StatusActive && p.Invitation != nil && p.Invitation.Hash != "" {
		if _, err := h.Store.CloseInvitation(ctx, p.Invitation.Hash, consent.ClosedBy(in.Outcome), ""); err != nil && !apperr.Is(err, apperr.InvalidState) {
			return workflow.OutcomeOutput{}, err
		}
	}
	// A migration whose subscriptions all ended without any coming under
	// the partner is recorded failed, not active (provider.RecordOutcome).
	notConsolidated := in.Outcome == provider.StatusActive && p.Status == provider.StatusFailed && p.FailureCode == string(apperr.BillingNotConsolidated)
	if (p.Status == in.Outcome || notConsolidated) && !p.OutcomeEmailSent {
		if err := h.email(ctx, p); err != nil {
			return workflow.OutcomeOutput{}, err
		}
	}
	logging.From(ctx).Info("outcome recorded", "status", p.Status)
	if notConsolidated {
		return workflow.OutcomeOutput{}, apperr.New(apperr.BillingNotConsolidated, p.FailureReason)
	}
	return workflow.OutcomeOutput{Status: p.Status}, nil
}

// email tells the requester how it ended, once: the flag is claimed with a
// conditional write before sending. A send that fails for a passing reason
// (SES throttling or unavailable) gives the claim back and returns a
// passing error (TransientError for the state machine), whose Retry re-runs: the re-run claims
// and sends again, so the email (with the credentials link of option new)
// is neither lost nor sent twice. A message SES refuses for good is not
// retried.
func (h *Handler) email(ctx context.Context, p *provider.Provider) error {
	// The claim carries this run's id: if the write succeeded but its reply
	// was lost and the store re-runs this, the claim is recognised as ours.
	// A new customer's initial admin credentials: the claim also records
	// the hash of a fresh single-use link token, so the link this run sends
	// is the one the store knows; the token itself is in the email only.
	claim := provider.NewClaimID()
	linkToken, linkHash := provider.NewLinkToken()
	linkExpires := h.Now().UTC().Add(h.linkLifetime())
	var claimed, withLink bool
	_, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		claimed, withLink = q.ClaimOutcomeEmail(claim, linkHash, linkExpires)
		return nil
	})
	if err != nil {
		return err
	}
	if !claimed || p.RequesterEmail == "" {
		return nil
	}
	n := mail.Notice{Brand: h.Brand, Link: h.ConsoleURL}
	if p.Status == provider.StatusActive {
		n.Subject = "Your Azure account is now under the partner's care: " + p.Name
		n.Heading = "Migration complete"
		if p.Option == provider.OptionNew {
			n.Subject = "Your new Azure account is ready: " + p.Name
			n.Heading = "New Azure account ready"
		}
		n.Paragraphs = []string{
			fmt.Sprintf("The Azure provider %q is active. Tenant %s and its subscriptions are under %s's care, with billing consolidated from %s.", p.Name, p.TenantID, h.Brand.PartnerName, p.BillingFrom.UTC().Format("2 January 2006 15:04 MST")),
			"The platform now holds these permissions to work on your behalf:",
		}
		n.Items = provider.PermissionLines(p.Permissions)
		if lines := provider.RouteLines(p.Subscriptions); len(lines) > 0 {
			n.Paragraphs = append(n.Paragraphs[:1], "Each subscription: "+strings.Join(lines, " "), n.Paragraphs[1])
		}
		if p.Option == provider.OptionNew && p.InitialAdmin != nil {
			n.Paragraphs = append(n.Paragraphs[:1], "The new tenant's initial administrator is "+p.InitialAdmin.UserName+".", n.Paragraphs[1])
		}
		if withLink {
			n.Link = strings.TrimSuffix(h.PublicBaseURL, "/") + "/providers/" + url.PathEscape(p.ID) + "/initial-credentials?token=" + linkToken
			n.Paragraphs = append(n.Paragraphs, fmt.Sprintf("The administrator's initial password is shown once at the link below, which works a single time and expires in %s. Change the password at the first sign-in.", h.linkLifetime()))
		}
	} else {
		n.Subject = "Your Azure migration did not complete: " + p.Name
		n.Heading = "The migration stopped"
		n.Paragraphs = []string{
			fmt.Sprintf("The Azure provider %q is %s. %s", p.Name, p.Status, p.FailureReason),
			"What to do: create the provider again when the Azure administrator is ready, or contact us and quote provider id " + p.ID + ".",
		}
		n.Items = provider.RouteLines(p.Subscriptions)
	}
	msg, err := mail.RenderNotice(p.RequesterEmail, n)
	if err != nil {
		return fmt.Errorf("render outcome email: %w", err)
	}
	if _, err := h.Mailer.Send(ctx, msg); err != nil {
		if apperr.Is(err, apperr.EmailRejected) {
			logging.From(ctx).Error("outcome email refused by SES; not retried", "error", err.Error())
			return nil
		}
		logging.From(ctx).Warn("outcome email not sent; the claim is given back for the retry", "error", err.Error())
		h.unclaim(ctx, p, claim, linkHash)
		return &apperr.Error{Code: apperr.Unavailable, Message: "the outcome email could not be sent yet", Cause: err}
	}
	return nil
}

// unclaim gives back this run's claim of the outcome email, and the link
// token it recorded, so that the retry sends the email with a fresh link.
// If this write fails too the email is lost (the retry sees a claim that is
// not its own): logged as an error.
func (h *Handler) unclaim(ctx context.Context, p *provider.Provider, claim, linkHash string) {
	_, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		q.UnclaimOutcomeEmail(claim, linkHash)
		return nil
	})
	if err != nil {
		logging.From(ctx).Error("could not give back the outcome email's claim; the email is lost", "error", err.Error())
	}
}

// DefaultLinkLifetime is how long the initial credentials link works.
const DefaultLinkLifetime = 72 * time.Hour

func (h *Handler) linkLifetime() time.Duration {
	if h.LinkLifetime > 0 {
		return h.LinkLifetime
	}
	return DefaultLinkLifetime
}
