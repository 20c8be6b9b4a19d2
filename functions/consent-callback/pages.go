package main

import (
	"strconv"
	"strings"
)

// The consent pages, written out as Go: each page is its HTML with every
// value escaped for where it goes, exactly as html/template escaped it in
// the templates these functions replace (the same bytes out;
// TestEscapingMatchesHTMLTemplate holds the escaping to html/template's).
//
// Hand-written on purpose, for the cold start. html/template cost this
// function about 0.1× of the minimal function's cold start (1.53× → 1.41×
// on the bench VM): its package init compiles regular expressions;
// text/template calls methods by name, so the linker keeps every exported
// method of every reachable type (a 3.6 MB larger binary); and the first
// page parsed and escaped its templates (47 KB, 490 allocations). The HTML
// libraries that avoid the parsing, templ and gomponents, both link
// html/template (templ adds regular expressions of its own at init), and
// measured they kept most of that cost. These pages need only the escaping
// of text and attribute values and a scheme check on links: escape,
// attrURL and normalizeURL below.

// layout writes every page: the partner's name above, the contact below,
// and the page's own content between.
func layout(b *strings.Builder, c chrome, content func(b *strings.Builder)) {
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>`)
	b.WriteString(escape(c.Title))
	b.WriteString(" | ")
	b.WriteString(escape(c.PartnerName))
	b.WriteString(`</title>
<style>
  body { font-family: "Segoe UI", Arial, Helvetica, sans-serif; color: #1b1b1b; background: #ffffff; line-height: 1.5; margin: 0; }
  .wrap { max-width: 44rem; margin: 0 auto; padding: 1.5rem; }
  header { border-bottom: 1px solid #c8c8c8; }
  header p { margin: 0; font-weight: 600; }
  h1 { font-size: 1.75rem; line-height: 1.25; }
  h2 { font-size: 1.25rem; margin-top: 2rem; }
  a { color: #0f4a85; }
  a:focus, .button:focus { outline: 3px solid #1b1b1b; outline-offset: 2px; }
  .button { display: inline-block; background: #0f4a85; color: #ffffff; padding: 0.75rem 1.25rem; border-radius: 4px; text-decoration: none; font-weight: 600; }
  .button:hover { background: #0a335c; }
  .note { background: #f3f3f3; border-left: 4px solid #0f4a85; padding: 0.75rem 1rem; }
  code { font-family: Consolas, "Courier New", monospace; background: #f3f3f3; padding: 0 0.25rem; word-break: break-all; }
  .steps { padding-left: 1.25rem; }
  .step { margin-bottom: 1.25rem; }
  .step h3 { margin-bottom: 0.25rem; }
  .step .status { margin-top: 0; }
  .step.done .status strong { color: #0b6a0b; }
  .step.failed .status strong { color: #a4262c; }
  .who { color: #3b3b3b; }
  footer { border-top: 1px solid #c8c8c8; color: #3b3b3b; font-size: 0.9rem; }
</style>
</head>
<body>
<header><div class="wrap"><p>`)
	b.WriteString(escape(c.PartnerName))
	b.WriteString(`</p></div></header>
<main id="main"><div class="wrap">
`)
	content(b)
	b.WriteString(`
</div></main>
<footer><div class="wrap">
<p>Questions? Write to <a href="mailto:`)
	// After "mailto:" the address is the rest of a URL: normalized, not
	// checked for a scheme.
	b.WriteString(escape(normalizeURL(c.ContactEmail)))
	b.WriteString(`">`)
	b.WriteString(escape(c.ContactEmail))
	b.WriteString(`</a>`)
	if c.RequestID != "" {
		b.WriteString(` and mention reference <code>`)
		b.WriteString(escape(c.RequestID))
		b.WriteString(`</code>`)
	}
	b.WriteString(`.</p>
</div></footer>
</body>
</html>`)
}

// messagePage is a plain page: a heading, paragraphs, what to do, and an
// error code reported by Microsoft.
func messagePage(d messageData) string {
	var b strings.Builder
	layout(&b, d.chrome, func(b *strings.Builder) {
		b.WriteString("\n<h1>")
		b.WriteString(escape(d.Heading))
		b.WriteString("</h1>\n")
		for _, p := range d.Paragraphs {
			b.WriteString("<p>")
			b.WriteString(escape(p))
			b.WriteString("</p>\n")
		}
		if len(d.Steps) > 0 {
			b.WriteString("<h2>What you can do</h2>\n<ul>\n")
			for _, s := range d.Steps {
				b.WriteString("  <li>")
				b.WriteString(escape(s))
				b.WriteString("</li>\n")
			}
			b.WriteString("</ul>\n")
		}
		if d.Code != "" {
			b.WriteString("<p>Error code reported by Microsoft: <code>")
			b.WriteString(escape(d.Code))
			b.WriteString("</code></p>\n")
		}
	})
	return b.String()
}

// landingPage is the checklist behind the email link.
func landingPage(d landingData) string {
	var b strings.Builder
	layout(&b, d.chrome, func(b *strings.Builder) {
		partner := escape(d.PartnerName)
		b.WriteString("\n<h1>Move ")
		b.WriteString(escape(d.OrgName))
		b.WriteString("'s Azure account to ")
		b.WriteString(partner)
		b.WriteString("</h1>\n")
		if d.Consented {
			b.WriteString("<p>Thank you: you signed in and authorized ")
			b.WriteString(partner)
			b.WriteString("'s application. ")
			switch d.Remaining {
			case 0:
				b.WriteString("Every step is done; ")
				b.WriteString(partner)
				b.WriteString(" is completing the move.")
			case 1:
				b.WriteString("1 step remains; this page shows each as Microsoft last reported it. Come back to it at any time.")
			default:
				b.WriteString(strconv.Itoa(d.Remaining))
				b.WriteString(" steps remain; this page shows each as Microsoft last reported it. Come back to it at any time.")
			}
			b.WriteString("</p>\n")
		} else {
			b.WriteString("<p>")
			b.WriteString(escape(d.Requester))
			b.WriteString(" asked to move ")
			b.WriteString(escape(d.OrgName))
			b.WriteString("'s Azure customer account under ")
			b.WriteString(partner)
			b.WriteString("'s care. As the Azure administrator, you can approve it here. Nothing changes until the steps below are done, and each is confirmed with Microsoft, not by this page.</p>\n")
		}
		b.WriteString("\n<h2>Your checklist</h2>\n<ol class=\"steps\">\n")
		for _, s := range d.Steps {
			checklistItem(b, s)
		}
		b.WriteString("</ol>\n\n<h2>What ")
		b.WriteString(partner)
		b.WriteString(" will get</h2>\n<ul>\n  <li>A reseller (Cloud Solution Provider) relationship with your organization, so Azure usage is billed through ")
		b.WriteString(partner)
		b.WriteString(" from the moment the move completes.</li>\n  <li>A time-limited admin relationship with least-privilege roles, so ")
		b.WriteString(partner)
		b.WriteString(" can support you.</li>\n  <li>Permission for ")
		b.WriteString(escape(d.AppName))
		b.WriteString(" to sign in to your Azure tenant and read your subscriptions and their role assignments, and Owner access on the subscriptions to be moved.</li>\n</ul>\n\n<h2>Subscriptions to be moved</h2>\n")
		if len(d.Subscriptions) > 0 {
			b.WriteString("<ul>\n")
			for _, s := range d.Subscriptions {
				b.WriteString("  <li><code>")
				b.WriteString(escape(s))
				b.WriteString("</code></li>\n")
			}
			b.WriteString("</ul>")
		} else {
			b.WriteString("<p>No subscriptions were named: every subscription in your tenant that you grant access to.</p>")
		}
		b.WriteString("\n\n")
		if d.Consented {
			if d.DeadlineText != "" {
				b.WriteString("<p class=\"note\">The move stops if these steps are not done by ")
				b.WriteString(escape(d.DeadlineText))
				b.WriteString(".</p>")
			}
			b.WriteString("\n")
		} else {
			b.WriteString("<p class=\"note\">This link expires on ")
			b.WriteString(escape(d.ExpiresText))
			b.WriteString(". If you do not want to approve the move, choose <strong>Cancel</strong> on Microsoft's sign-in page, or simply ignore the email.</p>")
		}
		b.WriteString("\n")
	})
	return b.String()
}

// checklistItem writes one step of the checklist: its state as Microsoft
// last reported it, and while it is to do, who does it and where.
func checklistItem(b *strings.Builder, s checklistStep) {
	class, status := "", "To do"
	switch {
	case s.Done:
		class, status = " done", "Done"
	case s.Failed:
		class, status = " failed", "Did not succeed"
	}
	b.WriteString("  <li class=\"step")
	b.WriteString(class)
	b.WriteString("\">\n    <h3>")
	b.WriteString(escape(s.Title))
	b.WriteString("</h3>\n    <p class=\"status\"><strong>")
	b.WriteString(status)
	b.WriteString("</strong>")
	if s.State != "" {
		b.WriteString(" &middot; Microsoft reports: <code>")
		b.WriteString(escape(s.State))
		b.WriteString("</code>")
	}
	if s.ObservedText != "" {
		b.WriteString(" &middot; checked ")
		b.WriteString(escape(s.ObservedText))
	}
	b.WriteString("</p>\n    ")
	if !s.Done {
		b.WriteString("<p>")
		b.WriteString(escape(s.Detail))
		b.WriteString("</p>\n    <p class=\"who\">Who: ")
		b.WriteString(escape(s.Who))
		b.WriteString(".</p>\n    ")
		if s.Link != "" {
			b.WriteString("<p><a class=\"button\" href=\"")
			b.WriteString(attrURL(s.Link))
			b.WriteString("\">")
			b.WriteString(escape(s.LinkText))
			b.WriteString("</a></p>")
		}
	}
	b.WriteString("\n  </li>\n")
}

// consentedPage is the thank-you page after the consent.
func consentedPage(d consentedData) string {
	var b strings.Builder
	layout(&b, d.chrome, func(b *strings.Builder) {
		partner, principal := escape(d.PartnerName), escape(d.Principal)
		b.WriteString("\n<h1>Thank you</h1>\n<p>You authorized ")
		b.WriteString(partner)
		b.WriteString("'s application in your Azure tenant <code>")
		b.WriteString(escape(d.TenantID))
		b.WriteString("</code>")
		if d.OrgName != "" {
			b.WriteString(" for ")
			b.WriteString(escape(d.OrgName))
		}
		b.WriteString(".</p>\n\n<h2>What happens next</h2>\n<ol>\n  <li>")
		if d.Done {
			b.WriteString("\n    <p>The principal ")
			b.WriteString(principal)
			b.WriteString(" already holds the <strong>Owner</strong> role on every subscription to be moved: there is nothing left to grant.</p>")
		} else {
			switch {
			case len(d.Missing) > 0:
				b.WriteString("\n    <p>Grant the <strong>Owner</strong> role to the principal ")
				b.WriteString(principal)
				b.WriteString(" on ")
				b.WriteString(escape(d.MissingText))
				b.WriteString(":</p>\n    <ul>\n")
				for _, m := range d.Missing {
					b.WriteString("      <li>")
					b.WriteString(escape(m))
					b.WriteString("</li>\n")
				}
				b.WriteString("    </ul>")
			case !d.Named:
				b.WriteString("\n    <p>Grant the <strong>Owner</strong> role to the principal ")
				b.WriteString(principal)
				b.WriteString(" on every subscription to be moved.</p>")
			}
			if d.NotFound != "" {
				b.WriteString("\n    <p>")
				b.WriteString(escape(d.NotFound))
				b.WriteString("</p>")
			}
			b.WriteString("\n    <p>In the Azure portal: open the subscription, choose <strong>Access control (IAM) &gt; Add role assignment</strong>, pick <strong>Owner</strong>, and select that principal.</p>")
			if d.Deadline != "" {
				b.WriteString("\n    <p>The move fails if this is not done by ")
				b.WriteString(escape(d.Deadline))
				b.WriteString(".</p>")
			}
		}
		b.WriteString("\n  </li>\n  <li><p>")
		b.WriteString(partner)
		b.WriteString(" checks the Owner access regularly. As soon as every subscription is covered, the move completes and billing is consolidated.</p></li>\n  <li><p>")
		b.WriteString(partner)
		b.WriteString("'s representatives will contact you to guide you through these steps.</p></li>\n</ol>\n<p>You can close this page.</p>\n")
	})
	return b.String()
}

// escape escapes a value for HTML text or a quoted attribute as
// html/template does: & < > " ' + as entities, NUL as U+FFFD.
func escape(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		b.WriteString(repl)
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

// attrURL is a link's target for an href attribute, as html/template
// wrote it: "#ZgotmplZ" unless its scheme is http, https or mailto (a link
// from Microsoft's answers cannot run script in the page), normalized,
// escaped.
func attrURL(u string) string {
	if scheme, _, ok := strings.Cut(u, ":"); ok && !strings.Contains(scheme, "/") &&
		!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
		return "#ZgotmplZ"
	}
	return escape(normalizeURL(u))
}

// normalizeURL percent-encodes the bytes a URL may not hold as they are
// (html/template's normalization): unreserved characters, reserved
// delimiters and valid %-escapes stay; the rest, the quote and parentheses
// included, becomes %xx.
func normalizeURL(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
		b.WriteString(strconv.FormatUint(uint64(c)&0xf, 16))
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
