package microsoft

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

func items(body map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := body["items"].([]any)
	for _, it := range list {
		out = append(out, it.(map[string]any))
	}
	return out
}

// An existing customer (a scenario tenant that accepted the reseller
// relationship) orders an Azure plan: it appears after the polls, with a
// new Resource Manager subscription billed by the partner, owned by the
// partner's principal, listed by azureEntitlements.
func TestAzurePlanForAnExistingCustomer(t *testing.T) {
	tests := []struct {
		name  string
		order func(e *env, pc string) int
	}{
		{"orders", func(e *env, pc string) int {
			status, _, _ := e.call(t, "POST", "/v1/customers/"+contosoTenant+"/orders", pc, map[string]any{
				"referenceCustomerId": contosoTenant, "billingCycle": "monthly",
				"lineItems": []any{map[string]any{"lineItemNumber": 0, "offerId": AzurePlanOfferID, "quantity": 1}}})
			return status
		}},
		{"cart and checkout", func(e *env, pc string) int {
			_, _, cart := e.call(t, "POST", "/v1/customers/"+contosoTenant+"/carts", pc, map[string]any{
				"lineItems": []any{map[string]any{"id": 0, "catalogItemId": "DZH318Z0BPS6:0001:DZH318Z0BPS6", "quantity": 1}}})
			status, _, _ := e.call(t, "POST", "/v1/customers/"+contosoTenant+"/carts/"+cart["id"].(string)+"/checkout", pc, nil)
			return status
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := transfersEnv(t, nil)
			pc := e.scopedToken(t, pcScope)
			if status := tc.order(e, pc); status != 201 {
				t.Fatalf("order = %d", status)
			}
			for i := 0; i < SubscriptionPolls; i++ {
				if _, _, out := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil); len(items(out)) != 0 {
					t.Fatalf("poll %d: %v, want no plan yet", i, out)
				}
			}
			_, _, out := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil)
			plans := items(out)
			if len(plans) != 1 || plans[0]["offerId"] != AzurePlanOfferID || plans[0]["status"] != "active" {
				t.Fatalf("subscriptions = %v", out)
			}
			status, _, ent := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/"+plans[0]["id"].(string)+"/azureEntitlements", pc, nil)
			ents := items(ent)
			if status != 200 || len(ents) != 1 || ents[0]["status"] != "active" || ents[0]["subscriptionId"] != plans[0]["id"] || ents[0]["id"] == plans[0]["id"] {
				t.Fatalf("entitlements = %d %v", status, ent)
			}
			armID := ents[0]["id"].(string)
			client, err := armsubscriptions.NewClient(e.credential(t, "contoso", partnerApp, partnerSecret), e.armOptions())
			if err != nil {
				t.Fatal(err)
			}
			got, err := client.Get(context.Background(), armID, nil)
			if err != nil || *got.SubscriptionPolicies.QuotaID != CSPQuotaID || *got.TenantID != contosoTenant {
				t.Fatalf("the plan's subscription in Resource Manager: %+v, %v", got, err)
			}
			owner := false
			for _, tn := range e.srv.State().Tenants {
				for _, s := range tn.Subscriptions {
					owner = owner || (s.ID == armID && s.PartnerOwner)
				}
			}
			if !owner {
				t.Fatal("the partner's principal does not hold Owner on the plan's subscription")
			}
		})
	}
}

func TestPartnerCenterListsTransferredSubscriptions(t *testing.T) {
	e, _, tok := transfersEnv(t, nil)
	pc := e.scopedToken(t, pcScope)
	if _, _, out := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil); len(items(out)) != 0 {
		t.Fatalf("before any transfer: %v", out)
	}
	e.call(t, "PUT", transfersPath+"/t-1"+billingAPI, tok, map[string]any{"properties": map[string]any{"recipientEmailId": billingOwner}})
	controlTransfer(t, e, "accept")
	e.call(t, "GET", transfersPath+"/t-1"+billingAPI, tok, nil)
	if _, _, out := e.call(t, "GET", transfersPath+"/t-1"+billingAPI, tok, nil); props(out)["transferStatus"] != "Completed" {
		t.Fatalf("transfer = %v", out)
	}
	_, _, out := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions", pc, nil)
	plans := items(out)
	if len(plans) != 1 {
		t.Fatalf("subscriptions after the transfer = %v", out)
	}
	_, _, ent := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/"+plans[0]["id"].(string)+"/azureEntitlements", pc, nil)
	if ents := items(ent); len(ents) != 1 || ents[0]["id"] != contosoEASub || ents[0]["friendlyName"] != "Contoso Enterprise" {
		t.Fatalf("entitlements = %v", ent)
	}
}

func TestPartnerCenterExistingCustomerRefusals(t *testing.T) {
	e := newEnv(t, defaultScenario(t)) // contoso has not accepted the reseller relationship
	pc := e.scopedToken(t, pcScope)
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/customers/" + contosoTenant + "/orders"},
		{"GET", "/v1/customers/" + contosoTenant + "/subscriptions"},
		{"GET", "/v1/customers/" + contosoTenant + "/subscriptions/x/azureEntitlements"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{"lineItems": []any{map[string]any{"offerId": AzurePlanOfferID, "quantity": 1}}}
		}
		if status, _, out := e.call(t, c.method, c.path, pc, body); status != 404 || out["code"] != float64(600039) {
			t.Errorf("%s %s = %d %v, want 404 600039", c.method, c.path, status, out)
		}
	}
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenterEntitlements, Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.call(t, "GET", "/v1/customers/"+contosoTenant+"/subscriptions/x/azureEntitlements", pc, nil); status != 503 {
		t.Errorf("faulted entitlements = %d", status)
	}
}
