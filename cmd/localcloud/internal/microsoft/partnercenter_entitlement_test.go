package microsoft

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// orderedPlan orders an Azure plan for contoso (a reseller customer) and
// lists subscriptions until it appears: the plan's Partner Center id and
// its Azure subscription's id.
func orderedPlan(t *testing.T, e *env, pc string) (planID, armID string) {
	t.Helper()
	status, _, _ := e.call(t, "POST", "/v1/customers/"+contosoTenant+"/orders", pc, map[string]any{
		"referenceCustomerId": contosoTenant, "billingCycle": "monthly",
		"lineItems": []any{map[string]any{"lineItemNumber": 0, "offerId": AzurePlanOfferID, "quantity": 1}}})
	if status != 201 {
		t.Fatalf("order = %d", status)
	}
	for range SubscriptionPolls {
		e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil)
	}
	_, _, out := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil)
	plans := items(out)
	if len(plans) != 1 {
		t.Fatalf("subscriptions = %v", out)
	}
	planID = plans[0]["id"].(string)
	_, _, ent := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/"+planID+"/azureEntitlements", pc, nil)
	if ents := items(ent); len(ents) != 1 || ents[0]["status"] != "active" {
		t.Fatalf("entitlements = %v", ent)
	}
	return planID, items(ent)[0]["id"].(string)
}

// controlEntitlement posts a change to /_control/entitlement: the status
// code and the answer.
func controlEntitlement(t *testing.T, e *env, ch EntitlementChange) (int, map[string]any) {
	t.Helper()
	resp := e.post(t, "/_control/entitlement", ch)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// POST /_control/entitlement changes what azureEntitlements shows of an
// Azure subscription under the plan (suspended, inactive, removed from
// the list), and status active undoes it; the answer, the state and the
// list agree after each step.
func TestEntitlementControl(t *testing.T) {
	e, _, _ := transfersEnv(t, nil)
	pc := e.scopedToken(t, pcScope)
	planID, armID := orderedPlan(t, e, pc)

	steps := []struct {
		name       string
		ch         EntitlementChange
		wantStatus string
		wantListed bool
	}{
		{"suspended", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Status: "suspended"}, "suspended", true},
		{"cancelled", EntitlementChange{Tenant: contosoTenant, SubscriptionID: strings.ToUpper(armID), Status: "inactive"}, "inactive", true},
		{"active again", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Status: "active"}, "active", true},
		{"removed", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Remove: true}, "active", false},
		{"removed and suspended", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Status: "suspended"}, "suspended", false},
		{"restored", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Status: "active"}, "active", true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, out := controlEntitlement(t, e, st.ch)
			if code != 200 || out["id"] != armID || out["status"] != st.wantStatus || out["listed"] != st.wantListed ||
				out["subscriptionId"] != planID || out["friendlyName"] != "Azure subscription 1" {
				t.Fatalf("control = %d %v, want status %s listed %v", code, out, st.wantStatus, st.wantListed)
			}
			_, _, ent := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/"+planID+"/azureEntitlements", pc, nil)
			ents := items(ent)
			switch {
			case !st.wantListed && len(ents) != 0:
				t.Fatalf("azureEntitlements = %v, want it no longer listed", ent)
			case st.wantListed && (len(ents) != 1 || ents[0]["id"] != armID || ents[0]["status"] != st.wantStatus):
				t.Fatalf("azureEntitlements = %v, want %s", ent, st.wantStatus)
			case ent["totalCount"] != float64(len(ents)):
				t.Fatalf("totalCount = %v for %d items", ent["totalCount"], len(ents))
			}
			if _, ok := ents0(ents)["listed"]; ok {
				t.Fatalf("azureEntitlements shows the double's own listed: %v", ent)
			}
			var shown []any
			for _, c := range e.srv.State().PartnerCenterCustomers {
				if c["tenantId"] == contosoTenant {
					for _, m := range c["azureEntitlements"].([]map[string]any) {
						shown = append(shown, m)
					}
				}
			}
			if len(shown) != 1 || shown[0].(map[string]any)["status"] != st.wantStatus || shown[0].(map[string]any)["listed"] != st.wantListed {
				t.Fatalf("state's azureEntitlements = %v", shown)
			}
		})
	}
}

func ents0(ents []map[string]any) map[string]any {
	if len(ents) == 0 {
		return nil
	}
	return ents[0]
}

func TestEntitlementControlRefusals(t *testing.T) {
	e, _, _ := transfersEnv(t, nil)
	pc := e.scopedToken(t, pcScope)
	_, armID := orderedPlan(t, e, pc)
	for _, tc := range []struct {
		name string
		ch   EntitlementChange
		want int
	}{
		{"unknown tenant", EntitlementChange{Tenant: "nowhere", SubscriptionID: armID, Status: "suspended"}, 404},
		{"not a customer", EntitlementChange{Tenant: "fabrikam", SubscriptionID: "30000000-0000-4000-8000-000000000101", Status: "suspended"}, 404},
		{"not under the plan", EntitlementChange{Tenant: "contoso", SubscriptionID: contosoEASub, Status: "suspended"}, 404},
		{"unknown subscription", EntitlementChange{Tenant: "contoso", SubscriptionID: "nope", Remove: true}, 404},
		{"unknown status", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Status: "paused"}, 400},
		{"no change", EntitlementChange{Tenant: "contoso", SubscriptionID: armID}, 400},
		{"status and remove", EntitlementChange{Tenant: "contoso", SubscriptionID: armID, Status: "suspended", Remove: true}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := controlEntitlement(t, e, tc.ch); code != tc.want || out["error"] == "" {
				t.Errorf("%+v = %d %v, want %d", tc.ch, code, out, tc.want)
			}
		})
	}
	_, _, out := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil)
	planID := items(out)[0]["id"].(string)
	if _, _, ent := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/"+planID+"/azureEntitlements", pc, nil); items(ent)[0]["status"] != "active" {
		t.Fatalf("a refused change changed the entitlement: %v", ent)
	}
}

// The control page lists the Azure plans' subscriptions with a form per
// change; posting one changes the entitlement and returns to the page.
func TestEntitlementControlPage(t *testing.T) {
	e, _, _ := transfersEnv(t, nil)
	pc := e.scopedToken(t, pcScope)
	planID, armID := orderedPlan(t, e, pc)
	resp, err := e.client.Get(e.url + "/_control")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{armID, planID, `action="/_control/entitlement"`, `value="suspended"`, `name="remove" value="true"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("control page lacks %q", want)
		}
	}
	noRedirect := *e.client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.PostForm(e.url+"/_control/entitlement", url.Values{"tenant": {"contoso"}, "subscriptionId": {armID}, "status": {"suspended"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form post = %d", resp.StatusCode)
	}
	if _, _, ent := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/"+planID+"/azureEntitlements", pc, nil); items(ent)[0]["status"] != "suspended" {
		t.Fatalf("after the form: %v", ent)
	}
}
