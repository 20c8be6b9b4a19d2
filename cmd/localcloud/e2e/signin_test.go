package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	fabrikamTenant = "30000000-0000-4000-8000-000000000001"
	contosoDev     = "dev@contoso.example"
)

// holdContoso makes this test the only one on the cloud whose administrator
// signs in to contoso: a tenant is connected through at most one open or
// active provider, and the tests share the scenario's one customer tenant.
// At the end of the test the provider holding contoso is cancelled or
// deleted, which releases the tenant, and the next test may sign in.
func (e *env) holdContoso(t *testing.T) {
	t.Helper()
	if _, held := e.holders.LoadOrStore(t.Name(), true); held {
		return
	}
	e.contosoMu.Lock()
	t.Cleanup(func() {
		defer e.contosoMu.Unlock()
		defer e.holders.Delete(t.Name())
		e.releaseContoso(t)
	})
	// A tenant left held by a test that did not hold the lock (or a crash)
	// would refuse this test's sign-in: start from a free tenant.
	e.releaseContoso(t)
}

// releaseContoso ends the provider that holds contoso, read from the tenant
// record in the local DynamoDB: cancelled when open, deleted when it ended
// (active, failed…). It waits until the record is gone.
func (e *env) releaseContoso(t *testing.T) {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		acct, id, ok := e.contosoHolder(t)
		if !ok {
			return
		}
		tok := e.token(t, acct, "admin")
		r := e.call(t, "GET", "/providers/"+id, tok, nil)
		switch {
		case r.status == 404:
			// Deleted already; the next claim takes the record over.
			return
		case r.json["status"] == "pending_consent" || r.json["status"] == "awaiting_customer" || r.json["status"] == "awaiting_owner_access" || r.json["status"] == "consolidating" || r.json["status"] == "provisioning":
			e.call(t, "POST", "/providers/"+id+"/cancel", tok, nil)
		default:
			e.call(t, "DELETE", "/providers/"+id, tok, nil)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("contoso is still held after releasing it")
}

// contosoHolder reads the tenant record of contoso.
func (e *env) contosoHolder(t *testing.T) (account, provider string, ok bool) {
	t.Helper()
	out, err := e.hostileDynamo().GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.c.Template().Tables[0].Name),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "TENANT#" + contosoTenant}, "sk": &types.AttributeValueMemberS{Value: "TENANT"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("read the tenant record: %v", err)
	}
	if out.Item == nil {
		return "", "", false
	}
	a, _ := out.Item["accountId"].(*types.AttributeValueMemberS)
	p, _ := out.Item["providerId"].(*types.AttributeValueMemberS)
	if a == nil || p == nil {
		t.Fatalf("tenant record without account or provider: %v", out.Item)
	}
	return a.Value, p.Value, true
}

// submitNoRedirect submits a Microsoft page's form with login and decision
// and returns where Microsoft redirects, without going there.
func (e *env) submitNoRedirect(t *testing.T, form page, login, decision string) string {
	t.Helper()
	action, vals := form.form(t)
	vals.Set("login", login)
	vals.Set("decision", decision)
	req, err := http.NewRequest("POST", action, strings.NewReader(vals.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.noRedirect().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", action, err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || resp.StatusCode/100 != 3 {
		t.Fatalf("Microsoft answered %d without a redirect (%v)", resp.StatusCode, err)
	}
	if !strings.HasPrefix(loc.String(), e.api+"/consent/callback?") {
		t.Fatalf("Microsoft redirected to %s, not the callback", loc)
	}
	return loc.String()
}

// signInCallbackURL signs login in at Microsoft from the landing page and
// returns the callback URL (code and state) Microsoft redirects to, without
// visiting it.
func (e *env) signInCallbackURL(t *testing.T, landing page, login, decision string) string {
	t.Helper()
	form := e.fetch(t, "GET", e.microsoftLink(t, landing), nil)
	if form.status != 200 {
		t.Fatalf("Microsoft sign-in page: %d %s", form.status, form.text())
	}
	return e.submitNoRedirect(t, form, login, decision)
}

// TestSignInForgedTenant is the attack: an organization administrator with
// their own invitation copies a valid state and sends the callback with
// another tenant that consented to the partner (fabrikam). A sign-in state
// is no consent state, and a consent state is bound to the tenant the
// sign-in proved: both are refused, nothing changes, and the genuine
// consent still completes in the proven tenant.
func TestSignInForgedTenant(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("Forged tenant")
	id := e.create(t, tok, migrate(name, ownedSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	_, landing := e.landingFor(t, name)

	// 1. The copied sign-in state with admin_consent and fabrikam.
	signInState := hostileStateOf(t, e.microsoftLink(t, landing))
	before := e.get(t, tok, id)
	forged := e.api + "/consent/callback?" + url.Values{"admin_consent": {"True"}, "tenant": {fabrikamTenant}, "state": {signInState}}.Encode()
	if pg := e.fetch(t, "GET", forged, nil); pg.status != 400 || !strings.Contains(pg.text(), "not valid") {
		t.Fatalf("forged callback with a sign-in state: %d %s", pg.status, pg.text())
	}
	if after := e.get(t, tok, id); after.Status != "pending_consent" || after.TenantID != "" || len(after.Timeline) != len(before.Timeline) {
		t.Fatalf("the forged callback changed the provider: %s tenant %q\n%s", after.Status, after.TenantID, wfTimeline(after))
	}

	// 2. A real sign-in to contoso, then the consent redirect forged to name fabrikam.
	e.holdContoso(t)
	code := e.signInCallbackURL(t, landing, contosoAdmin, "accept")
	consentPage := e.fetch(t, "GET", code, nil)
	if consentPage.status != 200 || !strings.HasPrefix(consentPage.url.String(), e.ep["microsoft"]+"/"+contosoTenant+"/v2.0/adminconsent") {
		t.Fatalf("after the sign-in: %d at %s: %s", consentPage.status, consentPage.url, consentPage.text())
	}
	genuine := e.submitNoRedirect(t, consentPage, contosoAdmin, "accept")
	u, _ := url.Parse(genuine)
	if got := u.Query().Get("tenant"); got != contosoTenant {
		t.Fatalf("Microsoft's redirect names tenant %q", got)
	}
	signedIn := e.get(t, tok, id)
	if signedIn.TenantID != contosoTenant || signedIn.Status != "pending_consent" {
		t.Fatalf("after the sign-in: %s tenant %q", signedIn.Status, signedIn.TenantID)
	}
	q := u.Query()
	q.Set("tenant", fabrikamTenant)
	forgedConsent := e.api + "/consent/callback?" + q.Encode()
	if pg := e.fetch(t, "GET", forgedConsent, nil); pg.status != 400 || !strings.Contains(pg.text(), "not valid") {
		t.Fatalf("consent redirect forged to fabrikam: %d %s", pg.status, pg.text())
	}
	if after := e.get(t, tok, id); after.Status != "pending_consent" || after.TenantID != contosoTenant || len(after.Timeline) != len(signedIn.Timeline) {
		t.Fatalf("the forged consent changed the provider: %s tenant %q\n%s", after.Status, after.TenantID, wfTimeline(after))
	}

	// 3. The genuine redirect (its state unused) completes, in contoso.
	if pg := e.fetch(t, "GET", genuine, nil); pg.status != 200 || !strings.Contains(pg.text(), "Thank you") {
		t.Fatalf("genuine consent: %d %s", pg.status, pg.text())
	}
	e.acceptRelationshipsFor(t, name)
	p := e.waitActive(t, tok, id, 30*time.Second)
	if p.TenantID != contosoTenant {
		t.Fatalf("active in tenant %q", p.TenantID)
	}
	for _, ev := range p.Timeline {
		if strings.Contains(ev.What, fabrikamTenant) {
			t.Fatalf("the timeline names fabrikam: %s", ev.What)
		}
	}
}

// TestSignInNotAnAdministrator: dev@contoso.example holds no directory role;
// the page names the roles that can consent, and nothing changes.
func TestSignInNotAnAdministrator(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("Not an admin")
	id := e.create(t, tok, migrate(name, ownedSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	link, landing := e.landingFor(t, name)
	before := e.get(t, tok, id)

	result := e.signIn(t, e.microsoftLink(t, landing), contosoDev, "accept")
	if result.status != 403 {
		t.Fatalf("non-administrator's sign-in: %d %s", result.status, result.text())
	}
	for _, want := range []string{"Global Administrator", "Privileged Role Administrator", "Cloud Application Administrator", contosoDev} {
		if !strings.Contains(result.text(), want) {
			t.Errorf("the page does not name %q: %s", want, result.text())
		}
	}
	after := e.get(t, tok, id)
	if after.Status != "pending_consent" || after.TenantID != "" || len(after.Timeline) != len(before.Timeline) {
		t.Fatalf("the provider changed: %s tenant %q\n%s", after.Status, after.TenantID, wfTimeline(after))
	}
	if _, _, held := e.contosoHolder(t); held {
		if acct, pid, _ := e.contosoHolder(t); acct == "acct-eligible" && pid == id {
			t.Fatal("a non-administrator's sign-in claimed the tenant")
		}
	}
	if again := e.fetch(t, "GET", link, nil); again.status != 200 {
		t.Fatalf("the link after a refused sign-in: %d", again.status)
	}
}

// TestSignInTenantRace: two organizations' administrators sign in to the
// same tenant at once; exactly one provider holds it, the other ends failed
// with tenant_already_connected and a page that names nobody.
func TestSignInTenantRace(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	e.holdContoso(t)
	accts := []string{e.freshAccount(t), e.freshAccount(t)}
	ids := make([]string, 2)
	codes := make([]string, 2)
	for i, acct := range accts {
		tok := e.token(t, acct, "admin")
		name := wfName("Race " + acct)
		ids[i] = e.create(t, tok, migrate(name, ownedSub))
		_, landing := e.landingFor(t, name)
		codes[i] = e.signInCallbackURL(t, landing, contosoAdmin, "accept")
	}
	pages := make([]page, 2)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, err := e.rawGet(codes[i])
			if err != nil {
				t.Errorf("callback %d: %v", i, err)
				return
			}
			pages[i] = wfPage(t, codes[i], status, body)
		}()
	}
	wg.Wait()
	winners, losers := 0, -1
	for i, pg := range pages {
		switch {
		case pg.status == 200 && strings.Contains(pg.text(), "Permissions requested"):
			winners++
		case pg.status == 409:
			losers = i
			text := pg.text()
			if !strings.Contains(text, "already connected") {
				t.Errorf("the loser's page: %s", text)
			}
			for _, secret := range append(accts, ids...) {
				if strings.Contains(pg.body, secret) {
					t.Errorf("the loser's page names %q", secret)
				}
			}
		default:
			t.Errorf("callback %d: %d %s", i, pg.status, pg.text())
		}
	}
	if winners != 1 || losers < 0 {
		t.Fatalf("%d winners; want exactly one holder and one refused", winners)
	}
	winner := 1 - losers
	if acct, pid, ok := e.contosoHolder(t); !ok || acct != accts[winner] || pid != ids[winner] {
		t.Fatalf("tenant record %s/%s, want the winner %s/%s", acct, pid, accts[winner], ids[winner])
	}
	loser := e.waitStatus(t, e.token(t, accts[losers], "admin"), ids[losers], "failed", 30*time.Second)
	if !strings.Contains(loser.FailureReason, "already connected") {
		t.Errorf("loser's failure reason %q", loser.FailureReason)
	}
	if w := e.get(t, e.token(t, accts[winner], "admin"), ids[winner]); w.Status != "pending_consent" || w.TenantID != contosoTenant {
		t.Errorf("winner: %s tenant %q", w.Status, w.TenantID)
	}
}
