package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
)

// Scenario ids (cmd/localcloud/scenario/default.json).
const (
	ownedSub     = "20000000-0000-4000-8000-000000000101"
	missingSub   = "20000000-0000-4000-8000-000000000102"
	eaSub        = "20000000-0000-4000-8000-000000000103" // Enterprise Agreement: billing_transfer
	vsSub        = "20000000-0000-4000-8000-000000000104" // Visual Studio: not_movable
	contosoAdmin = "admin@contoso.example"
	reps         = "azure-migrations@partner.example"
	requester    = "requester@acct-eligible.example"
)

// driver plays the platform UI and the customer's administrator over HTTP.
type driver struct {
	c      *cloud.Cloud
	api    string
	ms     string
	client *http.Client // trusts the Microsoft double; does not follow redirects
	token  string
	smARN  string
}

func newDriver(c *cloud.Cloud, conns int) (*driver, error) {
	ep := c.Endpoints()
	client, err := cloud.CAClient(ep[cloud.EndpointMicrosoftCA])
	if err != nil {
		return nil, err
	}
	tr := client.Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost = conns
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client.Timeout = 60 * time.Second
	tok, err := c.Token("acct-eligible", []string{"admin"})
	if err != nil {
		return nil, err
	}
	d := &driver{c: c, api: c.APIURL(), ms: ep[cloud.EndpointMicrosoft], client: client, token: tok}
	for _, sm := range c.Template().StateMachines {
		if d.smARN == "" || sm.LogicalID == "MigrationStateMachine" {
			d.smARN = sm.ARN
		}
	}
	return d, nil
}

// executionARN is the migration's execution (named provider-<id>).
func (d *driver) executionARN(id string) string {
	return strings.Replace(d.smARN, ":stateMachine:", ":execution:", 1) + ":provider-" + id
}

func (d *driver) do(ctx context.Context, method, u string, body []byte, headers map[string]string) (int, []byte, http.Header, error) {
	return doWith(ctx, d.client, method, u, body, headers)
}

// browser is a client for one administrator's visit: the driver's
// connections, redirects not followed, and a cookie jar of its own (the
// Microsoft double's sign-in session), so that concurrent administrators
// do not share a session.
func (d *driver) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: d.client.Transport, CheckRedirect: d.client.CheckRedirect, Timeout: d.client.Timeout, Jar: jar}
}

func doWith(ctx context.Context, client *http.Client, method, u string, body []byte, headers map[string]string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, raw, resp.Header, err
}

// createBody is a migration of subs whose Azure administrator is admin.
func createBody(name, admin string, subs ...string) []byte {
	b, _ := json.Marshal(map[string]any{
		"name": name, "type": "azure", "option": "migrate", "azureAdminEmail": admin, "subscriptionIds": subs,
		"acceptedTerms": map[string]string{"partner": "2017-08", "microsoft": "2017-08"},
	})
	return b
}

// create is POST /providers as an administrator; it returns the provider id.
func (d *driver) create(ctx context.Context, body []byte, key string) (string, error) {
	h := map[string]string{"Authorization": "Bearer " + d.token, "Content-Type": "application/json"}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	st, raw, _, err := d.do(ctx, "POST", d.api+"/providers", body, h)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if st != http.StatusAccepted || json.Unmarshal(raw, &out) != nil || out.ID == "" {
		return "", fmt.Errorf("POST /providers: %d %.300s", st, raw)
	}
	return out.ID, nil
}

// get is GET /providers/{id}.
func (d *driver) get(ctx context.Context, id string) (status string, err error) {
	st, raw, _, err := d.do(ctx, "GET", d.api+"/providers/"+id, nil, map[string]string{"Authorization": "Bearer " + d.token})
	if err != nil {
		return "", err
	}
	var p struct {
		Status string `json:"status"`
	}
	if st != 200 || json.Unmarshal(raw, &p) != nil {
		return "", fmt.Errorf("GET /providers/%s: %d %.200s", id, st, raw)
	}
	return p.Status, nil
}

// waitEmail waits for an email to `to` whose subject holds subject and whose
// subject or text holds mark, read from the outbox in-process.
func (d *driver) waitEmail(ctx context.Context, to, subject, mark string, timeout time.Duration) (links []string, err error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, m := range d.c.Outbox().Messages() {
			if len(m.To) > 0 && m.To[0] == to && strings.Contains(m.Subject, subject) && strings.Contains(m.Subject+m.Text, mark) {
				return m.Links, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("no email to %s with %q for %q within %v", to, subject, mark, timeout)
}

// consentLink is the /consent/ link among an email's links.
func (d *driver) consentLink(links []string) string {
	for _, l := range links {
		if strings.HasPrefix(l, d.api+"/consent/") {
			return l
		}
	}
	return ""
}

var (
	hrefRe  = regexp.MustCompile(`(?i)href\s*=\s*"([^"]*)"`)
	inputRe = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRe  = regexp.MustCompile(`(?is)\b(type|name|value)\s*=\s*"([^"]*)"`)
	formRe  = regexp.MustCompile(`(?is)<form\b[^>]*\baction\s*=\s*"([^"]*)"`)
	titleRe = regexp.MustCompile(`(?is)<title>(.*?)</title>`)
	errorRe = regexp.MustCompile(`(?is)<p\b[^>]*\bclass\s*=\s*"error"[^>]*>(.*?)</p>`)
	tagRe   = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)>|<[^>]*>`)
)

// consent is the administrator's path from the email link, in a browser
// of its own: the landing page; Microsoft's sign-in (sign in as login and
// accept); the callback with the code, which sends the browser to admin
// consent in the tenant the sign-in proved; Microsoft's admin-consent page
// (accept, the login prefilled by the session); and the callback's result.
func (d *driver) consent(ctx context.Context, link, login string) error {
	client := d.browser()
	st, page, _, err := doWith(ctx, client, "GET", link, nil, nil)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("landing page %s: %d", link, st)
	}
	var signInURL string
	for _, m := range hrefRe.FindAllSubmatch(page, -1) {
		if u := html.UnescapeString(string(m[1])); strings.HasPrefix(u, d.ms+"/") && strings.Contains(u, "/oauth2/v2.0/authorize") {
			signInURL = u
			break
		}
	}
	if signInURL == "" {
		return fmt.Errorf("no Microsoft sign-in link on the landing page")
	}
	codeURL, err := d.submitMicrosoft(ctx, client, "sign-in", signInURL, login)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(codeURL, d.api+"/consent/callback?") || !strings.Contains(codeURL, "code=") {
		return fmt.Errorf("the sign-in redirected to %.200s, not the callback with a code", codeURL)
	}
	st, page, hdr, err := doWith(ctx, client, "GET", codeURL, nil, nil)
	if err != nil {
		return err
	}
	consentURL := hdr.Get("Location")
	if st != http.StatusFound || !strings.HasPrefix(consentURL, d.ms+"/") || !strings.Contains(consentURL, "/v2.0/adminconsent") {
		return fmt.Errorf("sign-in callback: %d %s, not a redirect to admin consent", st, pageSummary(page))
	}
	done, err := d.submitMicrosoft(ctx, client, "admin consent", consentURL, login)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(done, d.api+"/consent/callback?") || !strings.Contains(done, "admin_consent=") {
		return fmt.Errorf("the admin consent redirected to %.200s, not the callback", done)
	}
	st, page, _, err = doWith(ctx, client, "GET", done, nil, nil)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("consent callback: %d %s", st, pageSummary(page))
	}
	return nil
}

// submitMicrosoft opens one of the Microsoft double's forms (sign-in or
// admin consent), submits it with its hidden fields, login (unless the
// session prefilled it) and decision=accept, and returns the redirect.
func (d *driver) submitMicrosoft(ctx context.Context, client *http.Client, what, pageURL, login string) (string, error) {
	st, form, _, err := doWith(ctx, client, "GET", pageURL, nil, nil)
	if err != nil {
		return "", err
	}
	if st != 200 {
		return "", fmt.Errorf("%s page: %d %s", what, st, pageSummary(form))
	}
	fields := url.Values{}
	prefilled := ""
	for _, in := range inputRe.FindAll(form, -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllSubmatch(in, -1) {
			attrs[strings.ToLower(string(a[1]))] = html.UnescapeString(string(a[2]))
		}
		switch {
		case strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "":
			fields.Set(attrs["name"], attrs["value"])
		case attrs["name"] == "login":
			prefilled = attrs["value"]
		}
	}
	if prefilled != "" && !strings.EqualFold(prefilled, login) {
		return "", fmt.Errorf("%s page: the session is %s's, not %s's", what, prefilled, login)
	}
	fields.Set("login", login)
	fields.Set("decision", "accept")
	action := pageURL
	if m := formRe.FindSubmatch(form); m != nil {
		base, _ := url.Parse(pageURL)
		if ref, err := url.Parse(html.UnescapeString(string(m[1]))); err == nil {
			action = base.ResolveReference(ref).String()
		}
	}
	st, answer, hdr, err := doWith(ctx, client, "POST", action, []byte(fields.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if err != nil {
		return "", err
	}
	next := hdr.Get("Location")
	if st != http.StatusFound || next == "" {
		return "", fmt.Errorf("%s as %s: %d without a redirect: %s", what, login, st, pageSummary(answer))
	}
	return next, nil
}

// relationships plays the customer's Global Administrator (login) on the
// Microsoft 365 admin center's pages an invitation email links to: the
// reseller invitation, accepted, and the admin relationship's approval page,
// approved (its id, in the link's fragment a browser does not send, put in
// the form as the page's script does). Each answers 200 with Microsoft's
// confirmation.
func (d *driver) relationships(ctx context.Context, links []string, login string) error {
	client := d.browser()
	for _, l := range links {
		var extra url.Values
		switch {
		case strings.Contains(l, "invType=ResellerRelationship"):
		case strings.Contains(l, "granularAdminRelationships/"):
			extra = url.Values{"relationshipId": {l[strings.LastIndex(l, "/")+1:]}}
		default:
			continue
		}
		st, form, _, err := doWith(ctx, client, "GET", l, nil, nil)
		if err != nil {
			return err
		}
		if st != 200 {
			return fmt.Errorf("admin center page %.120s: %d %s", l, st, pageSummary(form))
		}
		fields := url.Values{}
		for _, in := range inputRe.FindAll(form, -1) {
			attrs := map[string]string{}
			for _, a := range attrRe.FindAllSubmatch(in, -1) {
				attrs[strings.ToLower(string(a[1]))] = html.UnescapeString(string(a[2]))
			}
			if strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "" {
				fields.Set(attrs["name"], attrs["value"])
			}
		}
		for k, v := range extra {
			fields[k] = v
		}
		fields.Set("login", login)
		fields.Set("decision", "accept")
		action := l
		if i := strings.IndexByte(action, '#'); i >= 0 {
			action = action[:i]
		}
		st, answer, _, err := doWith(ctx, client, "POST", action, []byte(fields.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if err != nil {
			return err
		}
		if st != 200 {
			return fmt.Errorf("admin center page %.120s as %s: %d %s", l, login, st, pageSummary(answer))
		}
	}
	return nil
}

// pageSummary is an HTML page's title and error (or the start of its text).
func pageSummary(page []byte) string {
	title := ""
	if m := titleRe.FindSubmatch(page); m != nil {
		title = strings.TrimSpace(html.UnescapeString(string(m[1])))
	}
	text := string(page)
	if m := errorRe.FindSubmatch(page); m != nil {
		text = string(m[1])
	} else if i := strings.Index(strings.ToLower(text), "<body"); i >= 0 {
		text = text[i:]
	}
	text = strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(text, " "))), " ")
	if r := []rune(text); len(r) > 200 {
		text = string(r[:200]) + "..."
	}
	return fmt.Sprintf("%q: %s", title, text)
}

// remove deletes an ended provider (DELETE /providers/{id}: 204), which
// releases its tenant.
func (d *driver) remove(ctx context.Context, id string) error {
	st, raw, _, err := d.do(ctx, "DELETE", d.api+"/providers/"+id, nil, map[string]string{"Authorization": "Bearer " + d.token})
	if err != nil {
		return err
	}
	if st != http.StatusNoContent && st != http.StatusOK {
		return fmt.Errorf("DELETE /providers/%s: %d %.200s", id, st, raw)
	}
	return nil
}

// control posts to the Microsoft double's control API.
func (d *driver) control(ctx context.Context, path string, body any) error {
	raw, _ := json.Marshal(body)
	st, resp, _, err := d.do(ctx, "POST", d.ms+path, raw, map[string]string{"Content-Type": "application/json"})
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("control %s: %d %s", path, st, resp)
	}
	return nil
}

// counts is a snapshot of the local cloud's records.
type counts struct {
	invocations map[string]int64
	dynamo      map[string]int64
	ses         int64
	azure       map[string]int64
}

func snapshot(c *cloud.Cloud) counts {
	return counts{invocations: c.Host().Invocations(), dynamo: c.DynamoCounts(), ses: c.Outbox().Calls(), azure: c.Microsoft().Calls()}
}

func diff(after, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func detail(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimSuffix(k, "Function"), m[k]))
	}
	return strings.Join(parts, ", ")
}

// migrationCost is what one migration cost, from the cloud's records.
type migrationCost struct {
	name        string
	status      string
	took        time.Duration
	transitions int
	invocations map[string]int64
	dynamo      map[string]int64
	ses         int64
	azure       map[string]int64
}

func (m migrationCost) reads() int64 {
	var n int64
	for k, v := range m.dynamo {
		if dynamo.IsRead(k) {
			n += v
		}
	}
	return n
}

func (m migrationCost) writes() int64 {
	var n int64
	for k, v := range m.dynamo {
		if dynamo.IsWrite(k) {
			n += v
		}
	}
	return n
}

// migrate runs one migration over HTTP: create, consent as the
// administrator, grant Owner on missingSub when it is among subs and grant
// is set, and waits for the execution to end. Only the calls of the
// migration itself are made while counting: the waits read the outbox and
// the engine in-process.
func (d *driver) migrate(ctx context.Context, label, name string, subs []string, grant bool, timeout time.Duration) (migrationCost, string, string, error) {
	c := d.c
	before := snapshot(c)
	start := time.Now()
	key := "bench-" + strings.ReplaceAll(name, " ", "-")
	id, err := d.create(ctx, createBody(name, contosoAdmin, subs...), key)
	if err != nil {
		return migrationCost{}, "", "", err
	}
	links, err := d.waitEmail(ctx, contosoAdmin, "approve moving", name, 60*time.Second)
	if err != nil {
		return migrationCost{}, "", "", err
	}
	link := d.consentLink(links)
	if err := d.consent(ctx, link, contosoAdmin); err != nil {
		return migrationCost{}, "", "", err
	}
	if err := d.relationships(ctx, links, contosoAdmin); err != nil {
		return migrationCost{}, "", "", err
	}
	if grant {
		if _, err := d.waitEmail(ctx, reps, "waiting for Owner access", name, 60*time.Second); err != nil {
			return migrationCost{}, "", "", err
		}
		if err := d.control(ctx, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": true}); err != nil {
			return migrationCost{}, "", "", err
		}
		defer d.control(context.Background(), "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": false})
	}
	arn := d.executionARN(id)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pctx, stopPeople := context.WithCancel(wctx)
	go d.people(pctx, id)
	_, err = c.Engine().Wait(wctx, arn)
	stopPeople()
	if err != nil {
		return migrationCost{}, "", "", fmt.Errorf("%s: execution %s: %w", label, arn, err)
	}
	took := time.Since(start)
	after := snapshot(c)
	m := migrationCost{name: label, took: took, transitions: c.Engine().Transitions(arn),
		invocations: diff(after.invocations, before.invocations), dynamo: diff(after.dynamo, before.dynamo),
		ses: after.ses - before.ses, azure: diff(after.azure, before.azure)}
	delete(m.invocations, "GetProviderFunction") // the people's reads (see people)
	if m.status, err = d.get(ctx, id); err != nil {
		return m, "", "", err
	}
	inv := link[strings.LastIndex(link, "/")+1:]
	return m, id, inv, nil
}

// cost measures the happy path, the path with a missing Owner granted
// later (as TestFullMigration), and a 30-day ownership wait to the deadline.
func (b *bench) cost(ctx context.Context) error {
	c, err := b.anyCloud(ctx)
	if err != nil {
		return err
	}
	d, err := newDriver(c, 4)
	if err != nil {
		return err
	}
	run := time.Now().Format("150405")
	var rows []migrationCost
	happy, id, inv, err := d.migrate(ctx, "happy path: the four subscriptions (…101 moves, Owner held; …102 moves once Owner is granted; …103 transferred; …104 not movable)", "Bench happy "+run, []string{ownedSub, missingSub, eaSub, vsSub}, true, 4*time.Minute)
	if err != nil {
		return err
	}
	rows = append(rows, happy)
	// contoso is connected through one open or active provider at a time:
	// the happy path's provider (active) is deleted, which releases the
	// tenant, before the next migration signs in to it. The deletion is not
	// counted in either migration.
	if err := d.remove(ctx, id); err != nil {
		return err
	}
	full, id, inv, err := d.migrate(ctx, "Owner missing on …102, granted after the first check (TestFullMigration), both moved", "Bench full "+run, []string{ownedSub, missingSub}, true, 3*time.Minute)
	if err != nil {
		return err
	}
	rows = append(rows, full)
	// The gateway and load phases read this active provider (and replay its create).
	b.costCloud, b.providerID, b.invitation = c, id, inv
	b.createBody, b.createKey = createBody("Bench full "+run, contosoAdmin, ownedSub, missingSub), "bench-Bench-full-"+run

	fast, err := b.startCloud(ctx, "fast", 86400, map[string]string{"STATE_TTL": "2m"}, "")
	if err != nil {
		return err
	}
	fd, err := newDriver(fast, 4)
	if err != nil {
		return err
	}
	wait, _, _, err := fd.migrate(ctx, "30-day ownership wait: Owner never granted on …102", "Bench wait "+run, []string{missingSub}, false, b.cfg.waitDays)
	if err != nil {
		return err
	}
	rows = append(rows, wait)

	b.r.h2("Cost per migration")
	b.r.line("Counted from the local cloud's records while one migration runs alone over HTTP (create; the administrator's landing page, Microsoft's sign-in page, the callback with the code, Microsoft's admin-consent page and the callback; the waits read the outbox and the engine in-process, so no polling is counted): state transitions from the Step Functions engine, invocations from the Lambda host, DynamoDB requests at the DynamoDB endpoint by `X-Amz-Target` (reads: GetItem/Query/BatchGet/TransactGet; writes: Put/Update/Delete/BatchWrite/TransactWrite), SendEmail calls at SES, and requests at the Microsoft double by kind (Entra ID and Resource Manager calls by the functions, among them the sign-in's code redemption and signing keys, plus the sign-in and admin-consent pages the administrator opens, each a GET and a POST). One tenant connects through one provider at a time: the happy path's provider is deleted (not counted) before the second migration signs in to contoso, and the gateway and load phases read the second one. The first two run at time scale 2000, the 30-day wait at 86400 (a day a second).")
	b.r.line("")
	var tr [][]string
	for _, m := range rows {
		tr = append(tr, []string{m.name, m.status, fmt.Sprint(m.transitions), fmt.Sprint(sum(m.invocations)), fmt.Sprint(m.reads()), fmt.Sprint(m.writes()),
			fmt.Sprint(m.ses), fmt.Sprint(sum(m.azure)), m.took.Round(10 * time.Millisecond).String()})
	}
	b.r.table([]string{"migration", "final status", "state transitions", "Lambda invocations", "DynamoDB reads", "DynamoDB writes", "SES sends", "Microsoft calls", "wall time"}, tr)
	b.r.line("In detail, with the happy path as the baseline (×):")
	b.r.line("")
	var dr [][]string
	for _, m := range rows {
		dr = append(dr, []string{m.name, detail(m.invocations), detail(m.dynamo), detail(m.azure),
			ratio(float64(m.transitions), float64(happy.transitions)) + " transitions, " + ratio(float64(sum(m.invocations)), float64(sum(happy.invocations))) + " invocations, " +
				ratio(float64(sum(m.dynamo)), float64(sum(happy.dynamo))) + " DynamoDB requests"})
	}
	b.r.table([]string{"migration", "invocations by function", "DynamoDB requests by operation", "Microsoft calls by kind", "vs happy path"}, dr)
	b.r.line("The engine counts states entered, the Map's iterations' states included: each check of the partner relationships and of a subscription's route is one entry of its wait state (a wait that times out is entered again), so states entered are the billed transitions. The driver approves each move report when it is shown and accepts the transfer request at the double (its polls of GET /providers/{id} are not counted). Entra ID discovery and token calls happen once per function instance (the SDK caches them), so a migration served by warm instances makes fewer.")
	b.r.line("")
	verdict := func(n, budget int) string {
		if n <= budget {
			return fmt.Sprintf("%d, within %d", n, budget)
		}
		return fmt.Sprintf("%d, OVER %d", n, budget)
	}
	b.r.line("Budget of billed transitions: the four subscriptions' happy path %s; 30-day wait %s.", verdict(happy.transitions, 60), verdict(wait.transitions, 120))
	b.r.line("")
	if happy.transitions > 60 || wait.transitions > 120 {
		return fmt.Errorf("billed transitions over budget: happy path %d (≤ 60), 30-day wait %d (≤ 120)", happy.transitions, wait.transitions)
	}
	return nil
}

// people plays, while a migration runs, the people of the billing routes:
// the organization's administrator approves each move report version when
// it is shown, and the customer's billing owner accepts the transfer
// request of each subscription on the billing_transfer route (the double's
// control API, as its page does). It reads the provider every 200 ms; those
// reads are the driver's, not the migration's: their invocations are left
// out of the counts (GetProviderFunction), see migrate.
func (d *driver) people(ctx context.Context, id string) {
	approved := 0
	accepted := map[string]bool{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		st, raw, _, err := d.do(ctx, "GET", d.api+"/providers/"+id, nil, map[string]string{"Authorization": "Bearer " + d.token})
		if err != nil || st != 200 {
			continue
		}
		var p struct {
			Subscriptions []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"subscriptions"`
			MovePlan *struct {
				Version    int    `json:"version"`
				ApprovedAt string `json:"approvedAt"`
			} `json:"movePlan"`
		}
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		for _, s := range p.Subscriptions {
			switch {
			case s.State == "awaiting_approval" && p.MovePlan != nil && p.MovePlan.ApprovedAt == "" && p.MovePlan.Version > approved:
				body, _ := json.Marshal(map[string]int{"version": p.MovePlan.Version})
				if st, _, _, err := d.do(ctx, "POST", d.api+"/providers/"+id+"/move-plan/approve", body, map[string]string{"Authorization": "Bearer " + d.token, "Content-Type": "application/json"}); err == nil && st == 202 {
					approved = p.MovePlan.Version
				}
			case s.State == "transfer_pending" && !accepted[s.ID]:
				if d.control(ctx, "/_control/transfer", map[string]any{"subscriptionId": s.ID, "action": "accept"}) == nil {
					accepted[s.ID] = true
				}
			}
		}
	}
}
