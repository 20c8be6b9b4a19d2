package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// reasons are safe, user-facing explanations by error name.
var reasons = map[string]string{
	"ConsentDeclined":           "The Azure administrator declined to authorize the partner.",
	"InvitationExpired":         "The invitation expired before the Azure administrator consented.",
	"OwnershipDeadlineExceeded": "Owner access was not granted on every subscription before the deadline.",
	"ConsentRevoked":            "The customer tenant revoked the partner's access during the migration.",
	"EmailRejected":             "The consent email could not be delivered to the Azure administrator's address.",
	"States.Timeout":            "A step of the migration timed out.",
	"DomainTaken":               "The onmicrosoft.com domain of the new customer account is already in use.",
	"AddressInvalid":            "Partner Center did not accept the company's address.",
	"PartnerCenterRejected":     "Partner Center refused to create the new customer account.",
	"SubscriptionPending":       "The Azure plan's subscription did not appear in time.",
	"TenantAlreadyConnected":    provider.TenantRefusalReason(provider.FailureTenantAlreadyConnected),
	"MigrationInProgress":       provider.TenantRefusalReason(provider.FailureMigrationInProgress),
}

// Handle records one outcome.
func (h *Handler) Handle(ctx context.Context, in workflow.OutcomeInput) (workflow.OutcomeOutput, error) {
	if err := in.Validate(); err != nil {
		return workflow.OutcomeOutput{}, err
	}
	switch in.Outcome {
	case provider.StatusActive, provider.StatusDeclined, provider.StatusExpired, provider.StatusFailed:
	default:
		return workflow.OutcomeOutput{}, &workflow.InvalidInput{Reason: fmt.Sprintf("unknown outcome %q", in.Outcome)}
	}
	log := logging.From(ctx).With("provider_id", in.ProviderID, "execution_arn", in.ExecutionARN, "outcome", in.Outcome)
	ctx = logging.With(ctx, log)
	now := h.Now()
	reason := reasonFor(in)

	p, err := h.Store.UpdateProvider(ctx, in.AccountID, in.ProviderID, func(q *provider.Provider) error {
		if q.Status == in.Outcome || q.Status.Terminal() {
			return nil // already recorded (or cancelled meanwhile): nothing to change
		}
		if err := provider.CheckTransition(q.Status, in.Outcome); err != nil {
			return apperr.New(apperr.InvalidState, err.Error())
		}
		q.Status = in.Outcome
		if in.Outcome == provider.StatusActive {
			complete(q, in.TenantID, now)
		} else {
			q.FailureReason = reason
			q.AddEvent(provider.Event{At: now, Status: q.Status, What: reason, By: "system"})
		}
		return nil
	})
	if err != nil {
		return workflow.OutcomeOutput{}, workflow.Named(err)
	}
	if in.Outcome != provider.StatusActive && p.Invitation != nil && p.Invitation.Hash != "" {
		closeAs := map[provider.Status]consent.Status{provider.StatusDeclined: consent.StatusDeclined, provider.StatusExpired: consent.StatusExpired, provider.StatusFailed: consent.StatusCancelled}[in.Outcome]
		if _, err := h.Store.CloseInvitation(ctx, p.Invitation.Hash, closeAs, ""); err != nil && !apperr.Is(err, apperr.InvalidState) {
			return workflow.OutcomeOutput{}, workflow.Named(err)
		}
	}
	if p.Status == in.Outcome && !p.OutcomeEmailSent {
		if err := h.email(ctx, p); err != nil {
			return workflow.OutcomeOutput{}, err
		}
	}
	log.Info("outcome recorded", "status", p.Status)
	return workflow.OutcomeOutput{Status: p.Status}, nil
}

// complete marks the provider active: subscriptions under the partner's
// care, billing consolidated from now, the permissions the platform holds.
func complete(q *provider.Provider, tenantID string, now time.Time) {
	if tenantID != "" {
		q.TenantID = tenantID
	}
	q.Billing = "consolidated"
	t := now
	q.BillingFrom = &t
	principal := q.PrincipalID
	if q.OwnerPrincipal != "" {
		principal = q.OwnerPrincipal
	}
	q.Permissions = []string{"CSP reseller relationship with tenant " + q.TenantID, "Admin consent for the partner application in tenant " + q.TenantID}
	for _, s := range q.Subscriptions {
		q.Permissions = append(q.Permissions, fmt.Sprintf("Owner on /subscriptions/%s for principal %s", s.ID, principal))
	}
	q.FailureReason = ""
	if q.Option == provider.OptionNew {
		// A customer the partner created: the reseller relationship comes
		// with the tenant, and the Azure plan is the partner's order.
		q.Permissions = []string{"CSP reseller relationship with tenant " + q.TenantID + " (customer created by the partner)", "Delegated administration in tenant " + q.TenantID}
		for _, s := range q.Subscriptions {
			q.Permissions = append(q.Permissions, fmt.Sprintf("Azure plan subscription /subscriptions/%s ordered by the partner", s.ID))
		}
		q.AddEvent(provider.Event{At: now, Status: provider.StatusActive, What: fmt.Sprintf("New customer account ready: tenant %s with %d Azure plan subscription(s); billing consolidated from now.", q.TenantID, len(q.Subscriptions)), By: "system"})
		return
	}
	q.AddEvent(provider.Event{At: now, Status: provider.StatusActive, What: fmt.Sprintf("Migration complete: %d subscription(s) under the partner's care; billing consolidated from now.", len(q.Subscriptions)), By: "system"})
}

func reasonFor(in workflow.OutcomeInput) string {
	if in.Outcome == provider.StatusActive {
		return ""
	}
	if in.Error != nil {
		if r, ok := reasons[in.Error.Error]; ok {
			return r
		}
	}
	switch in.Outcome {
	case provider.StatusDeclined:
		return reasons["ConsentDeclined"]
	case provider.StatusExpired:
		return reasons["InvitationExpired"]
	}
	return "An internal error stopped the migration. Contact support with the provider id."
}

// email tells the requester how it ended, once: the flag is claimed with a
// conditional write before sending. A send that fails for a passing reason
// (SES throttling or unavailable) gives the claim back and returns a
// TransientError, which the state machine's Retry re-runs: the re-run claims
// and sends again, so the email (with the credentials link of option new)
// is neither lost nor sent twice. A message SES refuses for good is not
// retried.
func (h *Handler) email(ctx context.Context, p *provider.Provider) error {
	// The claim carries this run's id: if the write succeeded but its reply
	// was lost and the store re-runs this, the claim is recognised as ours.
	claim := newClaimID()
	claimed := false
	// A new customer's initial admin credentials: the claim also records
	// the hash of a fresh single-use link token, so the link this run sends
	// is the one the store knows; the token itself is in the email only.
	linkToken, linkHash := newLinkToken()
	withLink := false
	_, err := h.Store.UpdateProvider(ctx, p.AccountID, p.ID, func(q *provider.Provider) error {
		if q.OutcomeEmailSent {
			claimed = q.OutcomeEmailClaim == claim
			return nil
		}
		claimed = true
		q.OutcomeEmailSent, q.OutcomeEmailClaim = true, claim
		withLink = false
		if ia := q.InitialAdmin; q.Status == provider.StatusActive && ia != nil && ia.SecretARN != "" && ia.TokenHash == "" {
			exp := h.Now().UTC().Add(h.linkLifetime())
			ia.TokenHash, ia.ExpiresAt = linkHash, &exp
			withLink = true
		}
		return nil
	})
	if err != nil {
		return workflow.Named(err)
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
		n.Items = p.Permissions
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
		if q.OutcomeEmailClaim != claim {
			return nil
		}
		q.OutcomeEmailSent, q.OutcomeEmailClaim = false, ""
		if ia := q.InitialAdmin; ia != nil && ia.TokenHash == linkHash {
			ia.TokenHash, ia.ExpiresAt = "", nil
		}
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

// newLinkToken returns a random 256-bit link token and its SHA-256 hash.
func newLinkToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(sum[:])
}

func newClaimID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
