package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/ownership"
	"github.com/partnercloud/azure/shared/partnercenter"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/relationship"
	"github.com/partnercloud/azure/shared/store"
	"github.com/partnercloud/azure/shared/workflow"
)

// The adapters the check calls, each the part of its package's client it
// uses (interfaces at the consumer).
type (
	// Store lists the active providers and reads and writes one
	// (store.Store).
	Store interface {
		ListActive(ctx context.Context, limit int, cursor string) ([]store.ProviderRef, string, error)
		CountActive(ctx context.Context) (int, error)
		GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
		UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
	}
	// Azure confirms the admin consent (a new token in the tenant) and
	// checks Owner (ownership.Azure).
	Azure interface {
		ConfirmConsent(ctx context.Context, tenantID string) error
		Check(ctx context.Context, tenantID, principalID string, subscriptionIDs []string) (ownership.Result, error)
	}
	// PartnerCenter reads the tenant among the partner's customers and
	// the Azure subscriptions under its Azure plans with their status
	// (partnercenter.Client).
	PartnerCenter interface {
		Customer(ctx context.Context, tenantID string) (partnercenter.CustomerRelationship, error)
		AzureEntitlements(ctx context.Context, customerID string) ([]partnercenter.AzureEntitlement, error)
	}
	// Graph reads the admin relationship and its access assignments
	// (gdap.Client).
	Graph interface {
		Get(ctx context.Context, id string) (gdap.Relationship, error)
		AccessAssignments(ctx context.Context, relationshipID string) ([]gdap.AccessAssignment, error)
	}
	// Credentials proves a customer's own application credentials
	// (ownership.CustomerCredentials), option existing.
	Credentials interface {
		Prove(ctx context.Context, tenantID, clientID, secret, subscriptionID string) error
	}
)

// Sizes of a run: a page of the active providers is listed at a time and
// checked in batches (one Map iteration, one Lambda invocation each), so a
// run's history grows by a few events per batch, not per provider.
const (
	pageSize  = 100
	batchSize = 10
	// spreadShare is the share of the interval the pages are spread over:
	// the run ends before the next one starts, with room for the checks'
	// own time.
	spreadShare = 0.8
)

// Input is the task's input: step "page" (the next page of active
// providers, cursor "" for the first) or "check" (a batch of them).
type Input struct {
	Step string `json:"step"`
	// IntervalMinutes is the schedule's interval (page): the pages are
	// spread over it.
	IntervalMinutes int    `json:"intervalMinutes,omitempty"`
	Cursor          string `json:"cursor,omitempty"`
	// Providers are the batch to check (check).
	Providers []store.ProviderRef `json:"providers,omitempty"`
}

// PageOutput is a page: its providers in batches, the cursor of the next
// page ("" after the last) and the wait before it.
type PageOutput struct {
	Batches     [][]store.ProviderRef `json:"batches"`
	Next        string                `json:"next"`
	WaitSeconds int                   `json:"waitSeconds"`
	Total       int                   `json:"total"`
}

// CheckOutput counts a batch's outcomes.
type CheckOutput struct {
	Checked   int `json:"checked"`
	Attention int `json:"attention"`
	// Skipped are providers gone or no longer active; Failed those whose
	// check could not finish (Microsoft or the store unavailable): the
	// next run checks them again.
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

// Handler runs the scheduled health checks' steps.
type Handler struct {
	Store         Store
	Azure         Azure
	PartnerCenter PartnerCenter
	Graph         Graph
	Credentials   Credentials
	// Secret reads a secret's value (the existing option's client secret).
	Secret func(ctx context.Context, arn string) ([]byte, error)
	// WantGroup is the partner security group that must hold an access
	// assignment ("" for none).
	WantGroup string
	Now       func() time.Time
	// BatchStart, when set, is called as a batch's checks start, before
	// any Microsoft call: the pacing of the calls restarts there
	// (throttle.Gates.Restart).
	BatchStart func()
}

// Handle runs one step. Errors reach the state machine named
// (workflow.Named): a store fault is TransientError, retried.
func (h *Handler) Handle(ctx context.Context, in Input) (any, error) {
	switch in.Step {
	case "page":
		out, err := h.page(ctx, in)
		return out, workflow.Named(err)
	case "check":
		if len(in.Providers) == 0 || len(in.Providers) > batchSize {
			return nil, &workflow.InvalidInput{Reason: "providers: 1 to 10 are required"}
		}
		if h.BatchStart != nil {
			h.BatchStart()
		}
		return h.checkBatch(ctx, in.Providers), nil
	}
	return nil, &workflow.InvalidInput{Reason: `step must be "page" or "check"`}
}

// pageCursor is the step's own cursor: the store's, and the wait between
// pages the first page set (from the count of active providers then).
type pageCursor struct {
	Store string `json:"c"`
	Wait  int    `json:"w"`
}

func (h *Handler) page(ctx context.Context, in Input) (PageOutput, error) {
	var cur pageCursor
	total := 0
	if in.Cursor == "" {
		if in.IntervalMinutes <= 0 {
			return PageOutput{}, &workflow.InvalidInput{Reason: "intervalMinutes must be positive"}
		}
		n, err := h.Store.CountActive(ctx)
		if err != nil {
			return PageOutput{}, err
		}
		total = n
		cur.Wait = spreadWait(in.IntervalMinutes, n)
	} else {
		raw, err := base64.RawURLEncoding.DecodeString(in.Cursor)
		if err == nil {
			err = json.Unmarshal(raw, &cur)
		}
		if err != nil || cur.Store == "" {
			return PageOutput{}, &workflow.InvalidInput{Reason: "cursor: not one a page returned"}
		}
	}
	refs, next, err := h.Store.ListActive(ctx, pageSize, cur.Store)
	if err != nil {
		return PageOutput{}, err
	}
	out := PageOutput{Batches: [][]store.ProviderRef{}, Total: total}
	for start := 0; start < len(refs); start += batchSize {
		out.Batches = append(out.Batches, refs[start:min(start+batchSize, len(refs))])
	}
	if next != "" {
		raw, _ := json.Marshal(pageCursor{Store: next, Wait: cur.Wait})
		out.Next, out.WaitSeconds = base64.RawURLEncoding.EncodeToString(raw), cur.Wait
	}
	logging.From(ctx).Info("health check page", "providers", len(refs), "batches", len(out.Batches), "more", next != "", "wait_seconds", out.WaitSeconds)
	return out, nil
}

// spreadWait is the wait between pages that spreads n providers' pages
// over spreadShare of the interval.
func spreadWait(intervalMinutes, n int) int {
	pages := max(1, int(math.Ceil(float64(n)/pageSize)))
	return int(float64(intervalMinutes) * 60 * spreadShare / float64(pages))
}

// checkBatch checks each provider in turn (the concurrency is the Map's:
// one batch at a time per iteration). One provider's failure does not
// stop the others.
func (h *Handler) checkBatch(ctx context.Context, refs []store.ProviderRef) CheckOutput {
	var out CheckOutput
	for _, r := range refs {
		log := logging.From(ctx).With("account_id", r.AccountID, "provider_id", r.ProviderID)
		status, err := h.checkOne(logging.With(ctx, log), r)
		switch {
		case apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.InvalidState):
			out.Skipped++
		case err != nil:
			out.Failed++
			log.Warn("health check not finished; the next run checks again", "error_code", string(codeOf(err)))
		default:
			out.Checked++
			if status == provider.HealthAttention {
				out.Attention++
			}
		}
	}
	return out
}

// checkOne reads what Microsoft reports for one provider and records it
// (provider.RecordHealth decides the findings and the emails).
func (h *Handler) checkOne(ctx context.Context, r store.ProviderRef) (provider.HealthStatus, error) {
	p, err := h.Store.GetProvider(ctx, r.AccountID, r.ProviderID)
	if err != nil {
		return "", err
	}
	if p.Status != provider.StatusActive {
		return "", apperr.New(apperr.InvalidState, "not active")
	}
	c, err := h.observe(ctx, p)
	if err != nil {
		return "", err
	}
	var change provider.HealthChange
	_, err = h.Store.UpdateProvider(ctx, r.AccountID, r.ProviderID, func(q *provider.Provider) error {
		change, err = q.RecordHealth(c)
		return err
	})
	if err != nil {
		return "", err
	}
	logging.From(ctx).Info("health checked", "health", change.To, "was", change.From,
		"new_findings", len(change.New), "cleared", len(change.Cleared), "notified", change.Notified)
	return change.To, nil
}

// observe gathers what applies to the provider's option:
//
//   - migrate: the admin consent (a new token in the tenant), the reseller
//     relationship, the admin relationship and its access assignment, and
//     Owner on each subscription whose route needs it (move_resources),
//     and the billing through the partner: the subscriptions transferred
//     and the Azure plan subscription resources moved into, still listed
//     under the customer's Azure plan in Partner Center. Owner is not
//     checked while the consent is gone (no token: nothing can be read;
//     the consent finding says it).
//   - new: the reseller relationship and the Azure plan subscriptions
//     still active in Partner Center (billed by the partner). The partner
//     created the customer: there is no admin consent, admin relationship
//     or Owner to check.
//   - existing: the customer's own application credentials (a token and
//     a read of the subscription). The partner holds nothing else and does
//     not bill (billing customer_direct).
//
// A Microsoft fault (throttled, unavailable) is returned: nothing is
// recorded, and the next run checks again.
func (h *Handler) observe(ctx context.Context, p *provider.Provider) (provider.HealthCheck, error) {
	c := provider.HealthCheck{At: h.Now()}
	switch p.Option {
	case provider.OptionExisting:
		refused, err := h.proveCredentials(ctx, p)
		if err != nil {
			return c, err
		}
		c.CredentialsRefused = &refused
		return c, nil
	case provider.OptionNew:
		if err := h.reseller(ctx, p, &c); err != nil {
			return c, err
		}
		if p.CustomerID != "" {
			entitlements, err := h.PartnerCenter.AzureEntitlements(ctx, p.CustomerID)
			if err != nil {
				return c, err
			}
			c.PlanSubscriptions = planStatuses(entitlements)
		}
		return c, nil
	}
	consent := true
	switch err := h.Azure.ConfirmConsent(ctx, p.TenantID); {
	case errors.Is(err, ownership.ErrConsentRevoked):
		consent = false
	case err != nil:
		return c, err
	}
	c.Consent = &consent
	if err := h.reseller(ctx, p, &c); err != nil {
		return c, err
	}
	if id := p.GDAPRelationshipID(); id != "" {
		g, err := h.Graph.Get(ctx, id)
		if err != nil {
			return c, err
		}
		c.GDAP = &relationship.GDAP{ID: g.ID, Status: g.Status, CustomerTenantID: g.CustomerTenantID, Roles: g.Roles, AutoExtend: g.AutoExtend, EndAt: g.EndAt}
		if h.WantGroup != "" && (g.Status == gdap.StatusActive || g.Status == gdap.StatusExpiring) {
			as, err := h.Graph.AccessAssignments(ctx, id)
			if err != nil {
				return c, err
			}
			c.WantGroup = strings.ToLower(h.WantGroup)
			for _, a := range as {
				c.Assignments = append(c.Assignments, relationship.Assignment{ID: a.ID, GroupID: strings.ToLower(a.GroupID), Roles: a.Roles, Status: a.Status})
			}
		}
	}
	if ids := p.OwnerRouteSubscriptions(); consent && len(ids) > 0 {
		res, err := h.Azure.Check(ctx, p.TenantID, p.OwnerPrincipal, ids)
		switch {
		case errors.Is(err, ownership.ErrConsentRevoked):
			// Revoked between the two calls: said by the consent finding.
			consent = false
		case err != nil:
			return c, err
		default:
			c.Owner = res.Subscriptions
		}
	}
	if err := h.billing(ctx, p, &c); err != nil {
		return c, err
	}
	return c, nil
}

// reseller reads the tenant among the partner's customers.
func (h *Handler) reseller(ctx context.Context, p *provider.Provider, c *provider.HealthCheck) error {
	if p.TenantID == "" {
		return nil
	}
	cust, err := h.PartnerCenter.Customer(ctx, p.TenantID)
	if err != nil {
		return err
	}
	rel := "none"
	if cust.Found && cust.RelationshipToPartner != "" {
		rel = strings.ToLower(cust.RelationshipToPartner)
	}
	c.Reseller = &rel
	return nil
}

// proveCredentials proves the existing option's credentials: "" when they
// work, the refusal's code when Microsoft refuses them; an error when
// Microsoft or Secrets Manager did not answer.
func (h *Handler) proveCredentials(ctx context.Context, p *provider.Provider) (string, error) {
	if p.CredentialSecretARN == "" || len(p.Subscriptions) == 0 {
		return "", apperr.New(apperr.InvalidState, "no credentials recorded")
	}
	secret, err := h.Secret(ctx, p.CredentialSecretARN)
	if err != nil {
		return "", err
	}
	err = h.Credentials.Prove(ctx, p.TenantID, p.ClientID, string(secret), p.Subscriptions[0].ID)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, ownership.ErrUnavailable):
		return "", err
	}
	if code := codeOf(err); code != "" && code != apperr.Internal {
		return string(code), nil
	}
	return "", err
}

// codeOf is the neutral code of err, "" when it has none.
func codeOf(err error) apperr.Code {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// billing reads what Partner Center lists under the customer's Azure plan
// with the partner, each with its status (the transferred subscriptions
// and the Azure plan subscription resources moved into must be there and
// active), for a migration billed through the partner, while the reseller
// relationship is there (without it Partner Center shows nothing of the
// customer: that finding says it). When something is missing or not
// active, the relationship is read again: one removed between the two
// reads is its own finding, never billing lost.
func (h *Handler) billing(ctx context.Context, p *provider.Provider, c *provider.HealthCheck) error {
	if p.Billing != provider.BillingConsolidated && p.Billing != provider.BillingPartiallyConsolidated || c.Reseller == nil || *c.Reseller != "reseller" {
		return nil
	}
	entitlements, err := h.PartnerCenter.AzureEntitlements(ctx, p.TenantID)
	if err != nil {
		return err
	}
	listed := planStatuses(entitlements)
	c.PlanSubscriptions = listed
	if len(p.HealthFindings(provider.HealthCheck{At: c.At, PlanSubscriptions: listed})) == 0 {
		return nil
	}
	if err := h.reseller(ctx, p, c); err != nil {
		return err
	}
	if *c.Reseller != "reseller" {
		c.PlanSubscriptions = nil
	}
	return nil
}

// planStatuses is each Azure subscription Partner Center lists under the
// customer's Azure plans with its status (suspended, inactive, …: the
// finding says which), active when any plan lists it active.
func planStatuses(entitlements []partnercenter.AzureEntitlement) map[string]string {
	listed := map[string]string{}
	for _, e := range entitlements {
		if id := strings.ToLower(e.ID); listed[id] != "active" {
			listed[id] = strings.ToLower(e.Status)
		}
	}
	return listed
}
