package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// newCustomerBody is an option-new request for a domain prefix.
func newCustomerBody(name, prefix string) map[string]any {
	return map[string]any{"name": name, "type": "azure", "option": "new",
		"acceptedTerms": map[string]string{"partner": "2017-08", "microsoft": "2017-08"},
		"company": map[string]any{
			"name": "Fabrikam " + prefix, "domainPrefix": prefix,
			"address": map[string]any{"line1": "1 Microsoft Way", "city": "Redmond", "state": "WA", "postalCode": "98052", "country": "US"},
			"contact": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@" + prefix + ".example", "phone": "+1 425 555 0100"},
		}}
}

// pcCustomer is a customer in the double's Partner Center.
type pcCustomer struct {
	ID            string   `json:"id"`
	TenantID      string   `json:"tenantId"`
	Domain        string   `json:"domain"`
	AdminPassword string   `json:"adminPassword"`
	Agreements    int      `json:"agreements"`
	Orders        []string `json:"orders"`
	Subscriptions []string `json:"subscriptions"`
	// AzureSubscriptions are the Resource Manager subscriptions the
	// customer's Azure plans created.
	AzureSubscriptions []string `json:"azureSubscriptions"`
}

func (e *env) partnerCenterCustomers(t *testing.T) []pcCustomer {
	t.Helper()
	resp, err := e.http.Get(e.ep["microsoft"] + "/_control/partnercenter")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Customers []pcCustomer `json:"customers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Customers
}

// TestNewCustomerProvider: an administrator creates a new Azure customer
// account; the workflow creates the customer in Partner Center (through one
// 429), records the agreement, orders an Azure plan, waits for its
// subscription and reaches active with consolidated billing. A taken domain
// is a 409, a member gets 403, and the initial admin password appears in no
// API answer, DynamoDB item, log or email.
func TestNewCustomerProvider(t *testing.T) {
	e := cloudFor(t, "standard")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
		}
	})
	w := &leakWatch{e: e}
	const account = "acct-eligible"
	admin := e.token(t, account, "admin")
	member := e.token(t, account)
	stamp := time.Now().Format("150405")
	prefix := "fabrikam" + stamp + fmt.Sprint(time.Now().Nanosecond()%1000)

	t.Run("a member may not", func(t *testing.T) {
		r := w.call(t, "POST", "/providers", member, newCustomerBody("New by member "+stamp, prefix))
		if r.status != 403 || r.errorCode() != "admin_required" {
			t.Fatalf("member: %d %s", r.status, r.raw)
		}
	})
	t.Run("a taken domain is a 409", func(t *testing.T) {
		r := w.call(t, "POST", "/providers", admin, newCustomerBody("New taken "+stamp, "contoso"))
		if r.status != 409 || r.errorCode() != "domain_taken" {
			t.Fatalf("taken domain: %d %s", r.status, r.raw)
		}
	})

	// Partner Center throttles customer creation once: retried after Retry-After.
	e.control(t, "/_control/faults", map[string]any{"call": "partnerCenter.customers", "status": 429, "retryAfter": 1, "count": 1})
	name := "New customer " + stamp
	r := w.call(t, "POST", "/providers", admin, newCustomerBody(name, prefix))
	if r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id, _ := r.json["id"].(string)
	if r.json["status"] != "provisioning" {
		t.Errorf("created with status %v", r.json["status"])
	}
	p := e.waitFor(t, admin, id, 90*time.Second, "active or failed", func(p providerView) bool {
		return p.Status == "active" || p.Status == "failed"
	})
	w.call(t, "GET", "/providers/"+id, admin, nil)
	if p.Status != "active" || p.Billing != "consolidated" || len(p.Subscriptions) != 1 || p.TenantID == "" {
		t.Fatalf("provider %+v", p)
	}

	var cust *pcCustomer
	for _, c := range e.partnerCenterCustomers(t) {
		if c.Domain == prefix+".onmicrosoft.com" {
			cust = &c
		}
	}
	switch {
	case cust == nil:
		t.Fatalf("no customer %s in the double's Partner Center", prefix)
	case cust.TenantID != p.TenantID || cust.Agreements < 1 || len(cust.Orders) != 1 || len(cust.Subscriptions) != 1 || len(cust.AzureSubscriptions) != 1:
		t.Fatalf("customer %+v, provider %+v", cust, p)
	case !strings.EqualFold(cust.AzureSubscriptions[0], p.Subscriptions[0].ID) || p.Subscriptions[0].State != "consolidated" || p.Subscriptions[0].Route != "already_partner":
		// The Azure subscription Partner Center lists under the plan, by its
		// Resource Manager id, not the plan's Partner Center id.
		t.Fatalf("provider's subscription %+v, want the Azure plan's Resource Manager subscription %s consolidated (Partner Center's plan id %s)",
			p.Subscriptions[0], cust.AzureSubscriptions[0], cust.Subscriptions[0])
	case cust.AdminPassword == "":
		t.Fatal("the double gave no initial password")
	}

	// A health check finds the new account as Partner Center shows it:
	// the reseller relationship and the Azure plan's subscription active.
	batch, _ := json.Marshal(map[string]any{"step": "check", "providers": []any{map[string]string{"accountId": account, "providerId": id}}})
	if _, err := e.c.Host().Invoke(context.Background(), "HealthCheckFunction", batch); err != nil {
		t.Fatalf("health check: %v", err)
	}
	if _, h := e.health(t, admin, id); h == nil || h.Status != "ok" || len(h.Findings) != 0 {
		t.Fatalf("health of the new account %+v, want ok", h)
	}

	// The same domain again is now taken.
	if r := w.call(t, "POST", "/providers", admin, newCustomerBody("New again "+stamp, prefix)); r.status != 409 {
		t.Errorf("the same domain again: %d %s", r.status, r.raw)
	}

	// The completion email carries the single-use link, not the password.
	var mails []string
	var link string
	for _, m := range e.messages(t) {
		mails = append(mails, m.Subject, m.Text, m.HTML)
		if strings.Contains(m.Subject, "Your new Azure account is ready: "+name) {
			for _, l := range m.Links {
				if strings.Contains(l, "/providers/"+id+"/initial-credentials?token=") {
					link = l
				}
			}
		}
	}
	if link == "" {
		t.Fatal("no completion email with the initial credentials link")
	}
	if strings.Contains(strings.Join(mails, "\n"), cust.AdminPassword) {
		t.Error("an email shows the initial admin password")
	}
	secretName := "partner-cloud/providers/" + account + "/" + id + "/initial-admin"
	if !slices.Contains(e.providerSecrets(t, account), secretName) {
		t.Errorf("no secret %s before the link is used", secretName)
	}
	// No JWT: the token is the authentication. Opening the link (a mail
	// scanner, a preview, the person) shows a button and uses nothing up;
	// the button's POST, with the token in the form body, shows the
	// credentials once, then 410.
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("token")
	for i := range 2 {
		r := w.call(t, "GET", u.RequestURI(), "", nil)
		if r.status != 200 || strings.Contains(string(r.raw), cust.AdminPassword) || !strings.Contains(string(r.raw), `<form method="post"`) ||
			r.header.Get("Cache-Control") != "no-store" || r.header.Get("Strict-Transport-Security") == "" {
			t.Fatalf("GET %d: %d %v %s", i+1, r.status, r.header, r.raw)
		}
	}
	if !slices.Contains(e.providerSecrets(t, account), secretName) {
		t.Fatal("opening the link deleted the secret")
	}
	form := url.Values{"token": {tok}}.Encode()
	formType := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if r := w.call(t, "POST", u.Path, "", form, append(formType, "Sec-Fetch-Site", "cross-site")...); r.status != 403 {
		t.Fatalf("a cross-site POST: %d", r.status)
	}
	if r := w.call(t, "POST", u.Path, "", form, "Content-Type", "text/plain"); r.status != 415 {
		t.Fatalf("a text/plain POST: %d", r.status)
	}
	first := e.call(t, "POST", u.Path, "", form, append(formType, "Sec-Fetch-Site", "same-origin", "Origin", "null")...)
	if first.status != 200 || !strings.Contains(string(first.raw), cust.AdminPassword) || first.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first use: %d %v\n%s", first.status, first.header, first.raw)
	}
	second := w.call(t, "POST", u.Path, "", form, formType...)
	if second.status != 410 || strings.Contains(string(second.raw), cust.AdminPassword) {
		t.Fatalf("second use: %d", second.status)
	}
	if slices.Contains(e.providerSecrets(t, account), secretName) {
		t.Error("the secret survived the link's use")
	}
	if r := w.call(t, "GET", "/providers/"+id+"/initial-credentials?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", nil); r.status != 404 {
		t.Errorf("a forged token: %d", r.status)
	}
	if r := w.call(t, "POST", u.Path, "", "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", formType...); r.status != 404 {
		t.Errorf("a forged token: %d", r.status)
	}

	// No password in DynamoDB, the logs, the outbox or any other API answer.
	w.call(t, "GET", "/providers/"+id, admin, nil)
	w.call(t, "GET", "/providers", admin, nil)
	w.check(t, cust.AdminPassword)
}
