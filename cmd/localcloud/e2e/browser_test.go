package e2e

// The administrator's pages and the invitation email in a real browser:
// headless Chromium renders the landing page, a result page and the HTML
// email; the rendered DOM must carry the key text and the screenshot must
// be a real image. Then a person's whole walk-through, driven in Chromium
// through the DevTools protocol (chromedp): the landing page's sign-in
// link, Microsoft's sign-in and admin-consent forms, the thank-you page,
// on a cloud at the time scale the ready screen suggests for browsers.

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
)

// The "browser" cloud runs at the time scale the ready screen and the README
// suggest for a walk-through in a browser.
func init() {
	cloudConfigs["browser"] = struct {
		scale     float64
		overrides map[string]string
	}{cloud.BrowserTimeScale, nil}
}

const chromiumPath = "/usr/bin/chromium"

// chromium finds the browser or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{chromiumPath, "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("browser check skipped: Chromium is not installed (Debian: apt-get install chromium; expected at " + chromiumPath + ")")
	return ""
}

// browse renders target in headless Chromium: its DOM after rendering, as
// text, and a screenshot saved as shot (a PNG).
func browse(t *testing.T, bin, target, shot string) string {
	t.Helper()
	run := func(extra ...string) []byte {
		t.Helper()
		profile := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := append([]string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--hide-scrollbars",
			"--user-data-dir=" + profile, "--window-size=1024,1400",
		}, extra...)
		args = append(args, target)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.WaitDelay = 5 * time.Second
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("chromium %v timed out on %s\n%s", extra, target, tail(stderr.String(), 2000))
		}
		if err != nil {
			t.Fatalf("chromium %v on %s: %v\n%s", extra, target, err, tail(stderr.String(), 2000))
		}
		return stdout.Bytes()
	}

	dom := run("--dump-dom")
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("rendered DOM of %s: %v", target, err)
	}
	text := page{doc: doc}.text()

	run("--screenshot=" + shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot of %s: %v", target, err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot of %s is not a PNG: %v", target, err)
	}
	b := img.Bounds()
	if b.Dx() < 500 || b.Dy() < 500 {
		t.Errorf("screenshot of %s is %dx%d", target, b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y && len(colours) < 16; y += 7 {
		for x := b.Min.X; x < b.Max.X && len(colours) < 16; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 2 {
		t.Errorf("screenshot of %s is blank (one colour)", target)
	}
	t.Logf("screenshot of %s: %s (%dx%d, ≥%d colours)", target, shot, b.Dx(), b.Dy(), len(colours))
	return text
}

func wantText(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s: rendered text lacks %q:\n%s", what, w, tail(text, 3000))
		}
	}
}

// TestBrowserPages renders the landing page, the decline result page and the
// invitation email in headless Chromium.
func TestBrowserPages(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	e := cloudFor(t, "browser")
	tok := e.token(t, "acct-eligible", "admin")
	name := wfName("Browser check")
	id := e.create(t, tok, migrate(name, ownedSub, missingSub))
	t.Cleanup(func() { e.cancelIfOpen(t, tok, id) })
	shots, err := os.MkdirTemp("", "e2e-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	m := e.waitMessage(t, contosoAdmin, "approve moving", name, 20*time.Second)
	link := e.consentLink(t, m)
	partner := "Partner Cloud"

	t.Run("landing page", func(t *testing.T) {
		text := browse(t, bin, link, filepath.Join(shots, "landing.png"))
		wantText(t, "landing page", text, partner, "Eligible Org", "Sign in with Microsoft",
			"Your checklist", "remove that partner first", "Accept "+partner+" as your reseller", "Approve "+partner+"'s admin relationship (GDAP)",
			"Authorize "+partner+"'s application", "approvalPending", ownedSub, missingSub, "This link expires on")
	})

	t.Run("invitation email", func(t *testing.T) {
		if m.HTML == "" {
			t.Fatalf("the invitation email has no HTML part")
		}
		file := filepath.Join(shots, "invitation-email.html")
		if err := os.WriteFile(file, []byte(m.HTML), 0o600); err != nil {
			t.Fatal(err)
		}
		text := browse(t, bin, "file://"+file, filepath.Join(shots, "invitation-email.png"))
		wantText(t, "invitation email", text, partner, "Eligible Org", name, "What will happen",
			"Review and approve", link, "The link expires on", "remove that partner")
	})

	t.Run("decline result page", func(t *testing.T) {
		// The browser reloads the decline's callback: the replay shows the
		// same page the administrator saw (the state keeps real time).
		fname := wfName("Browser decline")
		fid := e.create(t, tok, migrate(fname, ownedSub))
		t.Cleanup(func() { e.cancelIfOpen(t, tok, fid) })
		_, landing := e.landingFor(t, fname)
		result := e.signIn(t, e.microsoftLink(t, landing), contosoAdmin, "decline")
		if result.status != 200 {
			t.Fatalf("decline result page: %d %s", result.status, result.text())
		}
		text := browse(t, bin, result.url.String(), filepath.Join(shots, "declined.png"))
		wantText(t, "decline result page", text, partner, "You declined the request", "What you can do")
		if got, want := strings.Join(strings.Fields(text), " "), mainText(result); !strings.Contains(got, want) {
			t.Errorf("the browser's page differs from the first answer:\n%s\nwant it to contain\n%s", got, want)
		}
	})

	t.Run("walk-through", func(t *testing.T) {
		e.holdContoso(t)
		b := newBrowser(t, e, bin)
		b.consent(t, link, filepath.Join(shots, "thank-you.png"))
		// The checklist after consent, in the browser: the sign-in done,
		// the relationships still to do.
		text := browse(t, bin, link, filepath.Join(shots, "checklist.png"))
		wantText(t, "checklist after consent", text, "Thank you", "Accept "+partner+" as your reseller", "Approve "+partner+"'s admin relationship")
		// The Global Administrator follows the checklist's two links to the
		// Microsoft 365 admin center and accepts each.
		b.adminCenter(t, link, `a[href*="invType=ResellerRelationship"]`, "You've accepted the invitation", "")
		b.adminCenter(t, link, `a[href*="granularAdminRelationships/"]`, "Approved.", "granularAdminRelationships/")
		// The relationships' checks wait longer each time (15 minutes
		// doubling, seconds at this scale), and the access assignment's
		// activation has no webhook: a slow browser walk can leave the next
		// check a minute or two away.
		e.waitStatus(t, tok, id, "consolidating", 150*time.Second)
		// The partner principal lacks Owner on the second subscription:
		// granted on the Microsoft double's page, the next re-check (15
		// minutes apart, seconds at this scale) makes the provider active.
		t.Cleanup(func() {
			e.control(t, "/_control/owner", map[string]any{"tenant": "contoso", "subscriptionId": missingSub, "grant": false})
		})
		b.grantOwner(t, missingSub)
		e.waitActive(t, tok, id, 90*time.Second)
	})
}

// browser is a person at one Chromium, driven through the DevTools
// protocol: one profile, so the Microsoft double's sign-in session carries
// from page to page as it would for a person.
type browser struct {
	e     *env
	ctx   context.Context
	where string
}

func newBrowser(t *testing.T, e *env, bin string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-quic", true),
		// The Microsoft double's CA is made at start-up; the browser is
		// not given it.
		chromedp.IgnoreCertErrors,
		chromedp.WindowSize(1024, 1400))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return &browser{e: e, ctx: ctx}
}

var pageBody = chromedp.CSS("body")

func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v (at %s)", what, err, b.where)
	}
}

func (b *browser) location(t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	return loc
}

func (b *browser) text(t *testing.T) string {
	t.Helper()
	text, err := chromedp.Run(b.ctx, chromedp.Text(pageBody))
	if err != nil {
		t.Fatalf("page text at %s: %v", b.where, err)
	}
	return text
}

// open loads url and waits for its body.
func (b *browser) open(t *testing.T, url string) {
	t.Helper()
	b.do(t, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible(pageBody))
	b.where = b.location(t)
}

// submit clicks sel and waits until the browser shows the next document
// (a form may post to its own address, so the address alone does not tell)
// and it is ready.
func (b *browser) submit(t *testing.T, what string, sel chromedp.CSS) {
	t.Helper()
	b.do(t, what, chromedp.WaitVisible(sel), chromedp.Evaluate[chromedp.Void](`window.leftBehind = true`), chromedp.Click(sel))
	deadline := time.Now().Add(30 * time.Second)
	for {
		old, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.leftBehind === true`))
		if err == nil && !old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still at %s", what, b.where)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.do(t, what+": the next page", chromedp.WaitReady(pageBody))
	b.where = b.location(t)
}

// login types the administrator's email where Microsoft's form asks for it
// (a page where the browser is signed in may not).
func (b *browser) login(t *testing.T) {
	t.Helper()
	hasLogin, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('input[name="login"]') !== null`))
	if err != nil {
		t.Fatalf("Microsoft's form at %s: %v", b.where, err)
	}
	if hasLogin {
		b.do(t, "type the login", chromedp.SetValue(chromedp.CSS(`input[name="login"]`), contosoAdmin))
	}
}

var acceptButton = chromedp.CSS(`button[name="decision"][value="accept"]`)

// consent is the Azure administrator from the invitation's link: the
// landing page's sign-in link, each of Microsoft's forms filled in and
// accepted, until the browser is back on the product's thank-you page,
// saved as shot.
func (b *browser) consent(t *testing.T, link, shot string) {
	t.Helper()
	b.open(t, link)
	wantText(t, "landing page in the browser", b.text(t), "Sign in with Microsoft")
	b.submit(t, "choose Sign in with Microsoft", chromedp.CSS(`a[href*="/oauth2/v2.0/authorize"]`))

	// Microsoft's pages: the sign-in, then admin consent (which may skip
	// the login: the browser is signed in).
	for i := 0; strings.HasPrefix(b.where, b.e.ep["microsoft"]); i++ {
		if i == 3 {
			t.Fatalf("still on Microsoft's pages after %d forms: %s", i, b.where)
		}
		b.do(t, "read Microsoft's form", chromedp.WaitVisible(acceptButton))
		b.login(t)
		b.submit(t, "accept", acceptButton)
	}
	text := b.text(t)
	if !strings.HasPrefix(b.where, b.e.api+"/consent/callback") {
		t.Fatalf("the walk-through ended at %s:\n%s", b.where, tail(text, 2000))
	}
	wantText(t, "thank-you page", text, "Thank you")
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, png, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("the walk-through's result page: %s", shot)
}

// adminCenter opens the checklist at link, follows its link sel to the
// Microsoft 365 admin center and accepts there, expecting done on the
// admin center's confirmation. With fragment, the link's fragment names
// the relationship after it; the page's script must have put that id in
// the form (a browser never sends a fragment).
func (b *browser) adminCenter(t *testing.T, link, sel, done, fragment string) {
	t.Helper()
	b.open(t, link)
	b.submit(t, "follow the checklist's link "+sel, chromedp.CSS(sel))
	if !strings.HasPrefix(b.where, b.e.ep["microsoft"]) {
		t.Fatalf("the checklist's link %s led to %s, not the Microsoft 365 admin center", sel, b.where)
	}
	if fragment != "" {
		want := b.where[strings.LastIndex(b.where, fragment)+len(fragment):]
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("relationshipId").value`))
		if err != nil {
			t.Fatalf("the approval form's relationship at %s: %v", b.where, err)
		}
		if want == "" || got != want {
			t.Fatalf("the approval page's script put relationship %q in the form, want %q from %s", got, want, b.where)
		}
	}
	b.login(t)
	b.submit(t, "accept in the admin center", acceptButton)
	wantText(t, "the admin center's confirmation", b.text(t), done)
}

// grantOwner grants the partner principal Owner on subscription sub with
// the button of the Microsoft double's page, as the ready screen says.
func (b *browser) grantOwner(t *testing.T, sub string) {
	t.Helper()
	b.open(t, b.e.ep["microsoft"]+"/_control")
	b.submit(t, "grant Owner on "+sub, chromedp.CSS(`form[action="/_control/owner"]:has(input[name="subscriptionId"][value="`+sub+`"]) button`))
	if row := b.text(t); !strings.Contains(row, sub) {
		t.Fatalf("the double's page after the grant lacks %s:\n%s", sub, tail(row, 2000))
	}
}
