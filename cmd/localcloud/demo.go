package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
)

// The demo's customer, as in the default scenario: the tenant contoso, its
// administrator, a subscription where the partner already holds Owner and one
// where it does not.
const (
	demoTenant       = "contoso"
	demoTenantID     = "20000000-0000-4000-8000-000000000001"
	demoAdmin        = "admin@contoso.example"
	demoOwnedSub     = "20000000-0000-4000-8000-000000000101"
	demoMissingSub   = "20000000-0000-4000-8000-000000000102"
	demoTermsVersion = "2017-08"
	// demoMinScale is the lowest time scale of a running cloud the demo
	// accepts: the ownership re-check waits 15 minutes divided by it.
	demoMinScale = 100
)

// demo drives one migration end to end through the public HTTP API, printing
// each step as it happens. It uses the local cloud that `make run` serves if
// one runs (it needs a time scale of at least demoMinScale), else it starts
// one in this process with -time-scale (default 2000) and stops it at the end.
func demo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	root := fs.String("root", "", "repository root (default: the directory holding go.mod)")
	scale := fs.Float64("time-scale", 2000, "time scale of the cloud the demo starts when none runs")
	accountID := fs.String("account", "acct-eligible", "account that creates the provider")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up on the migration after this long (the build is not counted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		r, err := cloud.FindRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d := &demoRun{out: stdout, start: time.Now(), account: *accountID}
	state := filepath.Join(*root, ".local")
	endpointsPath := filepath.Join(state, cloud.EndpointsFile)
	if apiAnswers(endpointsPath) {
		eps, err := readEndpoints(endpointsPath)
		if err != nil {
			return err
		}
		running, _ := strconv.ParseFloat(eps[cloud.EndpointTimeScale], 64)
		if running < demoMinScale {
			return fmt.Errorf("the local cloud running at %s has time scale %v: the ownership re-check would wait %v; "+
				"restart it with `make run TIME_SCALE=2000`, or stop it and run `make demo` (it starts its own cloud)",
				eps[cloud.EndpointAPI], running, time.Duration(float64(15*time.Minute)/max(running, 1)))
		}
		iss, err := jwtissuer.Load(filepath.Join(state, cloud.KeyFile))
		if err != nil {
			return err
		}
		tok, err := iss.Sign(cloud.UserClaims(d.account, []string{"admin"}))
		if err != nil {
			return err
		}
		d.eps, d.token = eps, tok
		d.say("using the local cloud running at %s (time scale %v)", eps[cloud.EndpointAPI], running)
	} else {
		logPath := filepath.Join(state, "demo-cloud.log")
		if err := os.MkdirAll(state, 0o755); err != nil {
			return err
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer logf.Close()
		d.say("no local cloud is running: building the functions and starting one in this process, time scale %v (log: %s)", *scale, logPath)
		c, err := cloud.Start(ctx, cloud.Options{Root: *root, TimeScale: *scale, Log: logf, Console: io.Discard})
		if err != nil {
			return fmt.Errorf("start the local cloud (see %s): %w", logPath, err)
		}
		defer c.Close()
		if d.token, err = c.Token(d.account, []string{"admin"}); err != nil {
			return err
		}
		d.eps = c.Endpoints()
		d.say("local cloud ready: API %s, outbox %s, Microsoft double %s/_control", d.eps[cloud.EndpointAPI], d.eps[cloud.EndpointOutbox], d.eps[cloud.EndpointMicrosoft])
	}
	client, err := cloud.CAClient(d.eps[cloud.EndpointMicrosoftCA])
	if err != nil {
		return fmt.Errorf("the Microsoft double's CA: %w", err)
	}
	// Redirects are followed by hand, to show each one. The cookie jar is
	// the administrator's browser: Microsoft's sign-in sets a session that
	// its admin-consent page then uses.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if client.Jar, err = cookiejar.New(nil); err != nil {
		return err
	}
	d.http = client
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := d.run(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		return err
	}
	return nil
}

func readEndpoints(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var eps map[string]string
	if err := json.Unmarshal(data, &eps); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return eps, nil
}

type demoRun struct {
	out     io.Writer
	start   time.Time
	account string
	eps     map[string]string
	token   string
	http    *http.Client
	// seen counts the timeline events already printed.
	seen int
}

// demoProvider is the part of GET /providers/{id} the demo shows.
type demoProvider struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	Status        string             `json:"status"`
	NextStep      string             `json:"nextStep"`
	TenantID      string             `json:"tenantId"`
	Billing       string             `json:"billing"`
	FailureReason string             `json:"failureReason"`
	Subscriptions []demoSubscription `json:"subscriptions"`
	Steps         []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		State  string `json:"state"`
	} `json:"steps"`
	Permissions []struct {
		Description string `json:"description"`
	} `json:"permissions"`
	Timeline []struct {
		At     time.Time `json:"at"`
		Status string    `json:"status"`
		What   string    `json:"what"`
		By     string    `json:"by"`
	} `json:"timeline"`
	MovePlan *struct {
		Version       int    `json:"version"`
		Target        string `json:"targetSubscriptionId"`
		ApprovedAt    string `json:"approvedAt"`
		Subscriptions []struct {
			SubscriptionID string `json:"subscriptionId"`
			Groups         []struct {
				Name    string   `json:"name"`
				Moves   []string `json:"moves"`
				Blocked []struct {
					ID      string `json:"id"`
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"blocked"`
			} `json:"resourceGroups"`
		} `json:"subscriptions"`
	} `json:"movePlan"`
	Health *struct {
		Status   string `json:"status"`
		Findings []struct {
			What  string    `json:"what"`
			Since time.Time `json:"since"`
			Do    string    `json:"do"`
		} `json:"findings"`
		CheckedAt time.Time `json:"checkedAt"`
	} `json:"health"`
}

type demoSubscription struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func (d *demoRun) say(format string, a ...any) {
	fmt.Fprintf(d.out, "[%6.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
}

func (d *demoRun) run(ctx context.Context) error {
	api, outbox, ms := d.eps[cloud.EndpointAPI], d.eps[cloud.EndpointOutbox], d.eps[cloud.EndpointMicrosoft]
	before, err := d.messageIDs(ctx, outbox)
	if err != nil {
		return err
	}

	// 0. One tenant connects through one provider at a time: a provider of
	// an earlier run that still holds contoso would refuse this sign-in.
	if err := d.releaseTenant(ctx, api); err != nil {
		return err
	}

	// 1. An organization administrator creates the provider.
	name := "Contoso demo " + time.Now().Format("15:04:05")
	body, _ := json.Marshal(map[string]any{
		"name": name, "type": "azure", "option": "migrate", "azureAdminEmail": demoAdmin,
		"subscriptionIds": []string{demoOwnedSub, demoMissingSub},
		"acceptedTerms":   map[string]string{"partner": demoTermsVersion, "microsoft": demoTermsVersion},
	})
	d.say("POST %s/providers as an administrator of %s: %q, migrate, %s, subscriptions ...101 and ...102", api, d.account, name, demoAdmin)
	status, resp, err := d.do(ctx, http.MethodPost, api+"/providers", body, true)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted && status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("POST /providers: %d %s", status, resp)
	}
	var created struct {
		demoProvider
		Provider *demoProvider `json:"provider"`
	}
	_ = json.Unmarshal(resp, &created)
	p := created.demoProvider
	if p.ID == "" && created.Provider != nil {
		p = *created.Provider
	}
	if p.ID == "" {
		return fmt.Errorf("POST /providers: no provider id in %s", resp)
	}
	d.say("  -> %d: provider %s, status %s", status, p.ID, p.Status)

	// 2. The consent email reaches the Azure administrator.
	d.say("waiting for the consent email to %s in the outbox (%s)", demoAdmin, outbox)
	link, subject, err := d.consentLink(ctx, outbox, api, before)
	if err != nil {
		return err
	}
	d.say("  -> email %q with the link %s", subject, link)
	if _, err := d.waitStatus(ctx, api, p.ID, "pending_consent"); err != nil {
		return err
	}

	// 3. The administrator opens the link: the landing page sends them to
	// Microsoft's sign-in (OpenID Connect), which proves their tenant.
	d.say("GET %s (the landing page)", link)
	status, page, err := d.do(ctx, http.MethodGet, link, nil, false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("landing page: %d %.300s", status, page)
	}
	signInURL := findLink(page, ms, "/oauth2/v2.0/authorize")
	if signInURL == "" {
		return fmt.Errorf("the landing page has no link to %s/.../oauth2/v2.0/authorize: %.500s", ms, page)
	}
	d.say("  -> 200 %q, with the Microsoft sign-in link %s", pageTitle(page), shorten(signInURL))

	// 4. Microsoft's sign-in page: sign in as the administrator and accept.
	callback, err := d.microsoftForm(ctx, "sign-in", signInURL, demoAdmin)
	if err != nil {
		return err
	}

	// 5. Back at the callback with a code: it redeems it, validates the ID
	// token, claims the tenant for this provider and sends the
	// administrator on to admin consent in that tenant.
	status, result, hdr, err := d.request(ctx, http.MethodGet, callback, "", nil, false)
	if err != nil {
		return err
	}
	consentURL := hdr.Get("Location")
	if status != http.StatusFound || !strings.HasPrefix(consentURL, ms+"/") || !strings.Contains(consentURL, "/v2.0/adminconsent") {
		return fmt.Errorf("the callback did not send the administrator to admin consent: %d %q %s", status, pageTitle(result), pageText(result, 400))
	}
	d.say("GET /consent/callback?code=... -> %d to %s (the tenant the sign-in proved)", status, shorten(consentURL))

	// 6. Microsoft's admin-consent page, in the same browser session.
	final, err := d.microsoftForm(ctx, "admin consent", consentURL, demoAdmin)
	if err != nil {
		return err
	}

	// 7. Microsoft redirects back to the consent callback.
	status, result, err = d.do(ctx, http.MethodGet, final, nil, false)
	if err != nil {
		return err
	}
	d.say("GET /consent/callback?admin_consent=True... -> %d %q", status, pageTitle(result))
	if status != http.StatusOK {
		return fmt.Errorf("consent callback: %d %s", status, pageText(result, 500))
	}

	// 8. The checklist page, the same link: sign-in and consent done; the
	// reseller relationship and the admin relationship (GDAP) wait for the
	// customer's Global Administrator in the Microsoft 365 admin center.
	p, err = d.waitFor(ctx, api, p.ID, "the first relationship check", func(p demoProvider) bool {
		return p.Status != "pending_consent"
	})
	if err != nil {
		return err
	}
	for _, s := range p.Steps {
		if s.Name != "owner_access" {
			d.say("  step %-22s %-8s %s", s.Name, s.Status, s.State)
		}
	}
	d.say("GET %s (the checklist page, after consent)", link)
	status, page, err = d.do(ctx, http.MethodGet, link, nil, false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("checklist page: %d %s", status, pageText(page, 300))
	}
	resellerURL := findLink(page, ms, "invtype=resellerrelationship")
	approvalURL := findLink(page, ms, "granularadminrelationships/")
	if p.Status == "awaiting_customer" && (resellerURL == "" || approvalURL == "") {
		return fmt.Errorf("the checklist page lacks the admin center's links: %s", pageText(page, 600))
	}

	// 9. The reseller relationship and the admin relationship, each on its
	// admin center page; Partner Center's webhook tells the product at once.
	if resellerURL != "" {
		if err := d.adminCenterForm(ctx, "reseller relationship invitation", resellerURL, demoAdmin, nil); err != nil {
			return err
		}
	}
	if approvalURL != "" {
		// The relationship id is in the link's fragment, which a browser
		// does not send: the page's script puts it in the form.
		id := approvalURL[strings.LastIndex(approvalURL, "/")+1:]
		if err := d.adminCenterForm(ctx, "admin relationship (GDAP) approval", approvalURL, demoAdmin, url.Values{"relationshipId": {id}}); err != nil {
			return err
		}
	}

	// 10. The ownership check finds Owner missing on ...102.
	p, err = d.waitFor(ctx, api, p.ID, "the ownership check", func(p demoProvider) bool {
		return p.Status == "active" || (p.Status == "awaiting_owner_access" || p.Status == "consolidating") &&
			slices.ContainsFunc(p.Subscriptions, func(s demoSubscription) bool { return s.State == "missing_owner" })
	})
	if err != nil {
		return err
	}
	if p.Status != "active" {
		for _, s := range p.Subscriptions {
			d.say("  subscription %s: %s", s.ID, s.State)
		}
		if p.NextStep != "" {
			d.say("  next step: %s", p.NextStep)
		}
		// 11. The customer grants Owner to the partner's principal.
		grant, _ := json.Marshal(map[string]any{"tenant": demoTenant, "subscriptionId": demoMissingSub, "grant": true})
		d.say("POST %s/_control/owner: the customer grants Owner on %s", ms, demoMissingSub)
		status, resp, err := d.do(ctx, http.MethodPost, ms+"/_control/owner", grant, false)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("grant Owner: %d %s", status, resp)
		}
		d.say("  -> %d %s", status, bytes.TrimSpace(resp))
		if p, err = d.approveUntilActive(ctx, api, p.ID); err != nil {
			return err
		}
	} else {
		d.say("  (Owner was already held on every subscription: granted in an earlier run)")
	}

	// 12. Done.
	d.say("provider %s is active: tenant %s, billing %s", p.ID, p.TenantID, p.Billing)
	for _, s := range p.Subscriptions {
		d.say("  subscription %s: %s", s.ID, s.State)
	}
	fmt.Fprintln(d.out, "\nPermissions, each as Microsoft showed it:")
	for _, pm := range p.Permissions {
		fmt.Fprintf(d.out, "  %s\n", pm.Description)
	}
	fmt.Fprintln(d.out, "\nTimeline:")
	for _, e := range p.Timeline {
		fmt.Fprintf(d.out, "  %s  %-22s %s (%s)\n", e.At.Format("15:04:05.000"), e.Status, e.What, e.By)
	}
	fmt.Fprintln(d.out)
	return d.health(ctx, api, ms, p.ID)
}

// health is the demo's end: the customer revokes the partner
// application's admin consent at Microsoft; a health check run (the
// schedule's, started at once rather than waited for) finds it, the
// provider turns attention while staying active, the representatives and
// the requester are emailed, and the bus carries the Provider Health
// Changed event. Consent stays revoked: the next demo's administrator
// grants it again on Microsoft's consent page.
func (d *demoRun) health(ctx context.Context, api, ms, id string) error {
	body, _ := json.Marshal(map[string]any{"tenant": demoTenant, "granted": false})
	d.say("POST %s/_control/consent %s: the customer revokes the partner application's admin consent", ms, body)
	status, resp, err := d.do(ctx, http.MethodPost, ms+"/_control/consent", body, false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("revoke consent: %d %s", status, resp)
	}
	d.say("  -> %d %s", status, bytes.TrimSpace(resp))
	arn, err := d.startHealthRun(ctx)
	if err != nil {
		return err
	}
	d.say("StartExecution %s: a health check run now (the template's schedule starts one every HealthCheckIntervalMinutes, a day by default)", arn)
	var p demoProvider
	for p.Health == nil || p.Health.Status != "attention" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for health attention: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		status, body, err := d.do(ctx, http.MethodGet, api+"/providers/"+id, nil, true)
		if err != nil {
			return err
		}
		if status != http.StatusOK || json.Unmarshal(body, &p) != nil {
			return fmt.Errorf("GET /providers/%s: %d %s", id, status, body)
		}
	}
	d.say("provider %s: status %s, health %s (checked %s)", id, p.Status, p.Health.Status, p.Health.CheckedAt.Format(time.RFC3339))
	for _, f := range p.Health.Findings {
		d.say("  finding since %s: %s", f.Since.Format(time.RFC3339), f.What)
		d.say("    what to do: %s", f.Do)
	}
	ev, err := d.healthEvent(ctx, id)
	if err != nil {
		return err
	}
	d.say("GET %s/events?detail-type=%s: the event that says so", d.eps[cloud.EndpointEvents], url.QueryEscape(demoHealthDetailType))
	fmt.Fprintf(d.out, "%s\n", ev)
	outbox := d.eps[cloud.EndpointOutbox]
	deadline := time.Now().Add(20 * time.Second)
	for shown := map[string]bool{}; len(shown) < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		msgs, err := d.messages(ctx, outbox)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if strings.Contains(m.Subject, "needs attention: "+p.Name) && !shown[m.ID] {
				shown[m.ID] = true
				d.say("email to %s: %s", strings.Join(m.To, ", "), m.Subject)
			}
		}
	}
	return nil
}

// demoHealthDetailType is the detail type of a health change event.
const demoHealthDetailType = "Provider Health Changed"

// startHealthRun starts an execution of the health check state machine
// (named …-health-check) in the local Step Functions, as its schedule does.
func (d *demoRun) startHealthRun(ctx context.Context) (string, error) {
	sfn := d.eps[cloud.EndpointStepFunctions]
	call := func(target string, in any, out any) error {
		body, _ := json.Marshal(in)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sfn+"/", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "AWSStepFunctions."+target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("Step Functions %s: %d %s", target, resp.StatusCode, b)
		}
		return json.Unmarshal(b, out)
	}
	var list struct {
		StateMachines []struct {
			StateMachineArn string `json:"stateMachineArn"`
			Name            string `json:"name"`
		} `json:"stateMachines"`
	}
	if err := call("ListStateMachines", map[string]any{}, &list); err != nil {
		return "", err
	}
	for _, sm := range list.StateMachines {
		if strings.HasSuffix(sm.Name, "-health-check") {
			var started struct {
				ExecutionArn string `json:"executionArn"`
			}
			err := call("StartExecution", map[string]any{"stateMachineArn": sm.StateMachineArn, "input": `{"intervalMinutes": 1440}`}, &started)
			return started.ExecutionArn, err
		}
	}
	return "", errors.New("no health check state machine in the local Step Functions")
}

// healthEvent waits for the Provider Health Changed event that turned the
// provider attention, and returns it indented.
func (d *demoRun) healthEvent(ctx context.Context, id string) ([]byte, error) {
	u := d.eps[cloud.EndpointEvents] + "/events?detail-type=" + url.QueryEscape(demoHealthDetailType)
	for {
		status, body, err := d.do(ctx, http.MethodGet, u, nil, false)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s", u, status, body)
		}
		if ev := attentionEvent(body, id); ev != nil {
			return ev, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the %s event: %w", demoHealthDetailType, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// attentionEvent is the last event of the list (GET {events}/events) that
// turned provider id's health to attention, indented; nil when none.
func attentionEvent(list []byte, id string) []byte {
	var evs []json.RawMessage
	if json.Unmarshal(list, &evs) != nil {
		return nil
	}
	for i := len(evs) - 1; i >= 0; i-- {
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct {
				ProviderID string `json:"providerId"`
				NewHealth  string `json:"newHealth"`
			} `json:"detail"`
		}
		if json.Unmarshal(evs[i], &ev) == nil && ev.DetailType == demoHealthDetailType && ev.Detail.ProviderID == id && ev.Detail.NewHealth == "attention" {
			var out bytes.Buffer
			if json.Indent(&out, evs[i], "  ", "  ") != nil {
				return evs[i]
			}
			return append([]byte("  "), out.Bytes()...)
		}
	}
	return nil
}

// do sends a request and returns the status and body; auth adds the token.
func (d *demoRun) do(ctx context.Context, method, u string, body []byte, auth bool) (int, []byte, error) {
	status, b, _, err := d.request(ctx, method, u, "application/json", body, auth)
	return status, b, err
}

// request sends a request with a body of contentType (if body is not nil)
// and returns the status, body and headers; auth adds the token.
func (d *demoRun) request(ctx context.Context, method, u, contentType string, body []byte, auth bool) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, resp.Header, err
}

// microsoftForm plays the administrator on one of Microsoft's pages (the
// sign-in or the admin consent): it opens the form, signs in as login
// unless the browser's session already filled the field, accepts, and
// returns where Microsoft redirects.
func (d *demoRun) microsoftForm(ctx context.Context, what, pageURL, login string) (string, error) {
	status, form, err := d.do(ctx, http.MethodGet, pageURL, nil, false)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("Microsoft's %s page: %d %s", what, status, pageText(form, 300))
	}
	fields := hiddenFields(form)
	action := formAction(form, pageURL)
	if prefilled := inputValue(form, "login"); prefilled != "" {
		fields.Set("login", prefilled)
		d.say("POST %s: Microsoft's %s page, %s already signed in (the session fills the login); accept", shorten(action), what, prefilled)
	} else {
		fields.Set("login", login)
		d.say("POST %s: Microsoft's %s page, sign in as %s and accept", shorten(action), what, login)
	}
	fields.Set("decision", "accept")
	status, answer, hdr, err := d.request(ctx, http.MethodPost, action, "application/x-www-form-urlencoded", []byte(fields.Encode()), false)
	if err != nil {
		return "", err
	}
	next := hdr.Get("Location")
	if status != http.StatusFound || next == "" {
		msg := formError(answer)
		if msg == "" {
			msg = pageText(answer, 300)
		}
		return "", fmt.Errorf("Microsoft's %s page: %d without a redirect: %s", what, status, msg)
	}
	d.say("  -> %d %s to %s", status, http.StatusText(status), shorten(next))
	return next, nil
}

// adminCenterForm opens one of the Microsoft 365 admin center's pages (the
// reseller invitation, a GDAP approval), signs in as login and accepts, with
// extra form fields, and checks Microsoft's confirmation.
func (d *demoRun) adminCenterForm(ctx context.Context, what, pageURL, login string, extra url.Values) error {
	status, form, err := d.do(ctx, http.MethodGet, pageURL, nil, false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("the admin center's %s page: %d %s", what, status, pageText(form, 300))
	}
	fields := hiddenFields(form)
	for k, v := range extra {
		fields[k] = v
	}
	fields.Set("login", login)
	fields.Set("decision", "accept")
	action := formAction(form, pageURL)
	d.say("POST %s: the admin center's %s, as %s (Global Administrator); accept", shorten(action), what, login)
	status, answer, _, err := d.request(ctx, http.MethodPost, action, "application/x-www-form-urlencoded", []byte(fields.Encode()), false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		msg := formError(answer)
		if msg == "" {
			msg = pageText(answer, 300)
		}
		return fmt.Errorf("the admin center's %s: %d %s", what, status, msg)
	}
	d.say("  -> %d %s", status, pageText(answer, 160))
	return nil
}

// releaseTenant ends the account's providers that hold the demo's tenant
// (a run before this one, on the same cloud): an open one is cancelled, an
// active one deleted, each of which releases the tenant.
func (d *demoRun) releaseTenant(ctx context.Context, api string) error {
	cursor := ""
	var holders []demoProvider
	for page := 0; page < 100; page++ {
		u := api + "/providers?limit=100"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body, err := d.do(ctx, http.MethodGet, u, nil, true)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET /providers: %d %s", status, body)
		}
		var out struct {
			Providers  []demoProvider `json:"providers"`
			NextCursor string         `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return fmt.Errorf("GET /providers: %w", err)
		}
		for _, p := range out.Providers {
			if tenantRelease(p, demoTenantID) != "" {
				holders = append(holders, p)
			}
		}
		if cursor = out.NextCursor; cursor == "" {
			break
		}
	}
	for _, p := range holders {
		method, path, verb := http.MethodPost, "/providers/"+p.ID+"/cancel", "cancels"
		if tenantRelease(p, demoTenantID) == "delete" {
			method, path, verb = http.MethodDelete, "/providers/"+p.ID, "deletes"
		}
		d.say("%s %s: provider %s %q (%s) of an earlier run connects %s, and one tenant connects through one provider at a time, so the demo %s it first",
			method, path, p.ID, p.Name, p.Status, demoTenant, verb)
		status, body, err := d.do(ctx, method, api+path, nil, true)
		if err != nil {
			return err
		}
		if status != http.StatusOK && status != http.StatusNoContent && status != http.StatusNotFound {
			return fmt.Errorf("%s %s: %d %s", method, path, status, body)
		}
	}
	return nil
}

// tenantRelease says how to release the tenant tenantID that p holds:
// "cancel" when p is open, "delete" when it is active, "" when p does not
// hold it (another tenant, or ended otherwise: an ended provider has
// released its tenant).
func tenantRelease(p demoProvider, tenantID string) string {
	if !strings.EqualFold(p.TenantID, tenantID) {
		return ""
	}
	switch p.Status {
	case "pending_consent", "provisioning", "awaiting_customer", "awaiting_owner_access", "consolidating":
		return "cancel"
	case "active":
		return "delete"
	}
	return ""
}

// waitStatus polls the provider, printing new timeline events, until its
// status is one of want; a terminal status not wanted is an error.
// approveUntilActive waits for the provider to become active, approving
// each move report as the organization's administrator when it is shown
// (its version, what moves and what Microsoft refuses to move).
func (d *demoRun) approveUntilActive(ctx context.Context, api, id string) (demoProvider, error) {
	approved := 0
	for {
		p, err := d.waitFor(ctx, api, id, "active or a move report to approve", func(p demoProvider) bool {
			return p.Status == "active" || p.Status == "failed" || p.MovePlan != nil && p.MovePlan.ApprovedAt == "" && p.MovePlan.Version > approved &&
				slices.ContainsFunc(p.Subscriptions, func(s demoSubscription) bool { return s.State == "awaiting_approval" })
		})
		if err != nil || p.Status == "active" {
			return p, err
		}
		if p.Status == "failed" {
			return p, fmt.Errorf("the migration failed: %s", p.FailureReason)
		}
		d.say("move report version %d (resources move into %s; their ids change):", p.MovePlan.Version, p.MovePlan.Target)
		for _, sm := range p.MovePlan.Subscriptions {
			for _, g := range sm.Groups {
				d.say("  %s / %s: %d resources move, %d cannot", sm.SubscriptionID, g.Name, len(g.Moves), len(g.Blocked))
				for _, b := range g.Blocked {
					d.say("    stays: %s (%s: %s)", b.ID, b.Code, b.Message)
				}
			}
		}
		body, _ := json.Marshal(map[string]int{"version": p.MovePlan.Version})
		d.say("POST %s/providers/%s/move-plan/approve {\"version\": %d}: the administrator approves", api, id, p.MovePlan.Version)
		status, resp, err := d.do(ctx, http.MethodPost, api+"/providers/"+id+"/move-plan/approve", body, true)
		if err != nil {
			return p, err
		}
		if status != http.StatusAccepted {
			return p, fmt.Errorf("approve the move plan: %d %s", status, resp)
		}
		approved = p.MovePlan.Version
	}
}

func (d *demoRun) waitStatus(ctx context.Context, api, id string, want ...string) (demoProvider, error) {
	return d.waitFor(ctx, api, id, strings.Join(want, " or "), func(p demoProvider) bool { return slices.Contains(want, p.Status) })
}

// waitFor polls the provider, printing new timeline events, until done holds;
// a terminal status for which done does not hold is an error.
func (d *demoRun) waitFor(ctx context.Context, api, id, what string, done func(demoProvider) bool) (demoProvider, error) {
	for {
		status, body, err := d.do(ctx, http.MethodGet, api+"/providers/"+id, nil, true)
		if err != nil {
			return demoProvider{}, err
		}
		if status != http.StatusOK {
			return demoProvider{}, fmt.Errorf("GET /providers/%s: %d %s", id, status, body)
		}
		var p demoProvider
		if err := json.Unmarshal(body, &p); err != nil {
			return p, fmt.Errorf("GET /providers/%s: %w", id, err)
		}
		for ; d.seen < len(p.Timeline); d.seen++ {
			e := p.Timeline[d.seen]
			d.say("  timeline: %s - %s (%s)", e.Status, e.What, e.By)
		}
		if done(p) {
			return p, nil
		}
		switch p.Status {
		case "declined", "expired", "failed", "cancelled", "active":
			return p, fmt.Errorf("provider %s ended %s while waiting for %s: %s %s", id, p.Status, what, p.FailureReason, p.NextStep)
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("waiting for %s (status %s): %w", what, p.Status, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type demoMessage struct {
	ID      string   `json:"id"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Links   []string `json:"links"`
}

func (d *demoRun) messages(ctx context.Context, outbox string) ([]demoMessage, error) {
	status, body, err := d.do(ctx, http.MethodGet, outbox+"/messages", nil, false)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s/messages: %d", outbox, status)
	}
	var msgs []demoMessage
	return msgs, json.Unmarshal(body, &msgs)
}

func (d *demoRun) messageIDs(ctx context.Context, outbox string) (map[string]bool, error) {
	msgs, err := d.messages(ctx, outbox)
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.ID] = true
	}
	return ids, err
}

// consentLink waits for a new email to the administrator with a consent link.
func (d *demoRun) consentLink(ctx context.Context, outbox, api string, before map[string]bool) (link, subject string, err error) {
	for {
		msgs, err := d.messages(ctx, outbox)
		if err != nil {
			return "", "", err
		}
		for _, m := range msgs {
			if before[m.ID] || !slices.ContainsFunc(m.To, func(s string) bool { return strings.EqualFold(s, demoAdmin) }) {
				continue
			}
			for _, l := range m.Links {
				if strings.HasPrefix(l, api+"/consent/") && !strings.HasPrefix(l, api+"/consent/callback") {
					return l, m.Subject, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", "", errors.New("no consent email arrived in the outbox")
		case <-time.After(200 * time.Millisecond):
		}
	}
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

// findLink returns the first link of page that starts with prefix and contains part.
func findLink(page []byte, prefix, part string) string {
	for _, m := range hrefRe.FindAllSubmatch(page, -1) {
		if u := html.UnescapeString(string(m[1])); strings.HasPrefix(u, prefix) && strings.Contains(strings.ToLower(u), part) {
			return u
		}
	}
	return ""
}

// hiddenFields returns the hidden inputs of a form page.
func hiddenFields(page []byte) url.Values {
	v := url.Values{}
	for _, in := range inputRe.FindAll(page, -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllSubmatch(in, -1) {
			attrs[strings.ToLower(string(a[1]))] = html.UnescapeString(string(a[2]))
		}
		if strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "" {
			v.Set(attrs["name"], attrs["value"])
		}
	}
	return v
}

// inputValue returns the value of the page's input named name ("" if none).
func inputValue(page []byte, name string) string {
	for _, in := range inputRe.FindAll(page, -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllSubmatch(in, -1) {
			attrs[strings.ToLower(string(a[1]))] = html.UnescapeString(string(a[2]))
		}
		if attrs["name"] == name {
			return attrs["value"]
		}
	}
	return ""
}

// formError returns the error a form page shows (Microsoft's AADSTS
// message), or "".
func formError(page []byte) string {
	if m := errorRe.FindSubmatch(page); m != nil {
		return strings.Join(strings.Fields(html.UnescapeString(string(tagRe.ReplaceAll(m[1], []byte(" "))))), " ")
	}
	return ""
}

// pageText is the visible text of an HTML page, cut to at most n characters.
func pageText(page []byte, n int) string {
	t := strings.Join(strings.Fields(html.UnescapeString(string(tagRe.ReplaceAll(page, []byte(" "))))), " ")
	if r := []rune(t); len(r) > n {
		t = string(r[:n]) + "..."
	}
	return t
}

// formAction resolves the form's action against the page's URL ("" is the page itself).
func formAction(page []byte, pageURL string) string {
	m := formRe.FindSubmatch(page)
	if m == nil {
		return pageURL
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return pageURL
	}
	ref, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return pageURL
	}
	return base.ResolveReference(ref).String()
}

func pageTitle(page []byte) string {
	if m := titleRe.FindSubmatch(page); m != nil {
		return strings.TrimSpace(html.UnescapeString(string(m[1])))
	}
	return ""
}

// shorten cuts a long URL for display.
func shorten(u string) string {
	if len(u) > 110 {
		return u[:107] + "..."
	}
	return u
}
