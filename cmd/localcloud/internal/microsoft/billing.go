package microsoft

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Azure billing partner transfers (api-version 2024-04-01, the paths of
// armbilling's PartnerTransfersClient), served to the partner's application
// in the partner tenant (the owner of the partner's Microsoft Partner
// Agreement billing account):
//
//	PUT  /providers/Microsoft.Billing/billingAccounts/{ba}/billingProfiles/{bp}/customers/{c}/transfers/{t}
//	     {"properties": {"recipientEmailId"}}: 201 with the new transfer
//	     (Pending), or 200 with the existing one of that name
//	GET  …/customers/{c}/transfers/{t}        the transfer
//	GET  …/customers/{c}/transfers            the customer's transfers (paged)
//	POST …/customers/{c}/transfers/{t}/cancel a Pending transfer becomes Canceled
//
// {ba} and {bp} are the scenario's partner.billingAccount and
// partner.billingProfile; {c} is the customer's tenant id (its Partner
// Center customer id), a tenant that accepted the reseller relationship.
// A transfer covers the recipient tenant's Enterprise Agreement
// subscriptions (quotaId EnterpriseAgreement_2014-09-01), listed per
// product in detailedTransferStatus. It expires TransferLifetime after it
// was sent unless the recipient acts.
//
// The recipient acts in the Azure portal's transfer request page
// (TransferRequestURL; a plain form with login and decision accept or
// decline) or through POST /_control/transfer. Only the user the request
// was sent to may act, and accepting needs the enrollment's billing owner
// (the scenario user with billingOwner). Accepting makes the transfer
// InProgress; it completes on its next read (or TransferCompletion later on
// the clock): each subscription then becomes Completed, billed by the
// partner (quotaId CSP_2015-05-01, listed under the customer's Azure plan
// in Partner Center), or Failed with the scenario's transferError, and the
// transfer Completed, CompletedWithErrors (some failed) or Failed (all
// did). The partner gets no Azure role from a transfer.

// Call kinds of billing partner transfers.
const (
	CallTransfers         = "transfers"
	CallTransfersInitiate = "transfers.initiate"
	CallTransfersGet      = "transfers.get"
	CallTransfersList     = "transfers.list"
	CallTransfersCancel   = "transfers.cancel"
)

const (
	// TransferLifetime is how long a transfer request waits for the
	// recipient.
	TransferLifetime = 15 * 24 * time.Hour
	// TransferCompletion is when an accepted transfer completes at the
	// latest.
	TransferCompletion = time.Minute
	// TransferPagePath is where the double serves the Azure portal's
	// transfer request page (the portal's pages all live under "/").
	TransferPagePath = "/"
)

// Transfer statuses (properties.transferStatus) and product statuses.
const (
	TransferPending             = "Pending"
	TransferInProgress          = "InProgress"
	TransferCompleted           = "Completed"
	TransferCompletedWithErrors = "CompletedWithErrors"
	TransferDeclined            = "Declined"
	TransferExpired             = "Expired"
	TransferFailed              = "Failed"
	TransferCanceled            = "Canceled"
)

// billingTransfer is a partner transfer in the double's state.
type billingTransfer struct {
	name       string
	tenant     *tenantState
	recipient  string
	initiator  string
	created    time.Time
	expires    time.Time
	accepted   time.Time
	status     string
	canceledBy string
	// products are the subscriptions the transfer covers, fixed when the
	// recipient accepts (before, the tenant's current ones are shown).
	products []*transferProduct
	reads    int
}

type transferProduct struct {
	subscriptionID string
	name           string
	status         string // NotStarted, InProgress, Completed, Failed
	err            *ErrorInfo
}

// TransferRequestURL is the Azure portal's page of a transfer request at a
// base URL (production https://portal.azure.com; the double serves it). The
// fragment is what the portal reads; the query is what reaches a server.
func TransferRequestURL(portal, transferName string) string {
	return strings.TrimSuffix(portal, "/") + "/?transferName=" + url.QueryEscape(transferName) +
		"#view/Microsoft_Azure_GTM/TransferDetails.ReactView/transferName/" + url.PathEscape(transferName)
}

// billingAccount and billingProfile are the partner's, from the scenario or
// derived from its tenant id.
func (s *Server) billingAccount() string {
	if a := s.scenario.Partner.BillingAccount; a != "" {
		return a
	}
	return s.scenario.Partner.TenantID + ":" + s.scenario.Partner.TenantID + "_2019-05-31"
}

func (s *Server) billingProfile() string {
	if p := s.scenario.Partner.BillingProfile; p != "" {
		return p
	}
	return "PCLD-0000-000-000"
}

func (s *Server) billingEmail() string {
	if e := s.scenario.Partner.BillingEmail; e != "" {
		return e
	}
	domain := s.scenario.Partner.Domain
	if domain == "" {
		domain = s.scenario.Partner.TenantName + ".onmicrosoft.com"
	}
	return "billing@" + domain
}

// serveBilling routes /providers/Microsoft.Billing/....
func (s *Server) serveBilling(w http.ResponseWriter, r *http.Request, segs []string) {
	n := len(segs)
	is := func(i int, v string) bool { return i < n && strings.EqualFold(segs[i], v) }
	if n < 9 || !is(2, "billingAccounts") || !is(4, "billingProfiles") || !is(6, "customers") || !is(8, "transfers") || n > 11 || (n == 11 && !is(10, "cancel")) {
		armError(w, http.StatusNotFound, "InvalidResourceType", fmt.Sprintf("The resource type could not be found in the namespace 'Microsoft.Billing' for path '%s'; the local Microsoft double serves partner transfers only.", r.URL.Path))
		return
	}
	kind, methods := CallTransfersList, []string{http.MethodGet}
	switch {
	case n == 10 && r.Method == http.MethodPut:
		kind, methods = CallTransfersInitiate, []string{http.MethodPut}
	case n == 10:
		kind, methods = CallTransfersGet, []string{http.MethodGet, http.MethodPut}
	case n == 11:
		kind, methods = CallTransfersCancel, []string{http.MethodPost}
	}
	s.serveARMMethods(w, r, kind, methods, func(w http.ResponseWriter, c *caller) {
		scope := "/providers/Microsoft.Billing/billingAccounts/" + segs[3] + "/billingProfiles/" + segs[5] + "/customers/" + segs[7]
		p := s.scenario.Partner
		if !strings.EqualFold(c.tenantID, p.TenantID) || !strings.EqualFold(c.appID, p.AppID) {
			action := map[string]string{CallTransfersInitiate: "write", CallTransfersCancel: "cancel/action"}[kind]
			if action == "" {
				action = "read"
			}
			armError(w, http.StatusForbidden, "AuthorizationFailed", actionFailed(c, "Microsoft.Billing/billingAccounts/billingProfiles/customers/transfers/"+action, scope))
			return
		}
		if segs[3] != s.billingAccount() {
			armError(w, http.StatusNotFound, "BillingAccountNotFound", fmt.Sprintf("The billing account '%s' was not found.", segs[3]))
			return
		}
		if !strings.EqualFold(segs[5], s.billingProfile()) {
			armError(w, http.StatusNotFound, "BillingProfileNotFound", fmt.Sprintf("The billing profile '%s' was not found in billing account '%s'.", segs[5], segs[3]))
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenant(segs[7])
		if t == nil || !strings.EqualFold(t.ID, segs[7]) || !t.reseller {
			armError(w, http.StatusNotFound, "CustomerNotFound", fmt.Sprintf("The customer '%s' was not found in billing profile '%s'. A customer is listed once it accepts the partner's reseller relationship.", segs[7], segs[5]))
			return
		}
		// An accepted transfer shows InProgress on its first read and
		// completes by the next.
		s.refreshTransfers()
		switch kind {
		case CallTransfersList:
			var items []map[string]any
			for _, tr := range s.transfers {
				if tr.tenant == t {
					tr.reads++
					items = append(items, s.transferJSON(tr))
				}
			}
			s.writePage(w, r, items)
		case CallTransfersInitiate:
			s.initiateTransfer(w, r, t, segs[9])
		default:
			tr := s.findTransfer(t, segs[9])
			if tr == nil {
				armError(w, http.StatusNotFound, "TransferNotFound", fmt.Sprintf("The transfer request '%s' was not found.", segs[9]))
				return
			}
			if kind == CallTransfersCancel {
				if tr.status != TransferPending {
					armError(w, http.StatusBadRequest, "InvalidTransferStatus", fmt.Sprintf("The transfer request '%s' is %s; only a pending transfer request can be canceled.", tr.name, tr.status))
					return
				}
				tr.status, tr.canceledBy = TransferCanceled, s.billingEmail()
			} else {
				tr.reads++
			}
			writeJSON(w, http.StatusOK, s.transferJSON(tr))
		}
	})
}

// findTransfer finds a tenant's transfer by name. s.mu must be held.
func (s *Server) findTransfer(t *tenantState, name string) *billingTransfer {
	for _, tr := range s.transfers {
		if tr.tenant == t && strings.EqualFold(tr.name, name) {
			return tr
		}
	}
	return nil
}

func (s *Server) initiateTransfer(w http.ResponseWriter, r *http.Request, t *tenantState, name string) {
	var body struct {
		Properties struct {
			RecipientEmailID string `json:"recipientEmailId"`
			ResellerID       string `json:"resellerId"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
		return
	}
	if tr := s.findTransfer(t, name); tr != nil {
		writeJSON(w, http.StatusOK, s.transferJSON(tr))
		return
	}
	recipient := strings.TrimSpace(body.Properties.RecipientEmailID)
	if !strings.Contains(recipient, "@") {
		armError(w, http.StatusBadRequest, "InvalidRecipientEmailId", "The recipientEmailId property must be the email address of the customer's billing owner.")
		return
	}
	now := s.now().UTC()
	tr := &billingTransfer{name: name, tenant: t, recipient: recipient, initiator: s.billingEmail(),
		created: now, expires: now.Add(TransferLifetime), status: TransferPending}
	s.transfers = append(s.transfers, tr)
	writeJSON(w, http.StatusCreated, s.transferJSON(tr))
}

// transferable tells whether a billing transfer covers a subscription.
func transferable(sub Subscription) bool {
	return sub.QuotaID == EAQuotaID && sub.State != "Disabled" && sub.State != "Deleted"
}

// transferProducts are the products a transfer covers: fixed once
// accepted, else the tenant's transferable subscriptions now. s.mu must be
// held.
func transferProducts(tr *billingTransfer) []*transferProduct {
	if tr.products != nil {
		return tr.products
	}
	var out []*transferProduct
	for _, sub := range tr.tenant.Subscriptions {
		if transferable(sub) {
			out = append(out, &transferProduct{subscriptionID: strings.ToLower(sub.ID), name: sub.DisplayName, status: "NotStarted"})
		}
	}
	return out
}

func (s *Server) transferJSON(tr *billingTransfer) map[string]any {
	details := []any{}
	if tr.status != TransferCanceled && tr.status != TransferDeclined && tr.status != TransferExpired {
		for _, p := range transferProducts(tr) {
			d := map[string]any{
				"productType": "AzureSubscription", "productId": p.subscriptionID, "productName": p.name,
				"skuDescription": "MS-AZR-0017P", "transferStatus": p.status,
			}
			if p.err != nil {
				d["errorDetails"] = map[string]any{"code": p.err.Code, "message": p.err.Message}
			}
			details = append(details, d)
		}
	}
	props := map[string]any{
		"transferStatus":         tr.status,
		"recipientEmailId":       tr.recipient,
		"initiatorEmailId":       tr.initiator,
		"initiatorCustomerType":  "Partner",
		"expirationTime":         tr.expires.Format(time.RFC3339),
		"detailedTransferStatus": details,
	}
	if tr.canceledBy != "" {
		props["canceledBy"] = tr.canceledBy
	}
	return map[string]any{
		"id": "/providers/Microsoft.Billing/billingAccounts/" + s.billingAccount() + "/billingProfiles/" + s.billingProfile() +
			"/customers/" + tr.tenant.ID + "/transfers/" + tr.name,
		"name":       tr.name,
		"type":       "Microsoft.Billing/transfers",
		"properties": props,
	}
}

// refreshTransfers expires pending transfers whose time is up and completes
// accepted ones that were read since or whose completion time came. s.mu
// must be held.
func (s *Server) refreshTransfers() {
	now := s.now().UTC()
	for _, tr := range s.transfers {
		switch {
		case tr.status == TransferPending && !now.Before(tr.expires):
			tr.status = TransferExpired
		case tr.status == TransferInProgress && (tr.reads > 0 || !now.Before(tr.accepted.Add(TransferCompletion))):
			s.completeTransfer(tr)
		}
	}
}

// acceptTransfer starts an accepted transfer. s.mu must be held.
func (s *Server) acceptTransfer(tr *billingTransfer) error {
	products := transferProducts(tr)
	if len(products) == 0 {
		return fmt.Errorf("there is no Enterprise Agreement subscription in %s that this transfer can move", tr.tenant.DisplayName)
	}
	for _, p := range products {
		p.status = TransferInProgress
	}
	tr.products, tr.status, tr.accepted, tr.reads = products, TransferInProgress, s.now().UTC(), 0
	return nil
}

// completeTransfer moves the billing of the accepted transfer's
// subscriptions to the partner. s.mu must be held.
func (s *Server) completeTransfer(tr *billingTransfer) {
	failed := 0
	var moved []string
	for _, p := range tr.products {
		_, sub := s.subscription(p.subscriptionID)
		switch {
		case sub == nil:
			p.status, p.err = TransferFailed, &ErrorInfo{Code: "SubscriptionNotFound", Message: "The subscription was not found."}
		case sub.TransferError != nil:
			p.status, p.err = TransferFailed, sub.TransferError
		default:
			p.status = TransferCompleted
			sub.QuotaID = CSPQuotaID
			moved = append(moved, p.subscriptionID)
		}
		if p.status == TransferFailed {
			failed++
		}
	}
	switch {
	case failed == 0:
		tr.status = TransferCompleted
	case failed == len(tr.products):
		tr.status = TransferFailed
	default:
		tr.status = TransferCompletedWithErrors
	}
	if len(moved) > 0 {
		s.attachToAzurePlan(tr.tenant)
	}
}

// TransferChange is the body of POST /_control/transfer.
type TransferChange struct {
	// SubscriptionID picks the newest transfer covering this subscription;
	// TransferID (the transfer's name) picks one directly.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	TransferID     string `json:"transferId,omitempty"`
	// Action is accept, decline or expire (as the recipient would, or as
	// time would).
	Action string `json:"action"`
}

// ChangeTransfer applies a control action to a pending transfer and
// returns it in the billing API's shape. An unknown transfer or
// subscription is an *errNotFound.
func (s *Server) ChangeTransfer(ch TransferChange) (map[string]any, error) {
	switch ch.Action {
	case "accept", "decline", "expire":
	default:
		return nil, fmt.Errorf("unknown action %q (want accept, decline or expire)", ch.Action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshTransfers()
	var tr *billingTransfer
	for i := len(s.transfers) - 1; i >= 0 && tr == nil; i-- {
		cand := s.transfers[i]
		switch {
		case ch.TransferID != "":
			if strings.EqualFold(cand.name, ch.TransferID) {
				tr = cand
			}
		case ch.SubscriptionID != "":
			for _, p := range transferProducts(cand) {
				if strings.EqualFold(p.subscriptionID, ch.SubscriptionID) {
					tr = cand
				}
			}
		}
	}
	if ch.TransferID == "" && ch.SubscriptionID == "" {
		return nil, fmt.Errorf("transferId or subscriptionId is required")
	}
	if tr == nil {
		return nil, &errNotFound{msg: "no transfer request " + ch.TransferID + ch.SubscriptionID}
	}
	if tr.status != TransferPending {
		return nil, fmt.Errorf("transfer request %s is %s, not Pending", tr.name, tr.status)
	}
	switch ch.Action {
	case "accept":
		if err := s.acceptTransfer(tr); err != nil {
			return nil, err
		}
	case "decline":
		tr.status = TransferDeclined
	case "expire":
		tr.status, tr.expires = TransferExpired, s.now().UTC()
	}
	return s.transferJSON(tr), nil
}

// TransferState describes a transfer for GET /_control/state: the billing
// API's shape plus the customer's tenant.
func (s *Server) transfersState() []map[string]any {
	out := []map[string]any{}
	for _, tr := range s.transfers {
		m := s.transferJSON(tr)
		m["customerTenantId"] = tr.tenant.ID
		out = append(out, m)
	}
	return out
}

// The Azure portal's transfer request page.

type transferPage struct {
	PartnerName  string
	TransferName string
	Login        string
	Pending      []transferPageItem
	Error        string
	Done         string
}

type transferPageItem struct {
	Name, Recipient, Expires string
	Subscriptions            []string
}

var transferTemplate = template.Must(template.New("transfer").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Transfer request - Microsoft Azure</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }
label, input[type=email] { display: block; }
input[type=email] { width: 100%; padding: .4rem; margin: .3rem 0 1rem; }
button { margin-right: .5rem; padding: .4rem 1.2rem; }
.error { color: #a4262c; border-left: 4px solid #a4262c; padding-left: .6rem; }
.done { border-left: 4px solid #107c10; padding-left: .6rem; }
</style>
</head>
<body>
<main>
<h1>Transfer request</h1>
{{if .Done}}<p class="done" role="status">{{.Done}}</p>
{{else}}
<p><strong>{{.PartnerName}}</strong> asks to bill the Azure subscriptions of your Enterprise Agreement enrollment as your Cloud Solution Provider.
Your subscriptions and their resources stay where they are; only their billing moves. Support plans and Marketplace SaaS products don't move, and quota increases reset.</p>
{{if .Pending}}<ul>{{range .Pending}}<li>Request <code>{{.Name}}</code>, sent to {{.Recipient}}, expires {{.Expires}}: {{range $i, $s := .Subscriptions}}{{if $i}}, {{end}}{{$s}}{{end}}.</li>{{end}}</ul>
{{else}}<p>Sign in to see the transfer requests sent to you.</p>{{end}}
<p>Only the billing owner the request was sent to can accept it. Local Microsoft double: no password is needed.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="">
<input type="hidden" name="transferName" value="{{.TransferName}}">
<label for="login">Email</label>
<input type="email" id="login" name="login" value="{{.Login}}" autocomplete="username" placeholder="billing@contoso.example">
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="decline">Decline</button>
</form>
{{end}}
</main>
</body>
</html>
`))

// isTransferPage tells whether a request to "/" is for the transfer page.
func isTransferPage(r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	q := r.URL.Query()
	return q.Has("transferName") || q.Has("transfers")
}

// serveTransferPage serves the Azure portal's transfer request page.
func (s *Server) serveTransferPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The request could not be read.", http.StatusBadRequest)
		return
	}
	page := transferPage{PartnerName: s.scenario.Partner.Name, TransferName: strings.TrimSpace(r.Form.Get("transferName"))}
	sess := s.session(r)
	if sess != nil {
		page.Login = sess.login
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	if login == "" {
		login = page.Login
	}
	page.Login = login
	s.mu.Lock()
	s.refreshTransfers()
	if login != "" {
		page.Pending = s.pendingTransfersView(login, page.TransferName)
	}
	s.mu.Unlock()
	if r.Method == http.MethodGet {
		renderTransferPage(w, http.StatusOK, page)
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "accept" && decision != "decline" {
		page.Error = "Choose Accept or Decline."
		renderTransferPage(w, http.StatusBadRequest, page)
		return
	}
	if login == "" {
		page.Error = "Enter the email address the transfer request was sent to."
		renderTransferPage(w, http.StatusOK, page)
		return
	}
	s.mu.Lock()
	t, u, msg := s.lookupUser(nil, login)
	s.mu.Unlock()
	if msg != "" {
		page.Error = msg
		renderTransferPage(w, http.StatusOK, page)
		return
	}
	if sess == nil || !strings.EqualFold(sess.login, u.UserPrincipalName) {
		s.startSession(w, r, u.UserPrincipalName, t.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []*billingTransfer
	for _, tr := range s.transfers {
		if tr.status == TransferPending && strings.EqualFold(tr.recipient, u.UserPrincipalName) &&
			(page.TransferName == "" || strings.EqualFold(tr.name, page.TransferName)) {
			targets = append(targets, tr)
		}
	}
	if len(targets) == 0 {
		page.Error = "There's no pending transfer request sent to " + u.UserPrincipalName + "."
		if page.TransferName != "" {
			page.Error = "The transfer request " + page.TransferName + " isn't waiting for " + u.UserPrincipalName + " (it was sent to someone else, or was already accepted, declined, canceled or expired)."
		}
		renderTransferPage(w, http.StatusNotFound, page)
		return
	}
	if decision == "decline" {
		for _, tr := range targets {
			tr.status = TransferDeclined
		}
		page.Pending = nil
		page.Done = "You declined the transfer request. Your subscriptions stay billed as they are."
		renderTransferPage(w, http.StatusOK, page)
		return
	}
	if !u.BillingOwner {
		page.Error = "You don't have permission to accept this transfer. Only the billing owner of " + t.DisplayName + "'s Enterprise Agreement enrollment (its Enterprise Administrator) can accept it."
		renderTransferPage(w, http.StatusForbidden, page)
		return
	}
	var names []string
	for _, tr := range targets {
		if err := s.acceptTransfer(tr); err != nil {
			page.Error = "This transfer can't be accepted: " + err.Error() + "."
			renderTransferPage(w, http.StatusConflict, page)
			return
		}
		for _, p := range tr.products {
			names = append(names, p.name)
		}
	}
	page.Pending = nil
	page.Done = "You accepted the transfer request. " + s.scenario.Partner.Name + " now bills " + strings.Join(names, ", ") + "; the transfer completes in a few minutes."
	renderTransferPage(w, http.StatusOK, page)
}

// pendingTransfersView lists the pending transfers sent to login. s.mu must
// be held.
func (s *Server) pendingTransfersView(login, only string) []transferPageItem {
	var out []transferPageItem
	for _, tr := range s.transfers {
		if tr.status != TransferPending || !strings.EqualFold(tr.recipient, login) || (only != "" && !strings.EqualFold(tr.name, only)) {
			continue
		}
		item := transferPageItem{Name: tr.name, Recipient: tr.recipient, Expires: tr.expires.Format("January 2, 2006")}
		for _, p := range transferProducts(tr) {
			item.Subscriptions = append(item.Subscriptions, p.name+" ("+p.subscriptionID+")")
		}
		out = append(out, item)
	}
	return out
}

func renderTransferPage(w http.ResponseWriter, status int, page transferPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = transferTemplate.Execute(w, page)
}

// BillingAccount and BillingProfile are the partner's billing account and
// profile names, as the product is configured with them
// (BILLING_ACCOUNT_ID, BILLING_PROFILE_ID).
func (s *Server) BillingAccount() string { return s.billingAccount() }

// BillingProfile: see BillingAccount.
func (s *Server) BillingProfile() string { return s.billingProfile() }
