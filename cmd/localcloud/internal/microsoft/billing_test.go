package microsoft

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

const (
	billingAccount = "10000000-0000-4000-8000-000000000001:10000000-0000-4000-8000-0000000000d1_2019-05-31"
	billingProfile = "PCAZ-LOCL-BG7-TGB"
	billingOwner   = "billing@contoso.example"
	transfersPath  = "/providers/Microsoft.Billing/billingAccounts/" + billingAccount + "/billingProfiles/" + billingProfile + "/customers/" + contosoTenant + "/transfers"
	billingAPI     = "?api-version=2024-04-01"
)

// transfersEnv is the default scenario where contoso accepted the reseller
// relationship and consented, with a partner token for the billing API.
func transfersEnv(t *testing.T, edit func(*Scenario)) (*env, *testClock, string) {
	t.Helper()
	clock := newTestClock()
	sc := defaultScenario(t)
	sc.Tenants[0].PartnerConsented = true
	sc.Tenants[0].ResellerRelationship = true
	if edit != nil {
		edit(&sc)
	}
	e := newEnvWith(t, sc, Options{Now: clock.Now})
	return e, clock, e.scopedToken(t, managementScope)
}

func props(body map[string]any) map[string]any {
	p, _ := body["properties"].(map[string]any)
	return p
}

func products(body map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := props(body)["detailedTransferStatus"].([]any)
	for _, d := range list {
		out = append(out, d.(map[string]any))
	}
	return out
}

func TestTransferInitiateIsIdempotentAndShapedAsTheSpec(t *testing.T) {
	e, clock, tok := transfersEnv(t, nil)
	status, _, out := e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}})
	p := props(out)
	if status != 201 || p["transferStatus"] != "Pending" || p["recipientEmailId"] != billingOwner || p["initiatorEmailId"] != "billing@partnercloud.example" ||
		p["initiatorCustomerType"] != "Partner" || out["type"] != "Microsoft.Billing/transfers" || out["name"] != "t-1" ||
		out["id"] != transfersPath+"/t-1" {
		t.Fatalf("initiate = %d %v", status, out)
	}
	if exp, err := time.Parse(time.RFC3339, p["expirationTime"].(string)); err != nil || !exp.Equal(clock.Now().UTC().Add(TransferLifetime).Truncate(time.Second)) {
		t.Fatalf("expirationTime = %v", p["expirationTime"])
	}
	if d := products(out); len(d) != 1 || d[0]["productId"] != contosoEASub || d[0]["transferStatus"] != "NotStarted" || d[0]["productType"] != "AzureSubscription" {
		t.Fatalf("detailedTransferStatus = %v", d)
	}
	// The same name again answers the existing transfer, unchanged.
	status, _, again := e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": "other@contoso.example"}})
	if status != 200 || props(again)["recipientEmailId"] != billingOwner {
		t.Fatalf("repeated initiate = %d %v", status, again)
	}
	if status, _, list := e.call(t, "GET", transfersPath+billingAPI, tok, nil); status != 200 || len(ids(list)) != 1 {
		t.Fatalf("list = %d %v", status, list)
	}
}

func TestTransferRefusals(t *testing.T) {
	e, _, tok := transfersEnv(t, nil)
	contosoApp, err := e.token(t, e.credential(t, "contoso", contosoApp, contosoAppSecret))
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}}
	tests := []struct {
		name, method, path, token string
		want                      int
		code                      string
	}{
		{"customer's own application", "PUT", transfersPath + "/x" + billingAPI, contosoApp, 403, "AuthorizationFailed"},
		{"not a reseller customer", "PUT", strings.Replace(transfersPath, contosoTenant, fabrikamTenant, 1) + "/x" + billingAPI, tok, 404, "CustomerNotFound"},
		{"another billing account", "GET", strings.Replace(transfersPath, billingAccount, "other", 1) + billingAPI, tok, 404, "BillingAccountNotFound"},
		{"another billing profile", "GET", strings.Replace(transfersPath, billingProfile, "other", 1) + billingAPI, tok, 404, "BillingProfileNotFound"},
		{"unknown transfer", "GET", transfersPath + "/nope" + billingAPI, tok, 404, "TransferNotFound"},
		{"no api-version", "GET", transfersPath, tok, 400, "MissingApiVersionParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b any
			if tc.method == "PUT" {
				b = body
			}
			status, _, out := e.call(t, tc.method, tc.path, tc.token, b)
			if status != tc.want || errorCode(out) != tc.code {
				t.Fatalf("= %d %v, want %d %s", status, out, tc.want, tc.code)
			}
		})
	}
}

func TestTransferOutcomes(t *testing.T) {
	const secondEA = "20000000-0000-4000-8000-000000000105"
	withFailure := func(sc *Scenario) {
		sc.Tenants[0].Subscriptions = append(sc.Tenants[0].Subscriptions, Subscription{ID: secondEA, DisplayName: "Contoso Reservations", QuotaID: EAQuotaID,
			TransferError: &ErrorInfo{Code: "ReservationsNotSupported", Message: "Reservations can't be transferred to a Cloud Solution Provider."}})
	}
	tests := []struct {
		name       string
		edit       func(*Scenario)
		act        func(e *env, tok string) // what ends the Pending state
		want       string
		wantBilled bool
	}{
		{"accepted", nil, func(e *env, tok string) { controlTransfer(t, e, "accept") }, "Completed", true},
		{"accepted, one product fails", withFailure, func(e *env, tok string) { controlTransfer(t, e, "accept") }, "CompletedWithErrors", true},
		{"declined", nil, func(e *env, tok string) { controlTransfer(t, e, "decline") }, "Declined", false},
		{"expired by control", nil, func(e *env, tok string) { controlTransfer(t, e, "expire") }, "Expired", false},
		{"canceled by the partner", nil, func(e *env, tok string) {
			if status, _, out := e.call(t, "POST", transfersPath+"/t-1/cancel"+billingAPI, tok, nil); status != 200 || props(out)["transferStatus"] != "Canceled" || props(out)["canceledBy"] == nil {
				t.Fatalf("cancel = %d %v", status, out)
			}
		}, "Canceled", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, tok := transfersEnv(t, tc.edit)
			if status, _, out := e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}}); status != 201 {
				t.Fatalf("initiate = %d %v", status, out)
			}
			tc.act(e, tok)
			_, _, out := e.call(t, "GET", transfersPath+"/t-1"+billingAPI, tok, nil)
			if tc.wantBilled { // the first read after acceptance shows it running
				if props(out)["transferStatus"] != "InProgress" {
					t.Fatalf("first read after acceptance = %v", props(out)["transferStatus"])
				}
				_, _, out = e.call(t, "GET", transfersPath+"/t-1"+billingAPI, tok, nil)
			}
			if props(out)["transferStatus"] != tc.want {
				t.Fatalf("status = %v, want %s (%v)", props(out)["transferStatus"], tc.want, out)
			}
			// The Enterprise Agreement subscription is billed by the partner
			// only after a completed transfer.
			client, err := armsubscriptions.NewClient(e.credential(t, "contoso", partnerApp, partnerSecret), e.armOptions())
			if err != nil {
				t.Fatal(err)
			}
			got, err := client.Get(context.Background(), contosoEASub, nil)
			if err != nil || (*got.SubscriptionPolicies.QuotaID == CSPQuotaID) != tc.wantBilled {
				t.Fatalf("quotaId = %v, %v", *got.SubscriptionPolicies.QuotaID, err)
			}
			if tc.want == "CompletedWithErrors" {
				var failed map[string]any
				for _, d := range products(out) {
					if d["productId"] == secondEA {
						failed = d
					}
				}
				if failed == nil || failed["transferStatus"] != "Failed" || failed["errorDetails"].(map[string]any)["code"] != "ReservationsNotSupported" {
					t.Fatalf("the failing product = %v", failed)
				}
			}
			// A transfer no longer pending refuses control actions and cancel.
			if status, _, _ := e.call(t, "POST", transfersPath+"/t-1/cancel"+billingAPI, tok, nil); status != 400 {
				t.Fatalf("cancel of a %s transfer = %d", tc.want, status)
			}
			if resp := e.post(t, "/_control/transfer", TransferChange{TransferID: "t-1", Action: "accept"}); resp.StatusCode != 400 {
				t.Fatalf("control accept of a %s transfer = %d", tc.want, resp.StatusCode)
			}
		})
	}
}

func controlTransfer(t *testing.T, e *env, action string) {
	t.Helper()
	resp := e.post(t, "/_control/transfer", TransferChange{SubscriptionID: contosoEASub, Action: action})
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("control %s = %d", action, resp.StatusCode)
	}
}

func TestTransferControlRefusesUnknown(t *testing.T) {
	e, _, _ := transfersEnv(t, nil)
	for _, tc := range []struct {
		ch   TransferChange
		want int
	}{
		{TransferChange{TransferID: "nope", Action: "accept"}, 404},
		{TransferChange{SubscriptionID: contosoEASub, Action: "accept"}, 404}, // no transfer yet
		{TransferChange{TransferID: "x", Action: "approve"}, 400},
	} {
		if resp := e.post(t, "/_control/transfer", tc.ch); resp.StatusCode != tc.want {
			t.Errorf("%+v = %d, want %d", tc.ch, resp.StatusCode, tc.want)
		}
	}
}

func TestTransferExpiresWithTheClock(t *testing.T) {
	e, clock, tok := transfersEnv(t, nil)
	e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}})
	clock.Add(TransferLifetime - time.Second)
	tok = e.freshToken(t, managementScope)
	if _, _, out := e.call(t, "GET", transfersPath+"/t-1"+billingAPI, tok, nil); props(out)["transferStatus"] != "Pending" {
		t.Fatalf("before expiry: %v", out)
	}
	clock.Add(time.Second)
	if _, _, out := e.call(t, "GET", transfersPath+"/t-1"+billingAPI, tok, nil); props(out)["transferStatus"] != "Expired" {
		t.Fatalf("after expiry: %v", out)
	}
}

func TestTransferRequestPage(t *testing.T) {
	tests := []struct {
		name      string
		recipient string
		login     string
		decision  string
		status    int
		want      string // the transfer's status afterwards
		page      string // text on the page
	}{
		{"billing owner accepts", billingOwner, billingOwner, "accept", 200, "InProgress", "You accepted"},
		{"billing owner declines", billingOwner, billingOwner, "decline", 200, "Declined", "You declined"},
		{"someone else", billingOwner, "admin@contoso.example", "accept", 404, "Pending", "waiting for admin@contoso.example"},
		{"recipient who is no billing owner", "admin@contoso.example", "admin@contoso.example", "accept", 403, "Pending", "Only the billing owner"},
		{"unknown user", billingOwner, "nobody@contoso.example", "accept", 200, "Pending", "nobody@contoso.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, tok := transfersEnv(t, nil)
			e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": tc.recipient}})
			link := TransferRequestURL(e.url, "t-1")
			b := newBrowser(t, e)
			resp, body := b.get(t, link)
			if resp.StatusCode != 200 || !strings.Contains(body, `name="login"`) || !strings.Contains(body, `name="decision" value="accept"`) || !strings.Contains(body, `value="decline"`) {
				t.Fatalf("page = %d %s", resp.StatusCode, body)
			}
			u, _ := url.Parse(link)
			u.Fragment = ""
			resp, body = b.post(t, u.String(), url.Values{"transferName": {"t-1"}, "login": {tc.login}, "decision": {tc.decision}})
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.page) {
				t.Fatalf("submit = %d, want %d with %q: %s", resp.StatusCode, tc.status, tc.page, body)
			}
			st := e.srv.State()
			if len(st.Transfers) != 1 || props(st.Transfers[0])["transferStatus"] != tc.want || st.Transfers[0]["customerTenantId"] != contosoTenant {
				t.Fatalf("transfer after the page = %v", st.Transfers)
			}
		})
	}
}

func TestTransferFaults(t *testing.T) {
	e, _, tok := transfersEnv(t, nil)
	for _, call := range []string{CallTransfersInitiate, CallTransfersGet, CallTransfersList, CallTransfersCancel} {
		if err := e.srv.SetFault(Fault{Call: call, Status: 429, RetryAfter: 2, Count: 1}); err != nil {
			t.Fatal(err)
		}
	}
	body := map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}}
	for _, c := range []struct{ method, path string }{
		{"PUT", transfersPath + "/t-1"}, {"GET", transfersPath + "/t-1"}, {"GET", transfersPath}, {"POST", transfersPath + "/t-1/cancel"},
	} {
		var b any
		if c.method == "PUT" {
			b = body
		}
		status, hdr, out := e.call(t, c.method, c.path+billingAPI, tok, b)
		if status != 429 || hdr.Get("Retry-After") != "2" || errorCode(out) != "TooManyRequests" {
			t.Fatalf("%s %s under a fault = %d %v", c.method, c.path, status, out)
		}
		if status, _, _ := e.call(t, c.method, c.path+billingAPI, tok, b); status >= 400 {
			t.Fatalf("%s %s after the fault = %d", c.method, c.path, status)
		}
	}
}

func TestControlPageActsOnTransfers(t *testing.T) {
	e, _, tok := transfersEnv(t, nil)
	e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}})
	b := newBrowser(t, e)
	if resp, body := b.get(t, e.url+"/_control"); resp.StatusCode != 200 || !strings.Contains(body, "Billing transfers") || !strings.Contains(body, `name="transferId" value="t-1"`) {
		t.Fatalf("control page = %d", resp.StatusCode)
	}
	if resp, _ := b.post(t, e.url+"/_control/transfer", url.Values{"transferId": {"t-1"}, "action": {"decline"}}); resp.StatusCode != 303 {
		t.Fatalf("form = %d", resp.StatusCode)
	}
	if st := e.srv.State(); props(st.Transfers[0])["transferStatus"] != "Declined" {
		t.Fatalf("after the form: %v", st.Transfers)
	}
}
