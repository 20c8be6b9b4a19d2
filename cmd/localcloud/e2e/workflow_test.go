package e2e

// The migration's other endings and the consent callback's defences, over
// HTTP only, as the administrator and the platform's UI would meet them:
// decline, replayed and concurrent callbacks, forged and foreign states,
// cancel and expiry of the link, reminders, the ownership deadline, an
// unknown subscription, consent revoked mid-wait and Azure throttling.
//
// Shared state: the contoso tenant's consent and Owner assignments are one
// per cloud. TestWorkflowConsentRevoked revokes consent on the "fast" cloud,
// so it does not run in parallel (sequential tests finish before parallel
// ones start) and re-grants consent in Cleanup. TestWorkflowThrottling
// switches faults on for the whole "standard" double, so it is sequential
// too. Every other test here runs in parallel and leaves the double as it
// found it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
)

const (
	wfRepresentatives = "azure-migrations@partner.example"
	wfRequester       = "requester@acct-eligible.example"
	wfConsentedEvent  = "consented in tenant"
)

// wfName is a provider name no other test uses (names are matched as
// substrings in emails, so the suffix makes each one distinct).
func wfName(prefix string) string {
	return fmt.Sprintf("%s %d", prefix, time.Now().UnixNano())
}

// noRedirect is a client like e.http that does not follow redirects, to read
// Microsoft's redirect to the callback without visiting it.
func (e *env) noRedirect() *http.Client {
	return &http.Client{
		Timeout:       e.http.Timeout,
		Jar:           e.http.Jar,
		Transport:     e.http.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// landingFor waits for the provider's invitation email and returns its link
// and the landing page.
func (e *env) landingFor(t *testing.T, name string) (string, page) {
	t.Helper()
	m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
	link := e.consentLink(t, m)
	landing := e.fetch(t, "GET", link, nil)
	if landing.status != 200 {
		t.Fatalf("landing page: %d %s", landing.status, landing.text())
	}
	return link, landing
}

// callbackURL plays the administrator at Microsoft (sign in, then press
// decision on the admin-consent page) and returns the admin-consent
// callback URL Microsoft redirects to, without visiting it.
func (e *env) callbackURL(t *testing.T, landing page, decision string) string {
	t.Helper()
	e.holdContoso(t)
	consentPage := e.fetch(t, "GET", e.signInCallbackURL(t, landing, contosoAdmin, "accept"), nil)
	if consentPage.status != 200 || !strings.HasPrefix(consentPage.url.String(), e.ep["microsoft"]) {
		t.Fatalf("after the sign-in: %d at %s: %s", consentPage.status, consentPage.url, consentPage.text())
	}
	return e.submitNoRedirect(t, consentPage, contosoAdmin, decision)
}

// rawGet is a goroutine-safe GET (no t.Fatal): status and body.
func (e *env) rawGet(u string) (int, string, error) {
	resp, err := e.http.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// wfPage makes a page of a body fetched with rawGet.
func wfPage(t *testing.T, u string, status int, body string) page {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: not HTML: %v", u, err)
	}
	pu, _ := url.Parse(u)
	return page{url: pu, status: status, body: body, doc: doc}
}

// mainText is a page's text without the footer, whose support reference
// (the request id) differs on every response.
func mainText(p page) string {
	s := p.text()
	if i := strings.Index(s, "Questions? Write to"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// resultText is the result part of a thank-you page: who authorized what,
// for whom, in which tenant. What follows ("What happens next") says what
// is still to do as Microsoft last reported it, so a reload after the
// workflow's next check may rightly say less.
func resultText(p page) string {
	s := mainText(p)
	if i := strings.Index(s, "What happens next"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// withState returns the callback URL with its state replaced (or removed
// when state is nil).
func withState(t *testing.T, callback string, state *string) string {
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if state == nil {
		q.Del("state")
	} else {
		q.Set("state", *state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func stateOf(t *testing.T, callback string) string {
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("state")
	if !strings.Contains(s, ".") {
		t.Fatalf("callback %s has no signed state", callback)
	}
	return s
}

// flip changes the character at i to another base64url character.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// wfCountEvents counts the timeline events whose text contains what.
func wfCountEvents(p providerView, what string) int {
	n := 0
	for _, ev := range p.Timeline {
		if strings.Contains(ev.What, what) {
			n += max(ev.Count, 1) // repeats of one kind are folded into one event
		}
	}
	return n
}

func wfTimeline(p providerView) string {
	var b strings.Builder
	for _, ev := range p.Timeline {
		fmt.Fprintf(&b, "%s (%s): %s\n", ev.Status, ev.By, ev.What)
	}
	return b.String()
}

// mailsTo lists the emails to `to` whose text or subject names the
// provider, with subject accepted by match.
func (e *env) mailsTo(t *testing.T, to, name string, match func(subject string) bool) []message {
	t.Helper()
	var out []message
	for _, m := range e.messages(t) {
		if len(m.To) > 0 && m.To[0] == to && strings.Contains(m.Text+m.Subject, name) && match(m.Subject) {
			out = append(out, m)
		}
	}
	return out
}

func subjectsOf(ms []message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// cancelProvider cancels a provider through the API.
func (e *env) cancelProvider(t *testing.T, tok, id string) {
	t.Helper()
	r := e.call(t, "POST", "/providers/"+id+"/cancel", tok, nil)
	if r.status != 200 {
		t.Fatalf("cancel %s: %d %s", id, r.status, r.raw)
	}
}

// cancelIfOpen cancels a provider left unfinished by a test (Cleanup).
func (e *env) cancelIfOpen(t *testing.T, tok, id string) {
	r := e.call(t, "GET", "/providers/"+id, tok, nil)
	var p providerView
	if r.status != 200 || json.Unmarshal(r.raw, &p) != nil {
		return
	}
	switch p.Status {
	case "pending_consent", "awaiting_customer", "awaiting_owner_access", "consolidating":
		e.call(t, "POST", "/providers/"+id+"/cancel", tok, nil)
	}
}

// controlGet reads the Microsoft double's control API.
func (e *env) controlGet(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := e.http.Get(e.ep["microsoft"] + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("control %s: %d %s", path, resp.StatusCode, raw)
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(v); err != nil {
		t.Fatalf("control %s: %v", path, err)
	}
}

// 1. The administrator declines at Microsoft.
func TestWorkflowDecline(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "fast")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("WF decline")
	id := e.create(t, tok, migrate(name, ownedSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })

	link, landing := e.landingFor(t, name)
	result := e.signIn(t, e.microsoftLink(t, landing), contosoAdmin, "decline")
	if result.status != 200 || !strings.Contains(result.text(), "You declined the request") {
		t.Fatalf("result page %d: %s", result.status, result.text())
	}
	if !strings.HasPrefix(result.url.String(), e.api+"/consent/callback?") || !strings.Contains(result.url.RawQuery, "error=access_denied") {
		t.Fatalf("the decline did not come back through the callback: %s", result.url)
	}

	p := e.waitStatus(t, tok, id, "declined", 20*time.Second)
	if !strings.Contains(p.FailureReason, "declined") {
		t.Errorf("failure reason %q does not say declined", p.FailureReason)
	}
	if !strings.Contains(p.NextStep, "declined") {
		t.Errorf("next step %q", p.NextStep)
	}
	if wfCountEvents(p, wfConsentedEvent) != 0 {
		t.Errorf("a declined provider has a consent event:\n%s", wfTimeline(p))
	}
	m := e.waitMessage(t, wfRequester, "did not complete", name, 20*time.Second)
	if !strings.Contains(m.Text, "declined") || !strings.Contains(m.Text, id) {
		t.Errorf("failure email does not say why or name the provider: %s", m.Text)
	}

	again := e.fetch(t, "GET", link, nil)
	if again.status != 410 || !strings.Contains(again.text(), "declined") {
		t.Errorf("the link after a decline: %d %s", again.status, again.text())
	}
	// Reloading the decline's callback shows the same page and changes nothing.
	reload := e.fetch(t, "GET", result.url.String(), nil)
	if reload.status != 200 || mainText(reload) != mainText(result) {
		t.Errorf("reloaded decline callback: %d %s", reload.status, reload.text())
	}
	if n := e.countMessages(t, wfRequester, "did not complete", name); n != 1 {
		t.Errorf("%d failure emails, want 1", n)
	}
}

// 2. Replayed and concurrent callbacks resume the workflow exactly once and
// all show the same result page.
func TestWorkflowReplayedCallback(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "fast")
	tok := e.token(t, "acct-eligible", "admin")

	t.Run("reload", func(t *testing.T) {
		t.Parallel()
		e.holdContoso(t) // before the invitation's days start passing
		name := wfName("WF reload")
		id := e.create(t, tok, migrate(name, ownedSub))
		t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
		_, landing := e.landingFor(t, name)
		first := e.signIn(t, e.microsoftLink(t, landing), contosoAdmin, "accept")
		if first.status != 200 || !strings.Contains(first.text(), "Thank you") || !strings.Contains(first.text(), partnerSP) {
			t.Fatalf("result page %d: %s", first.status, first.text())
		}
		for i := 0; i < 2; i++ {
			again := e.fetch(t, "GET", first.url.String(), nil)
			if again.status != 200 || resultText(again) != resultText(first) || !strings.Contains(again.text(), partnerSP) {
				t.Fatalf("reload %d: %d\n%s\nwant\n%s", i+1, again.status, mainText(again), mainText(first))
			}
		}
		e.acceptRelationshipsFor(t, name)
		p := e.waitActive(t, tok, id, 30*time.Second)
		if n := wfCountEvents(p, wfConsentedEvent); n != 1 {
			t.Errorf("%d consent events, want 1:\n%s", n, wfTimeline(p))
		}
		// After completion the reload still shows the thank-you page, now
		// with what Microsoft reports since (nothing left to grant).
		again := e.fetch(t, "GET", first.url.String(), nil)
		if again.status != 200 || !strings.Contains(again.text(), "Thank you") || !strings.Contains(again.text(), contosoTenant) {
			t.Errorf("reload after completion: %d %s", again.status, again.text())
		}
		if n := e.countMessages(t, wfRequester, "now under the partner's care", name); n > 1 {
			t.Errorf("%d completion emails", n)
		}
	})

	concurrent := func(t *testing.T, label string, urls func(t *testing.T, name string) []string) {
		e.holdContoso(t)
		name := wfName("WF " + label)
		id := e.create(t, tok, migrate(name, ownedSub))
		t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
		us := urls(t, name)
		type answer struct {
			status int
			body   string
			err    error
		}
		answers := make([]answer, len(us))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range us {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				s, b, err := e.rawGet(u)
				answers[i] = answer{s, b, err}
			}()
		}
		close(start)
		wg.Wait()
		var want string
		for i, a := range answers {
			if a.err != nil {
				t.Fatalf("callback %d: %v", i, a.err)
			}
			pg := wfPage(t, us[i], a.status, a.body)
			if a.status != 200 || !strings.Contains(pg.text(), "Thank you") {
				t.Fatalf("callback %d: %d %s", i, a.status, pg.text())
			}
			if !strings.Contains(pg.text(), partnerSP) {
				t.Errorf("callback %d does not name the principal: %s", i, pg.text())
			}
			if i == 0 {
				want = resultText(pg)
			} else if got := resultText(pg); got != want {
				t.Errorf("callback %d shows\n%s\nwant\n%s", i, got, want)
			}
		}
		e.acceptRelationshipsFor(t, name)
		p := e.waitActive(t, tok, id, 30*time.Second)
		if n := wfCountEvents(p, wfConsentedEvent); n != 1 {
			t.Errorf("%d consent events, want 1:\n%s", n, wfTimeline(p))
		}
	}

	t.Run("two tabs", func(t *testing.T) {
		t.Parallel()
		concurrent(t, "two tabs", func(t *testing.T, name string) []string {
			link, landing1 := e.landingFor(t, name)
			landing2 := e.fetch(t, "GET", link, nil)
			if landing2.status != 200 {
				t.Fatalf("second landing page: %d", landing2.status)
			}
			a, b := e.callbackURL(t, landing1, "accept"), e.callbackURL(t, landing2, "accept")
			if stateOf(t, a) == stateOf(t, b) {
				t.Fatalf("two landing pages issued the same state")
			}
			return []string{a, b}
		})
	})
	t.Run("same callback twice", func(t *testing.T) {
		t.Parallel()
		concurrent(t, "same callback", func(t *testing.T, name string) []string {
			_, landing := e.landingFor(t, name)
			u := e.callbackURL(t, landing, "accept")
			return []string{u, u}
		})
	})
}

// 3. Forged, missing and foreign states, and a state of a cancelled
// invitation, are refused with a 400 page and change nothing; the link of a
// cancelled invitation answers 410.
func TestWorkflowCallbackStates(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "fast")
	e.holdContoso(t) // a day a second: hold the tenant before the invitation is sent
	tok := e.token(t, "acct-eligible", "admin")
	nameA, nameB, nameC := wfName("WF state A"), wfName("WF state B"), wfName("WF state C")
	idA := e.create(t, tok, migrate(nameA, ownedSub))
	idB := e.create(t, tok, migrate(nameB, ownedSub))
	idC := e.create(t, tok, migrate(nameC, ownedSub))
	for _, id := range []string{idA, idB, idC} {
		t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	}

	linkA, landingA := e.landingFor(t, nameA)
	_, landingB := e.landingFor(t, nameB)
	linkC, landingC := e.landingFor(t, nameC)
	// Sign-in responses, not visited: one tenant can be held by only one of them.
	cbA := e.signInCallbackURL(t, landingA, contosoAdmin, "accept")
	cbB := e.signInCallbackURL(t, landingB, contosoAdmin, "accept")
	cbC := e.signInCallbackURL(t, landingC, contosoAdmin, "accept")
	before := e.get(t, tok, idA)

	stA, stB := stateOf(t, cbA), stateOf(t, cbB)
	payloadA, sigA, _ := strings.Cut(stA, ".")
	payloadB, _, _ := strings.Cut(stB, ".")
	empty := ""
	refused := map[string]string{
		"payload character changed":   withState(t, cbA, wfPtr(flipChar(stA, len(payloadA)/2))),
		"signature character changed": withState(t, cbA, wfPtr(flipChar(stA, len(payloadA)+1+len(sigA)/2))),
		"missing state":               withState(t, cbA, nil),
		"empty state":                 withState(t, cbA, &empty),
		"another invitation's payload with this signature": withState(t, cbA, wfPtr(payloadB+"."+sigA)),
		"payload only": withState(t, cbA, &payloadA),
	}
	for what, u := range refused {
		pg := e.fetch(t, "GET", u, nil)
		if pg.status != 400 || !strings.Contains(pg.text(), "not valid") {
			t.Errorf("%s: %d %s", what, pg.status, pg.text())
		}
	}

	// Invitation C is cancelled: its (genuine) callback is refused, its link is gone.
	e.cancelProvider(t, tok, idC)
	pg := e.fetch(t, "GET", cbC, nil)
	if pg.status != 400 || !strings.Contains(pg.text(), "cancelled") {
		t.Errorf("callback of a cancelled invitation: %d %s", pg.status, pg.text())
	}
	if gone := e.fetch(t, "GET", linkC, nil); gone.status != 410 || !strings.Contains(gone.text(), "cancelled") {
		t.Errorf("link of a cancelled invitation: %d %s", gone.status, gone.text())
	}
	c := e.get(t, tok, idC)
	if c.Status != "cancelled" || wfCountEvents(c, wfConsentedEvent) != 0 {
		t.Errorf("cancelled provider after its callback: %s\n%s", c.Status, wfTimeline(c))
	}

	// Nothing happened to A: still pending, same timeline, link still open.
	after := e.get(t, tok, idA)
	if after.Status != "pending_consent" || len(after.Timeline) != len(before.Timeline) {
		t.Fatalf("provider A changed after refused callbacks: %s\n%s", after.Status, wfTimeline(after))
	}
	if again := e.fetch(t, "GET", linkA, nil); again.status != 200 {
		t.Fatalf("A's link after refused callbacks: %d %s", again.status, again.text())
	}

	// A's genuine sign-in response still works (on through admin consent),
	// and B's is untouched by the splice.
	e.holdContoso(t)
	if ok := e.throughMicrosoft(t, e.fetch(t, "GET", cbA, nil), contosoAdmin, "accept"); ok.status != 200 || !strings.Contains(ok.text(), "Thank you") {
		t.Fatalf("A's genuine callback: %d %s", ok.status, ok.text())
	}
	e.acceptRelationshipsFor(t, nameA)
	p := e.waitActive(t, tok, idA, 30*time.Second)
	if n := wfCountEvents(p, wfConsentedEvent); n != 1 {
		t.Errorf("%d consent events on A", n)
	}
	if b := e.get(t, tok, idB); b.Status != "pending_consent" {
		t.Errorf("B is %s", b.Status)
	}
	// A used link is gone too.
	if gone := e.fetch(t, "GET", linkA, nil); gone.status != 410 {
		t.Errorf("A's link after consent: %d %s", gone.status, gone.text())
	}
}

func wfPtr(s string) *string { return &s }

// 4. Nobody consents: two reminders, then the invitation expires.
func TestWorkflowExpiredAfterReminders(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "fast")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("WF expiry")
	start := time.Now()
	id := e.create(t, tok, migrate(name, ownedSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	link, _ := e.landingFor(t, name)

	p := e.waitStatus(t, tok, id, "expired", 45*time.Second)
	t.Logf("expired after %v (14 days at a day a second)", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(p.FailureReason, "expired") {
		t.Errorf("failure reason %q", p.FailureReason)
	}
	e.waitMessage(t, wfRequester, "did not complete", name, 20*time.Second)

	isReminder := func(s string) bool { return strings.HasPrefix(s, "Reminder:") }
	reminders := e.mailsTo(t, contosoAdmin, name, isReminder)
	invitations := e.mailsTo(t, contosoAdmin, name, func(s string) bool { return strings.Contains(s, "approve moving") && !isReminder(s) })
	if len(reminders) != 2 || len(invitations) != 1 {
		t.Errorf("to the administrator: %d invitations and %d reminders, want 1 and 2: %q", len(invitations), len(reminders), subjectsOf(append(invitations, reminders...)))
	}
	for _, r := range reminders {
		if e.consentLink(t, r) != link {
			t.Errorf("a reminder carries another link than the invitation")
		}
	}
	if n := len(e.mailsTo(t, wfRequester, name, func(s string) bool { return strings.Contains(s, "did not complete") })); n != 1 {
		t.Errorf("%d failure emails to the requester, want 1", n)
	}

	if got := wfCountEvents(p, "Consent email sent"); got != 1 {
		t.Errorf("%d 'sent' events", got)
	}
	if got := wfCountEvents(p, "Reminder email sent"); got != 2 {
		t.Errorf("%d reminder events", got)
	}
	last := p.Timeline[len(p.Timeline)-1]
	if last.Status != "expired" || !strings.Contains(last.What, "expired") {
		t.Errorf("last event %+v", last)
	}
	if t.Failed() {
		t.Logf("timeline:\n%s", wfTimeline(p))
	}

	if gone := e.fetch(t, "GET", link, nil); gone.status != 410 || !strings.Contains(gone.text(), "expired") {
		t.Errorf("the link after expiry: %d %s", gone.status, gone.text())
	}
}

// 5. Consent, but Owner is never granted on the second subscription: the
// wfRepresentatives are emailed once at the start and once before the
// deadline, then the migration fails.
func TestWorkflowOwnershipDeadline(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "fast")
	mark := len(e.logBuf.String())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("local cloud log during the test:\n%s", tail(e.logBuf.String()[mark:], 30000))
		}
	})
	e.holdContoso(t) // a day a second: hold the tenant before the invitation is sent
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("WF deadline")
	id := e.create(t, tok, migrate(name, ownedSub, missingSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	if result := e.consent(t, name, "accept"); result.status != 200 {
		t.Fatalf("result page %d: %s", result.status, result.text())
	}
	consented := time.Now()
	e.waitFor(t, tok, id, 20*time.Second, "missing Owner reported", func(p providerView) bool {
		return p.Status == "consolidating" && len(p.Subscriptions) == 2 && p.Subscriptions[1].State == "missing_owner"
	})

	p := e.waitStatus(t, tok, id, "failed", 60*time.Second)
	t.Logf("failed %v after consent (30 days at a day a second)", time.Since(consented).Round(100*time.Millisecond))
	if !strings.Contains(p.FailureReason, "deadline") {
		t.Errorf("failure reason %q does not name the deadline", p.FailureReason)
	}
	e.waitMessage(t, wfRequester, "did not complete", name, 20*time.Second)

	start := e.mailsTo(t, wfRepresentatives, name, func(s string) bool { return strings.HasPrefix(s, "Migration waiting for Owner access") })
	near := e.mailsTo(t, wfRepresentatives, name, func(s string) bool { return strings.HasPrefix(s, "Deadline near:") })
	failure := e.mailsTo(t, wfRequester, name, func(s string) bool { return strings.Contains(s, "did not complete") })
	if len(start) != 1 || len(near) != 1 || len(failure) != 1 {
		t.Errorf("emails: %d start, %d deadline-near, %d failure; want one each", len(start), len(near), len(failure))
		for _, m := range e.messages(t) {
			if strings.Contains(m.Subject+m.Text, name) || strings.Contains(m.Subject, "unreadable") {
				t.Logf("email to %v: %s", m.To, m.Subject)
			}
		}
	}
	if len(near) == 1 && !strings.Contains(near[0].Text, missingSub) {
		t.Errorf("deadline notice does not name the missing subscription: %s", near[0].Text)
	}
	if len(failure) == 1 && !strings.Contains(failure[0].Text, "deadline") {
		t.Errorf("failure email does not say why: %s", failure[0].Text)
	}
	if wfCountEvents(p, "representatives were asked") != 1 || wfCountEvents(p, "deadline is near") != 1 {
		t.Errorf("timeline:\n%s", wfTimeline(p))
	}
	if last := p.Timeline[len(p.Timeline)-1]; last.Status != "failed" {
		t.Errorf("last event %+v", last)
	}
}

// 6. One requested subscription does not exist in the tenant.
func TestWorkflowUnknownSubscription(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("WF unknown sub")
	id := e.create(t, tok, migrate(name, ownedSub, unknownSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	if result := e.consent(t, name, "accept"); result.status != 200 {
		t.Fatalf("result page %d: %s", result.status, result.text())
	}
	p := e.waitFor(t, tok, id, 30*time.Second, "unknown subscription reported", func(p providerView) bool {
		if p.Status != "consolidating" || len(p.Subscriptions) != 2 {
			return false
		}
		for _, s := range p.Subscriptions {
			if s.State == "pending" || s.State == "" {
				return false
			}
		}
		return true
	})
	states := map[string]string{}
	for _, s := range p.Subscriptions {
		states[s.ID] = s.State
	}
	if (states[ownedSub] != "owned" && states[ownedSub] != "validating" && states[ownedSub] != "awaiting_approval") || states[unknownSub] != "not_found" {
		t.Fatalf("subscriptions: %+v", p.Subscriptions)
	}
	if !strings.Contains(p.NextStep, unknownSub) || !strings.Contains(p.NextStep, "not found") {
		t.Errorf("next step does not say the subscription was not found: %q", p.NextStep)
	}

	e.cancelProvider(t, tok, id)
	p = e.get(t, tok, id)
	if p.Status != "cancelled" || !strings.Contains(wfTimeline(p), "Cancelled by") {
		t.Fatalf("after cancel: %s\n%s", p.Status, wfTimeline(p))
	}
	// It stays cancelled: the stopped workflow records nothing more.
	time.Sleep(2 * time.Second)
	if q := e.get(t, tok, id); q.Status != "cancelled" || len(q.Timeline) != len(p.Timeline) {
		t.Errorf("after cancel the provider moved on: %s\n%s", q.Status, wfTimeline(q))
	}
}

// 7. The tenant revokes consent while the migration waits for Owner: a
// clear failure, well before the deadline, not a retry loop.
// Not parallel: consent is shared by every migration on the fast cloud.
func TestWorkflowConsentRevoked(t *testing.T) {
	e := cloudFor(t, "fast")
	e.holdContoso(t) // a day a second: hold the tenant before the invitation is sent
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("WF revoked")
	id := e.create(t, tok, migrate(name, ownedSub, missingSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	if result := e.consent(t, name, "accept"); result.status != 200 {
		t.Fatalf("result page %d: %s", result.status, result.text())
	}
	p := e.waitFor(t, tok, id, 20*time.Second, "missing Owner reported", func(p providerView) bool {
		return p.Status == "consolidating" && len(p.Subscriptions) == 2 && p.Subscriptions[1].State == "missing_owner"
	})
	waitStarted := time.Now()

	e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "revoke": true})
	t.Cleanup(func() { e.control(t, "/_control/consent", map[string]any{"tenant": "contoso", "revoke": false}) })

	p = e.waitStatus(t, tok, id, "failed", 20*time.Second)
	took := time.Since(waitStarted)
	t.Logf("failed %v after the wait began (the deadline is 30 s away)", took.Round(100*time.Millisecond))
	if !strings.Contains(p.FailureReason, "revoked") || strings.Contains(p.FailureReason, "deadline") {
		t.Errorf("failure reason %q is not the consent-revoked one", p.FailureReason)
	}
	if took > 20*time.Second {
		t.Errorf("took %v: a retry loop up to the deadline?", took)
	}
	m := e.waitMessage(t, wfRequester, "did not complete", name, 20*time.Second)
	if !strings.Contains(m.Text, "revoked") {
		t.Errorf("failure email does not say why: %s", m.Text)
	}
	if n := wfCountEvents(p, "representatives were reminded"); n != 0 {
		t.Errorf("deadline notice sent for a revoked tenant")
	}
}

// 8. Azure answers 429 to a few role-assignment calls during the ownership
// check: the check retries (honouring Retry-After) and the migration
// completes. Not parallel: the faults are the whole standard double's.
func TestWorkflowThrottling(t *testing.T) {
	e := cloudFor(t, "standard")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("WF throttled")
	id := e.create(t, tok, migrate(name, ownedSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })

	var before map[string]int64
	e.controlGet(t, "/_control/calls", &before)
	e.control(t, "/_control/faults", map[string]any{"call": "roleAssignments", "status": 429, "retryAfter": 1, "count": 2})
	t.Cleanup(func() { e.control(t, "/_control/faults", map[string]any{"call": "*", "off": true}) })

	if result := e.consent(t, name, "accept"); result.status != 200 {
		t.Fatalf("result page %d: %s", result.status, result.text())
	}
	p := e.waitActive(t, tok, id, 60*time.Second)
	if p.Billing != "consolidated" || len(p.Subscriptions) != 1 || p.Subscriptions[0].State != "consolidated" {
		t.Fatalf("active provider: %+v", p)
	}
	var faults []map[string]any
	e.controlGet(t, "/_control/faults", &faults)
	if len(faults) != 0 {
		t.Errorf("the 429s were not all served: %v", faults)
	}
	var after map[string]int64
	e.controlGet(t, "/_control/calls", &after)
	t.Logf("calls before %v, after %v", before, after)
	e.waitMessage(t, wfRequester, "now under the partner's care", name, 20*time.Second)
}
