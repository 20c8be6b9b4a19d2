package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNewCustomerLostRepliesAndThrottledEmail: Partner Center performs the
// customer creation and the Azure plan's checkout but every reply of the
// first run of each step is lost (a 500 after the work is done, as many
// times as the client retries), and SES throttles the completion email past
// the SDK's retries. The retried steps send the same MS-RequestId, so
// Partner Center answers with what it already did: the provider ends
// active (not failed as DomainTaken), with one customer and one order, and
// the requester gets exactly one completion email with the credentials link.
//
// Not parallel: the fault switches are cloud-wide.
func TestNewCustomerLostRepliesAndThrottledEmail(t *testing.T) {
	e := cloudFor(t, "standard")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true})
		e.c.Outbox().ThrottleNext(0)
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
		}
	})
	admin := e.token(t, "acct-eligible", "admin")
	prefix := fmt.Sprintf("lostreply%s%03d", time.Now().Format("150405"), time.Now().Nanosecond()%1000)
	name := "Lost replies " + prefix

	// The function's client makes 5 attempts a call (1 + 4 retries): 5
	// lost replies fail the whole first run of the step.
	lost := func(call string) {
		e.control(t, "/_control/faults", map[string]any{"call": call, "status": 500, "retryAfter": 1, "dropReply": true, "count": 5})
	}
	lost("partnerCenter.customers")
	lost("partnerCenter.checkout")
	// The SES client makes 5 attempts: 6 throttled sends fail the first
	// run of RecordActive and the first attempt of its retry.
	e.c.Outbox().ThrottleNext(6)

	r := e.call(t, "POST", "/providers", admin, newCustomerBody(name, prefix))
	if r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id, _ := r.json["id"].(string)
	p := e.waitFor(t, admin, id, 150*time.Second, "active or failed", func(p providerView) bool {
		return p.Status == "active" || p.Status == "failed"
	})
	if p.Status != "active" || p.TenantID == "" || len(p.Subscriptions) != 1 {
		t.Fatalf("provider %s (%s), want active: %+v", p.Status, p.FailureReason, p)
	}
	var faults []map[string]any
	e.controlGet(t, "/_control/faults", &faults)
	if len(faults) != 0 {
		t.Errorf("faults not used up (the replies were not all lost): %v", faults)
	}

	var custs []pcCustomer
	for _, c := range e.partnerCenterCustomers(t) {
		if c.Domain == prefix+".onmicrosoft.com" {
			custs = append(custs, c)
		}
	}
	if len(custs) != 1 || custs[0].TenantID != p.TenantID || len(custs[0].Orders) != 1 || len(custs[0].Subscriptions) != 1 {
		t.Fatalf("Partner Center customers for %s: %+v; want one, with one order", prefix, custs)
	}

	// The completion email went out once, after the throttling, with the
	// single-use link.
	deadline := time.Now().Add(30 * time.Second)
	var mails []message
	for time.Now().Before(deadline) {
		mails = mails[:0]
		for _, m := range e.messages(t) {
			if strings.Contains(m.Subject, "Your new Azure account is ready: "+name) {
				mails = append(mails, m)
			}
		}
		if len(mails) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // give a duplicate a moment to surface
	mails = mails[:0]
	for _, m := range e.messages(t) {
		if strings.Contains(m.Subject, "Your new Azure account is ready: "+name) {
			mails = append(mails, m)
		}
	}
	if len(mails) != 1 {
		t.Fatalf("%d completion emails, want exactly 1", len(mails))
	}
	var ses struct {
		Throttle int `json:"throttle"`
	}
	resp, err := e.http.Get(e.ep["outbox"] + "/_control/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&ses); err != nil || ses.Throttle != 0 {
		t.Fatalf("SES throttle left %d (%v): the email was not throttled as planned", ses.Throttle, err)
	}
	link := ""
	for _, l := range mails[0].Links {
		if strings.Contains(l, "/providers/"+id+"/initial-credentials?token=") {
			link = l
		}
	}
	if link == "" {
		t.Fatalf("the completion email has no credentials link: %v", mails[0].Links)
	}
	if strings.Contains(mails[0].Text+mails[0].HTML, custs[0].AdminPassword) {
		t.Fatal("the email shows the initial password")
	}
}
