package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/signin"
	"github.com/partnercloud/azure/shared/store"
)

// Routes served by this function.
const (
	RouteLanding  = "GET /consent/{invitationId}"
	RouteCallback = "GET /consent/callback"
)

// Store is what the consent pages read and write.
type Store interface {
	GetInvitation(ctx context.Context, hash string) (*consent.Record, error)
	// CloseInvitation closes an open invitation; exactly one caller wins,
	// the others get invalid_state. Closing it with the administrator's
	// decision also marks it for the outbox relay, which resumes the
	// workflow's wait (notice.Resumer): the pages never call Step
	// Functions.
	CloseInvitation(ctx context.Context, hash string, to consent.Status, tenantID string) (*consent.Record, error)
	// RefuseInvitation closes it as refused, with the refusal's code.
	RefuseInvitation(ctx context.Context, hash string, refusal apperr.Code) (*consent.Record, error)
	// ConsumeState records a state's JTI; a replay gets invalid_state.
	ConsumeState(ctx context.Context, jti string, expires time.Time) error
	// StateUsed reports whether a state's JTI was consumed.
	StateUsed(ctx context.Context, jti string) (bool, error)
	GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error)
	UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error)
	GetAccount(ctx context.Context, accountID string) (*account.Account, error)
	// ClaimTenant makes the provider the tenant's holder unless another
	// open or active provider holds it; it returns the holder.
	ClaimTenant(ctx context.Context, tenantID, accountID, providerID string) (store.TenantHolder, error)
	// CountStateMint counts a state issued for an invitation in a window;
	// too_many_requests past max.
	CountStateMint(ctx context.Context, invitationHash string, windowStart time.Time, window time.Duration, max int) error
}

// SignIn redeems a sign-in's authorization code and returns what the
// validated ID token proves. Errors wrap signin.ErrCodeRejected,
// signin.ErrTokenInvalid or signin.ErrUnavailable.
type SignIn interface {
	Redeem(ctx context.Context, code, verifier, nonce string) (signin.Proof, error)
}

// TenantVerifier proves a tenant exists and trusts the partner app by
// acquiring a token in it; it returns the token's tid and oid claims.
// Errors are neutral: consent_revoked (ownership.ErrConsentRevoked) or
// azure_unavailable (ownership.ErrUnavailable).
type TenantVerifier interface {
	TenantOf(ctx context.Context, tenantID string) (tid, oid string, err error)
}

// Handler serves the landing page behind the email link and Microsoft's
// admin-consent redirect.
type Handler struct {
	Store   Store
	Tenants TenantVerifier
	SignIn  SignIn
	// Key signs the states and derives the PKCE verifier and nonce (a
	// consent.Key, or consent.KeyFromEnv: read on first use).
	Key  consent.KeySource
	Site Site
	// StateTTL is how long a state issued by the landing page is valid.
	StateTTL time.Duration
	Now      func() time.Time

	// RetryDelay is the first pause between attempts to verify a tenant
	// whose consent has not propagated yet (doubling). Zero retries without
	// pausing.
	RetryDelay time.Duration
	// VerifyTimeout bounds the tenant verification, retries included; zero
	// means no bound beyond the request's.
	VerifyTimeout time.Duration
	// ReplayWait is how long a replayed callback waits for the first one to
	// finish (two tabs at once) before it shows the records as they are.
	ReplayWait time.Duration
}

// Attempts of TenantOf while a fresh consent propagates in Entra ID (the
// service principal appears a few seconds late).
const verifyAttempts = 3

// Handle serves one request in api.HandlePage: every outcome is an HTML
// page (it never returns an error), and a panic becomes the static error
// page.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	return api.HandlePage(h.serve, errorPage)(ctx, req)
}

func (h *Handler) serve(ctx context.Context, req api.Request) api.Response {
	switch req.RouteKey {
	case RouteLanding:
		return h.landing(ctx, req)
	case RouteCallback:
		return h.callback(ctx, req)
	}
	return h.message(req, http.StatusNotFound, notFound)
}

// --- GET /consent/{invitationId} ------------------------------------------

func (h *Handler) landing(ctx context.Context, req api.Request) api.Response {
	id := req.PathParameters["invitationId"]
	if !consent.WellFormedID(id) {
		logging.From(ctx).Info("landing refused", "reason", "malformed invitation id")
		return h.message(req, http.StatusNotFound, notFound)
	}
	hash := consent.Hash(id)
	rec, err := h.Store.GetInvitation(ctx, hash)
	if apperr.Is(err, apperr.NotFound) {
		logging.From(ctx).Info("landing refused", "reason", "unknown invitation")
		return h.message(req, http.StatusNotFound, notFound)
	}
	if err != nil {
		return h.internal(ctx, req, "get invitation", err)
	}
	ctx = h.withProvider(ctx, rec)
	p, err := h.Store.GetProvider(ctx, rec.AccountID, rec.ProviderID)
	if apperr.Is(err, apperr.NotFound) {
		logging.From(ctx).Warn("landing refused", "reason", "invitation without provider")
		return h.message(req, http.StatusNotFound, notFound)
	}
	if err != nil {
		return h.internal(ctx, req, "get provider", err)
	}
	now := h.Now()
	if p.Open() && p.ConsentRecorded() {
		// After consent the page stays the customer's checklist, without a
		// new sign-in, until the migration ends.
		logging.From(ctx).Info("checklist shown", "status", string(p.Status))
		return render(req, http.StatusOK, landingPage(h.checklist(ctx, req, rec, p, "")))
	}
	if reason := consent.ClosedReason(rec, p, now); reason != "" {
		logging.From(ctx).Info("landing refused", "reason", reason)
		return h.message(req, http.StatusGone, goneMessages[reason])
	}
	window := now.Truncate(consent.StateMintWindow)
	if err := h.Store.CountStateMint(ctx, hash, window, consent.StateMintWindow, consent.MaxStatesPerWindow); err != nil {
		if apperr.Is(err, apperr.TooManyRequests) {
			logging.From(ctx).Warn("landing refused", "reason", "too many states issued for this invitation")
			return h.message(req, http.StatusTooManyRequests, tooManyAttempts)
		}
		return h.internal(ctx, req, "count state", err)
	}
	key, err := h.Key.SigningKey(ctx)
	if err != nil {
		return h.internal(ctx, req, "signing key", err)
	}
	st, err := consent.NewState(hash, now, h.StateTTL)
	if err != nil {
		return h.internal(ctx, req, "new state", err)
	}
	signIn := h.Site.SignInURL(key.Sign(st), consent.PKCEChallenge(key.PKCEVerifier(st)), key.Nonce(st))
	logging.From(ctx).Info("landing page shown")
	return render(req, http.StatusOK, landingPage(h.checklist(ctx, req, rec, p, signIn)))
}

// checklist is the landing page's data: the customer's steps in the order
// Microsoft needs them, each with its state as Microsoft last reported it,
// who must do it and where; signIn is the sign-in link while the sign-in is
// still to do ("" after consent).
func (h *Handler) checklist(ctx context.Context, req api.Request, rec *consent.Record, p *provider.Provider, signIn string) landingData {
	data := landingData{
		chrome:        h.chrome(req, "Move your Azure account: your checklist"),
		OrgName:       h.orgName(ctx, rec.AccountID),
		Requester:     requester(p),
		Subscriptions: p.SubscriptionIDs(),
		SignInURL:     signIn,
		ExpiresText:   rec.ExpiresAt.UTC().Format("Monday 2 January 2006, 15:04 MST"),
		Consented:     p.ConsentRecorded(),
		AppName:       h.Site.AppName,
		Principal:     p.OwnerPrincipalLabel(),
	}
	if p.Relationships != nil && p.Relationships.Wait != nil {
		data.DeadlineText = provider.FormatTime(p.Relationships.Wait.Deadline)
	}
	for _, s := range p.Steps() {
		data.Steps = append(data.Steps, h.stepView(s, p, signIn))
	}
	for _, s := range data.Steps {
		if !s.Done {
			data.Remaining++
		}
	}
	return data
}

// stepView is one step as the page shows it.
func (h *Handler) stepView(s provider.Step, p *provider.Provider, signIn string) checklistStep {
	v := checklistStep{Done: s.Done(), Failed: s.Status == provider.StepStatusFailed, State: s.State, Who: provider.ActorLabels[s.Actor]}
	if s.ObservedAt != nil {
		v.ObservedText = provider.FormatTime(*s.ObservedAt)
	}
	switch s.Name {
	case provider.StepSignIn:
		v.Title = "Sign in with Microsoft"
		v.Detail = "Sign in with your Microsoft work account. This proves which Azure tenant is your organization's."
		if !v.Done {
			v.Link, v.LinkText = signIn, "Sign in with Microsoft"
		}
	case provider.StepAppConsent:
		v.Title = "Authorize " + h.Site.PartnerName + "'s application"
		v.Detail = "Right after you sign in, Microsoft asks you to accept the permissions " + h.Site.AppName + " requests, and sends you back here."
	case provider.StepReseller:
		v.Title = "Accept " + h.Site.PartnerName + " as your reseller (Cloud Solution Provider)"
		v.Detail = "If your organization already works with another partner, remove that partner first: in the Microsoft 365 admin center, Settings > Partner relationships."
		if !v.Done {
			v.Link, v.LinkText = s.Link, "Open the reseller invitation in the Microsoft 365 admin center"
		}
	case provider.StepGDAP:
		v.Title = "Approve " + h.Site.PartnerName + "'s admin relationship (GDAP)"
		v.Detail = "A time-limited relationship with least-privilege roles; never Global Administrator."
		if !v.Done && !v.Failed {
			v.Link, v.LinkText = s.Link, "Open the admin relationship request in the Microsoft 365 admin center"
		}
	case provider.StepAssignments:
		v.Title = "Microsoft activates the admin relationship's access"
		v.Detail = "Nothing for you to do: " + h.Site.PartnerName + " assigns its support team's roles once you approved the admin relationship."
	case provider.StepOwnerAccess:
		v.Title = "Grant Owner on subscription " + provider.Named(subscriptionName(p, s.SubscriptionID), s.SubscriptionID)
		if principal := p.OwnerPrincipalLabel(); principal != "" {
			v.Detail = "In the Azure portal, open the subscription's Access control (IAM) and assign the Owner role to " + principal + "."
		} else {
			v.Detail = "In the Azure portal, open the subscription's Access control (IAM) and assign the Owner role to " + h.Site.AppName + ", which this page names with its id once you have signed in."
		}
	}
	if v.Link == "" {
		v.LinkText = ""
	}
	return v
}

func subscriptionName(p *provider.Provider, id string) string {
	for _, s := range p.Subscriptions {
		if s.ID == id {
			return s.DisplayName
		}
	}
	return ""
}

type landingData struct {
	chrome
	OrgName, Requester string
	Subscriptions      []string
	SignInURL          string
	ExpiresText        string
	// Consented: the sign-in and consent are done; the page is the
	// checklist of what remains.
	Consented          bool
	AppName, Principal string
	DeadlineText       string
	Steps              []checklistStep
	Remaining          int
}

// checklistStep is one step on the page.
type checklistStep struct {
	Title, Detail  string
	Done, Failed   bool
	State          string
	ObservedText   string
	Who            string
	Link, LinkText string
}

// --- GET /consent/callback --------------------------------------------------

func (h *Handler) callback(ctx context.Context, req api.Request) api.Response {
	log := logging.From(ctx)
	q, err := parseCallback(req)
	if err != nil {
		log.Info("callback refused", "reason", err.Error())
		return h.message(req, http.StatusBadRequest, invalidResponse)
	}
	key, err := h.Key.SigningKey(ctx)
	if err != nil {
		return h.internal(ctx, req, "signing key", err)
	}
	now := h.Now()
	st, err := key.Verify(q.State, now)
	if err != nil {
		log.Info("callback refused", "reason", stateReason(err))
		return h.message(req, http.StatusBadRequest, invalidResponse)
	}
	// The response must answer the step its state was issued for: a code
	// answers a sign-in, admin_consent answers the consent in the tenant
	// the sign-in proved. Checked before anything is read or written.
	mismatch := ""
	switch {
	case q.Code != "" && st.Step != consent.StepSignIn,
		q.Tenant != "" && st.Step != consent.StepConsent:
		mismatch = "response does not answer its state's step"
	case q.Tenant != "" && q.Tenant != st.Tenant:
		mismatch = "tenant differs from the tenant the sign-in proved"
	}
	if mismatch != "" {
		// A state that was already used shows the page it led to, whatever
		// a replay changed in the query; an unused one is refused.
		if used, err := h.Store.StateUsed(ctx, st.JTI); err == nil && used {
			if rec, err := h.Store.GetInvitation(ctx, st.Invitation); err == nil {
				log.Info("callback replayed with a changed query")
				return h.replay(h.withProvider(ctx, rec), req, rec)
			}
		}
		log.Warn("callback refused", "reason", mismatch, "step", st.Step, "tenant_id", q.Tenant, "proven_tenant_id", st.Tenant)
		return h.message(req, http.StatusBadRequest, invalidResponse)
	}
	rec, err := h.Store.GetInvitation(ctx, st.Invitation)
	if apperr.Is(err, apperr.NotFound) {
		log.Warn("callback refused", "reason", "signed state of an unknown invitation")
		return h.message(req, http.StatusBadRequest, invalidResponse)
	}
	if err != nil {
		return h.internal(ctx, req, "get invitation", err)
	}
	ctx = h.withProvider(ctx, rec)
	log = logging.From(ctx)
	if q.Code != "" {
		return h.signedIn(ctx, req, key, rec, st, q.Code, now)
	}

	// Single use: consume the state before acting on it. A replay (reload,
	// back button, a second tab) shows the page the records now lead to.
	if err := h.Store.ConsumeState(ctx, st.JTI, time.Unix(st.Expires, 0)); err != nil {
		if !apperr.Is(err, apperr.InvalidState) {
			return h.internal(ctx, req, "consume state", err)
		}
		log.Info("callback replayed")
		return h.replay(ctx, req, rec)
	}
	if stop, ok := h.stillOpen(ctx, req, rec, now); !ok {
		return stop
	}

	switch {
	case q.Error == "access_denied":
		return h.decline(ctx, req, rec)
	case q.Error != "":
		log.Info("consent did not complete", "error_code", q.Error, "aadsts", q.AADSTS)
		return h.message(req, http.StatusOK, notCompleted(q))
	}
	return h.consented(ctx, req, rec, q.Tenant, now)
}

// stillOpen reports whether the invitation is still open for its provider
// at now; when it is not, the page to show instead: the outcome of a closed
// invitation (also one that another tab closed a moment ago), or why it
// can no longer be used.
func (h *Handler) stillOpen(ctx context.Context, req api.Request, rec *consent.Record, now time.Time) (api.Response, bool) {
	if rec.Status != consent.StatusOpen {
		return h.outcome(ctx, req, rec, ""), false
	}
	p, err := h.Store.GetProvider(ctx, rec.AccountID, rec.ProviderID)
	if err != nil {
		return h.internal(ctx, req, "get provider", err), false
	}
	reason := consent.ClosedReason(rec, p, now)
	if reason == "" {
		return api.Response{}, true
	}
	if fresh, err := h.Store.GetInvitation(ctx, rec.Hash); err == nil && fresh.Status != consent.StatusOpen {
		return h.outcome(ctx, req, fresh, ""), false
	}
	logging.From(ctx).Info("callback refused", "reason", reason)
	return h.message(req, http.StatusBadRequest, closedMessages[reason]), false
}

// signedIn handles the sign-in's redirect. Only a validated ID token of a
// user who may grant admin consent moves anything: nothing is written
// before that (the code is single-use at Microsoft, so a replayed or
// foreign code fails there and changes nothing here). Then the state is
// consumed, the tenant claimed for this provider, and the administrator
// sent to admin consent in the proven tenant.
func (h *Handler) signedIn(ctx context.Context, req api.Request, key consent.Key, rec *consent.Record, st consent.State, code string, now time.Time) api.Response {
	log := logging.From(ctx)
	if stop, ok := h.stillOpen(ctx, req, rec, now); !ok {
		return stop
	}
	proof, err := h.SignIn.Redeem(ctx, code, key.PKCEVerifier(st), key.Nonce(st))
	switch {
	case errors.Is(err, signin.ErrUnavailable):
		log.Warn("sign-in unavailable", "error", err.Error())
		return h.message(req, http.StatusServiceUnavailable, unavailable)
	case err != nil:
		// A code that was already redeemed may be this state's own first
		// use (a reload): show what the records say.
		if used, uerr := h.Store.StateUsed(ctx, st.JTI); uerr == nil && used {
			log.Info("sign-in response replayed")
			return h.replay(ctx, req, rec)
		}
		log.Warn("sign-in refused", "reason", err.Error())
		return h.message(req, http.StatusBadRequest, invalidResponse)
	}
	log = log.With("tenant_id", proof.TenantID)
	ctx = logging.With(ctx, log)
	if !proof.CanGrantAdminConsent() {
		log.Info("sign-in refused", "reason", "the user holds no directory role that can grant admin consent")
		return h.message(req, http.StatusForbidden, needsAdminRole(proof))
	}
	if err := h.Store.ConsumeState(ctx, st.JTI, time.Unix(st.Expires, 0)); err != nil {
		if !apperr.Is(err, apperr.InvalidState) {
			return h.internal(ctx, req, "consume state", err)
		}
		log.Info("sign-in response replayed")
		return h.replay(ctx, req, rec)
	}
	holder, err := h.Store.ClaimTenant(ctx, proof.TenantID, rec.AccountID, rec.ProviderID)
	if err != nil {
		return h.internal(ctx, req, "claim tenant", err)
	}
	if !holder.Is(rec.AccountID, rec.ProviderID) {
		refusal := provider.TenantRefusal(rec.AccountID, holder.AccountID)
		log.Warn("tenant refused", "reason", refusal.Code, "holder_provider_id", holder.ProviderID)
		return h.refuseTenant(ctx, req, rec, proof.TenantID, refusal, now)
	}
	if _, err := h.Store.UpdateProvider(ctx, rec.AccountID, rec.ProviderID, func(q *provider.Provider) error {
		if !q.RecordSignIn(proof.TenantID, now) {
			return errUnchanged
		}
		return nil
	}); err != nil && !errors.Is(err, errUnchanged) {
		// The tenant record holds the proof; the consent step records the
		// tenant on the provider too. Go on.
		log.Error("provider not updated after sign-in", "error", err.Error())
	}
	cs, err := consent.NewConsentState(rec.Hash, proof.TenantID, now, h.StateTTL)
	if err != nil {
		return h.internal(ctx, req, "new state", err)
	}
	log.Info("sign-in proved the tenant; admin consent is next")
	return redirect(req, h.Site.AdminConsentURL(proof.TenantID, key.Sign(cs)))
}

// errUnchanged aborts an update that would change nothing.
var errUnchanged = errors.New("nothing to change")

// refuseTenant ends this migration because its tenant is connected through
// another provider: the invitation closes (one winner), the provider fails
// with the reason, the workflow records it. The page names nothing of the
// other provider or its organization.
func (h *Handler) refuseTenant(ctx context.Context, req api.Request, rec *consent.Record, tenantID string, refusal *apperr.Error, now time.Time) api.Response {
	log := logging.From(ctx)
	_, err := h.Store.RefuseInvitation(ctx, rec.Hash, refusal.Code)
	if apperr.Is(err, apperr.InvalidState) {
		return h.reread(ctx, req, rec.Hash, "")
	}
	if err != nil {
		return h.internal(ctx, req, "close invitation", err)
	}
	if _, err := h.Store.UpdateProvider(ctx, rec.AccountID, rec.ProviderID, func(q *provider.Provider) error {
		if !q.RefuseTenant(tenantID, refusal, now) {
			return errUnchanged
		}
		return nil
	}); err != nil && !errors.Is(err, errUnchanged) {
		// RecordFailed records the failure from the refusal the workflow
		// is resumed with.
		log.Error("provider not updated after refusing the tenant", "error", err.Error())
	}
	return h.message(req, http.StatusConflict, tenantRefused(string(refusal.Code)))
}

// decline closes the invitation as declined; the outbox relay fails the
// waiting task so the state machine records the outcome (RecordDeclined).
func (h *Handler) decline(ctx context.Context, req api.Request, rec *consent.Record) api.Response {
	log := logging.From(ctx)
	_, err := h.Store.CloseInvitation(ctx, rec.Hash, consent.StatusDeclined, "")
	if apperr.Is(err, apperr.InvalidState) {
		return h.reread(ctx, req, rec.Hash, "")
	}
	if err != nil {
		return h.internal(ctx, req, "close invitation", err)
	}
	log.Info("invitation declined")
	return h.message(req, http.StatusOK, declined)
}

// consented verifies the tenant by acquiring a token in it, closes the
// invitation (one winner, marked for the outbox relay to resume the
// workflow) and records the consent.
func (h *Handler) consented(ctx context.Context, req api.Request, rec *consent.Record, tenant string, now time.Time) api.Response {
	log := logging.From(ctx)
	tid, oid, err := h.verify(ctx, tenant)
	switch {
	case apperr.Is(err, apperr.ConsentRevoked):
		log.Info("tenant verification refused", "tenant_id", tenant, "error", err.Error())
		return h.message(req, http.StatusOK, notEffective)
	case apperr.Is(err, apperr.AzureUnavailable), errors.Is(err, context.DeadlineExceeded):
		log.Warn("tenant verification unavailable", "tenant_id", tenant, "error", err.Error())
		return h.message(req, http.StatusServiceUnavailable, unavailable)
	case err != nil:
		return h.internal(ctx, req, "verify tenant", err)
	}
	if !strings.EqualFold(tid, tenant) || oid == "" {
		log.Warn("callback refused", "reason", "tenant parameter does not match the token", "tenant_id", tenant, "token_tid", tid)
		return h.message(req, http.StatusBadRequest, invalidResponse)
	}
	tid = strings.ToLower(tid)

	_, err = h.Store.CloseInvitation(ctx, rec.Hash, consent.StatusConsented, tid)
	if apperr.Is(err, apperr.InvalidState) {
		log.Info("invitation already closed by another callback")
		return h.reread(ctx, req, rec.Hash, oid)
	}
	if err != nil {
		return h.internal(ctx, req, "close invitation", err)
	}
	log.Info("consent recorded", "tenant_id", tid)

	p, err := h.Store.UpdateProvider(ctx, rec.AccountID, rec.ProviderID, func(q *provider.Provider) error {
		if !q.RecordConsent(tid, oid, now) {
			return errNotPending{q.Status}
		}
		q.RecordPartnerApp(h.Site.AppName)
		return nil
	})
	if err != nil {
		// The invitation record holds the consent; the workflow gets the
		// tenant from the resume the record is marked for. Show the admin
		// their success.
		log.Error("provider not updated after consent", "error", err.Error())
		if p, err = h.Store.GetProvider(ctx, rec.AccountID, rec.ProviderID); err != nil {
			p = &provider.Provider{}
		}
	}
	return h.consentedPage(ctx, req, rec.AccountID, tid, oid, p)
}

type errNotPending struct{ status provider.Status }

func (e errNotPending) Error() string { return "provider is " + string(e.status) }

// verify calls the tenant verifier, retrying a refusal a few times: right
// after admin consent the service principal can take seconds to appear.
func (h *Handler) verify(ctx context.Context, tenant string) (tid, oid string, err error) {
	if h.VerifyTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.VerifyTimeout)
		defer cancel()
	}
	delay := h.RetryDelay
	for attempt := 1; ; attempt++ {
		tid, oid, err = h.Tenants.TenantOf(ctx, tenant)
		if err == nil || !apperr.Is(err, apperr.ConsentRevoked) || attempt == verifyAttempts {
			return tid, oid, err
		}
		if !pause(ctx, delay) {
			return tid, oid, err
		}
		delay *= 2
	}
}

// pause waits d or until ctx ends; false when ctx ended.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// replay shows, for an already used state, the page the records lead to.
// While the invitation is still open the first request may be in flight (two
// tabs at once): wait up to ReplayWait for it to finish.
func (h *Handler) replay(ctx context.Context, req api.Request, rec *consent.Record) api.Response {
	deadline := time.Now().Add(h.ReplayWait)
	for rec.Status == consent.StatusOpen && time.Now().Before(deadline) {
		if !pause(ctx, 100*time.Millisecond) {
			break
		}
		r, err := h.Store.GetInvitation(ctx, rec.Hash)
		if err != nil {
			return h.internal(ctx, req, "get invitation", err)
		}
		rec = r
	}
	if rec.Status == consent.StatusOpen {
		return h.message(req, http.StatusBadRequest, usedResponse)
	}
	return h.outcome(ctx, req, rec, "")
}

// reread shows the page of an invitation another request just closed.
func (h *Handler) reread(ctx context.Context, req api.Request, hash, oid string) api.Response {
	rec, err := h.Store.GetInvitation(ctx, hash)
	if err != nil {
		return h.internal(ctx, req, "get invitation", err)
	}
	return h.outcome(ctx, req, rec, oid)
}

// outcome is the result page of a closed invitation, from the records:
// consented → thank you; declined → declined; anything else → 400.
func (h *Handler) outcome(ctx context.Context, req api.Request, rec *consent.Record, oid string) api.Response {
	switch rec.Status {
	case consent.StatusConsented:
		p, err := h.recordedProvider(ctx, rec)
		if err != nil {
			return h.internal(ctx, req, "get provider", err)
		}
		return h.consentedPage(ctx, req, rec.AccountID, rec.TenantID, oid, p)
	case consent.StatusDeclined:
		return h.message(req, http.StatusOK, declined)
	case consent.StatusCancelled:
		return h.message(req, http.StatusBadRequest, closedMessages[consent.ClosedCancelled])
	case consent.StatusExpired:
		return h.message(req, http.StatusBadRequest, closedMessages[consent.ClosedExpired])
	case consent.StatusRefused:
		p, err := h.Store.GetProvider(ctx, rec.AccountID, rec.ProviderID)
		if err != nil {
			return h.internal(ctx, req, "get provider", err)
		}
		return h.message(req, http.StatusConflict, tenantRefused(p.FailureCode))
	}
	return h.message(req, http.StatusBadRequest, usedResponse)
}

// recordedProvider reads the provider of a consented invitation. The request
// that closed the invitation records the consent on the provider a moment
// later; while it has not, wait up to ReplayWait so every tab shows the same
// page (with the principal that must hold Owner).
func (h *Handler) recordedProvider(ctx context.Context, rec *consent.Record) (*provider.Provider, error) {
	deadline := time.Now().Add(h.ReplayWait)
	for {
		p, err := h.Store.GetProvider(ctx, rec.AccountID, rec.ProviderID)
		if err != nil || p.Status != provider.StatusPendingConsent || !time.Now().Before(deadline) || !pause(ctx, 100*time.Millisecond) {
			return p, err
		}
	}
}

type consentedData struct {
	chrome
	OrgName, TenantID, Principal string
	// Missing are the subscriptions still lacking Owner (their labels),
	// MissingText how many in words, NotFound the sentence on those not
	// visible in the tenant; Named is false when no subscription was named
	// (every one to be moved), Done when Owner is held on every named one.
	Missing                         []string
	MissingText, NotFound, Deadline string
	Named, Done                     bool
}

// consentedPage is the thank-you page: what is left of the Owner access to
// grant, in the domain's words (provider.OwnerRequest).
func (h *Handler) consentedPage(ctx context.Context, req api.Request, accountID, tenantID, oid string, p *provider.Provider) api.Response {
	r := p.OwnerRequest()
	return render(req, http.StatusOK, consentedPage(consentedData{
		chrome:      h.chrome(req, "Thank you"),
		OrgName:     h.orgName(ctx, accountID),
		TenantID:    tenantID,
		Principal:   h.principal(r, oid),
		Missing:     r.MissingLabels(),
		MissingText: r.MissingText(),
		NotFound:    r.NotFoundSentence(),
		Named:       r.Named,
		Done:        r.Done(),
		Deadline:    r.DeadlineText(),
	}))
}

// principal names who must hold Owner (provider.OwnerPrincipalLabel): oid,
// the partner app's service principal in the tenant the consent was just
// verified in, with the app's name, until the provider records it.
func (h *Handler) principal(r provider.OwnerRequest, oid string) string {
	if r.Principal == "" && oid != "" {
		return provider.Named(h.Site.AppName, oid)
	}
	return r.PrincipalOr("the partner's application")
}

// --- helpers -----------------------------------------------------------------

func (h *Handler) withProvider(ctx context.Context, rec *consent.Record) context.Context {
	return logging.With(ctx, logging.From(ctx).With("provider_id", rec.ProviderID))
}

func (h *Handler) chrome(req api.Request, title string) chrome {
	return chrome{Title: title, PartnerName: h.Site.PartnerName, ContactEmail: h.Site.ContactEmail, RequestID: api.RequestID(req)}
}

// orgName is the account's display name, or a neutral phrase.
func (h *Handler) orgName(ctx context.Context, accountID string) string {
	a, err := h.Store.GetAccount(ctx, accountID)
	if err != nil {
		logging.From(ctx).Warn("account name unavailable", "error", err.Error())
	}
	if err == nil && a != nil && strings.TrimSpace(a.Name) != "" {
		return a.Name
	}
	return "your organization"
}

func requester(p *provider.Provider) string {
	if p.RequesterName != "" {
		return p.RequesterName
	}
	return "An administrator of your organization"
}

// internal logs a fault and shows the generic error page.
func (h *Handler) internal(ctx context.Context, req api.Request, what string, err error) api.Response {
	logging.From(ctx).Log(ctx, slog.LevelError, "request failed", "step", what, "error", apperr.As(err).Error())
	return h.message(req, http.StatusInternalServerError, internalError)
}

func stateReason(err error) string {
	switch {
	case errors.Is(err, consent.ErrStateMissing):
		return "state missing"
	case errors.Is(err, consent.ErrStateExpired):
		return "state expired"
	case errors.Is(err, consent.ErrStateSignature):
		return "state signature does not match"
	}
	return "state malformed"
}
