package microsoft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/partnercenter"
)

var pcAddr = partnercenter.Address{Country: "US", City: "Redmond", State: "WA", AddressLine1: "1 Main St", PostalCode: "98052", FirstName: "Ada", LastName: "Lovelace", PhoneNumber: "+1 425 555 0100"}

// TestPartnerCenterRequestIDIsIdempotent: a customer creation repeated with
// the same MS-RequestId gets the original answer (same customer, same
// initial password), creates nothing, and is not "domain taken"; another
// request id for that domain is.
func TestPartnerCenterRequestIDIsIdempotent(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	tok, err := e.credential(t, partnerTenant, partnerApp, partnerSecret).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{partnercenter.Scope}})
	if err != nil {
		t.Fatal(err)
	}
	create := func(rid string) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"companyProfile": map[string]any{"domain": "idem.onmicrosoft.com"},
			"billingProfile": map[string]any{"email": "a@idem.example", "companyName": "Idem", "defaultAddress": pcAddr},
		})
		req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/customers", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("MS-RequestId", rid)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if got := resp.Header.Get("MS-RequestId"); got != rid {
			t.Errorf("MS-RequestId answered %q, want the request's %q", got, rid)
		}
		return resp.StatusCode, out
	}
	const rid = "6f1c1a4e-5d0b-4b43-9a55-0d5f0c8a1e01"
	st1, first := create(rid)
	st2, again := create(rid)
	if st1 != http.StatusCreated || st2 != http.StatusCreated || first["id"] == nil || first["id"] != again["id"] {
		t.Fatalf("first %d %v, repeat %d %v: want the same customer twice", st1, first["id"], st2, again["id"])
	}
	if p1, p2 := first["userCredentials"], again["userCredentials"]; p1 == nil || !jsonEqual(p1, p2) {
		t.Fatalf("the repeat's credentials differ: %v / %v", p1, p2)
	}
	if n := len(e.srv.PartnerCenterCustomers()); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
	if st, out := create("6f1c1a4e-5d0b-4b43-9a55-0d5f0c8a1e02"); st != http.StatusConflict {
		t.Fatalf("another request for the taken domain: %d %v, want 409", st, out)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestPartnerCenterDroppedReplies: with dropReply faults the double performs
// the call and loses the reply (a 500, or a cut connection). The client's
// own retries, and a later run with the same request key, get the original
// result: one customer, one order.
func TestPartnerCenterDroppedReplies(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	pc := newPartnerCenter(t, e) // MaxRetries 2: three attempts a call
	ctx := context.Background()
	n := partnercenter.NewCustomer{CompanyName: "Lost Reply", Domain: "lostreply.onmicrosoft.com", Email: "a@lost.example", Address: pcAddr, RequestKey: "provider/acct/prv-1/create-customer"}

	// Within one run: the first reply is cut off, the retry gets it.
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenterCustomers, DropReply: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := pc.CreateCustomer(ctx, n)
	if err != nil || c.ID == "" || c.Password == "" {
		t.Fatalf("CreateCustomer after a lost reply = %+v, %v", c, err)
	}

	// Across runs: every reply of a run is lost (500 after the work), the
	// next run with the same key gets the original customer.
	n2 := n
	n2.Domain, n2.RequestKey = "lostreply2.onmicrosoft.com", "provider/acct/prv-2/create-customer"
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenterCustomers, Status: 500, DropReply: true, Count: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateCustomer(ctx, n2); !errors.Is(err, partnercenter.ErrUnavailable) {
		t.Fatalf("first run = %v, want ErrUnavailable", err)
	}
	c2, err := pc.CreateCustomer(ctx, n2)
	if err != nil || c2.ID == "" {
		t.Fatalf("second run = %+v, %v; want the customer the first run created, not DomainTaken", c2, err)
	}
	custs := e.srv.PartnerCenterCustomers()
	if len(custs) != 2 || custs[1].ID != c2.ID || custs[1].AdminPassword != c2.Password {
		t.Fatalf("customers %+v, want one per domain", custs)
	}

	// A checkout whose replies are all lost: the next run gets the order.
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenterCheckout, Status: 503, DropReply: true, Count: 3}); err != nil {
		t.Fatal(err)
	}
	key := "provider/acct/prv-2/order"
	if _, err := pc.OrderAzurePlan(ctx, c2.ID, key); !errors.Is(err, partnercenter.ErrUnavailable) {
		t.Fatalf("first order run = %v", err)
	}
	order, err := pc.OrderAzurePlan(ctx, c2.ID, key)
	if err != nil || order == "" {
		t.Fatalf("second order run = %q, %v", order, err)
	}
	for _, cu := range e.srv.PartnerCenterCustomers() {
		if cu.ID == c2.ID && (len(cu.Orders) != 1 || cu.Orders[0] != order) {
			t.Fatalf("orders %v, want exactly %s", cu.Orders, order)
		}
	}

	// A throttled call is not performed, and not remembered.
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenterCarts, Status: 429, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.OrderAzurePlan(ctx, c2.ID, "provider/acct/prv-2/second-order"); err != nil {
		t.Fatalf("order after a 429: %v", err)
	}
}

func TestDropReplyFaultIsForPartnerCenter(t *testing.T) {
	e := newEnv(t, defaultScenario(t))
	if err := e.srv.SetFault(Fault{Call: CallRoleAssignments, Status: 500, DropReply: true}); err == nil {
		t.Fatal("dropReply accepted for a Resource Manager call")
	}
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenterCheckout}); err == nil {
		t.Fatal("status 0 accepted without dropReply")
	}
	if err := e.srv.SetFault(Fault{Call: CallPartnerCenter, DropReply: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
}
