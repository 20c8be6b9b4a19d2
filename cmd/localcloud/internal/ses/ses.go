// Package ses emulates SES v2 for the local cloud: SendEmail, and the
// account and identity calls the AWS CLI and tooling make (identities.go).
//
// The API handler (APIHandler) accepts `POST /v2/email/outbound-emails` in the
// REST-JSON shape the aws-sdk-go-v2 sesv2 client sends, with Simple content
// (subject, text and HTML bodies, custom headers, attachments) or Raw content,
// and answers `{"MessageId":"..."}`. Every accepted message is written as a
// standard RFC 5322 `.eml` file in the outbox folder (multipart/alternative
// text and HTML for Simple content, the bytes as sent for Raw content) and
// printed to the console writer with the links it contains.
//
// The page handler (PageHandler) shows the outbox: an HTML page listing the
// messages newest first with their links, `GET /messages` as JSON for tests
// and scripts, `GET /messages/{id}.eml` for the raw file, `DELETE /messages`
// to empty the outbox, and `/_control/faults` to switch fault injection
// (TooManyRequestsException for the next N calls, MessageRejected for chosen
// recipients). Faults are off by default.
package ses

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configures an Outbox.
type Options struct {
	// Dir is the outbox folder; it is created if missing and messages
	// already in it are listed. Required.
	Dir string
	// Console receives a short report of every message with its links;
	// nil means no console output.
	Console io.Writer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Identities are the verified sending identities (domains or
	// addresses) GetEmailIdentity and ListEmailIdentities report.
	Identities []string
}

// Message is one message in the outbox, as listed by `GET /messages`.
type Message struct {
	// ID is the SES MessageId returned to the sender.
	ID      string    `json:"id"`
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Cc      []string  `json:"cc,omitempty"`
	Bcc     []string  `json:"bcc,omitempty"`
	ReplyTo []string  `json:"replyTo,omitempty"`
	Subject string    `json:"subject"`
	Date    time.Time `json:"date"`
	// Links are the http(s) URLs found in the text and HTML bodies, in order
	// of appearance, without duplicates.
	Links []string `json:"links"`
	Text  string   `json:"text"`
	HTML  string   `json:"html"`
	// Tags are the EmailTags of the SendEmail call (empty for messages
	// loaded from the folder at start-up).
	Tags map[string]string `json:"tags,omitempty"`
	// File is the path of the .eml file.
	File string `json:"file"`
}

// Outbox stores sent messages and serves the SES API and the outbox page.
// It is safe for concurrent use.
type Outbox struct {
	dir        string
	console    io.Writer
	now        func() time.Time
	identities []string

	mu       sync.Mutex
	messages []*Message // oldest first
	throttle int
	rejected map[string]bool
	calls    int64
}

// NewOutbox makes an Outbox in opts.Dir, loading the .eml files already there.
func NewOutbox(opts Options) (*Outbox, error) {
	if opts.Dir == "" {
		return nil, errors.New("ses: outbox folder not set")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("ses: create outbox folder: %w", err)
	}
	o := &Outbox{dir: opts.Dir, console: opts.Console, now: opts.Now, rejected: map[string]bool{},
		identities: append([]string{}, opts.Identities...)}
	if o.now == nil {
		o.now = time.Now
	}
	files, err := filepath.Glob(filepath.Join(opts.Dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("ses: read %s: %w", f, err)
		}
		m, err := parseMessage(raw)
		if err != nil {
			// A foreign or broken file in the folder is listed by name only.
			m = &Message{Subject: "(unreadable: " + err.Error() + ")"}
		}
		base := strings.TrimSuffix(filepath.Base(f), ".eml")
		if _, id, ok := strings.Cut(base, "_"); ok {
			m.ID = id
		} else {
			m.ID = base
		}
		m.File = f
		o.messages = append(o.messages, m)
	}
	return o, nil
}

// Messages returns the messages, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, 0, len(o.messages))
	for i := len(o.messages) - 1; i >= 0; i-- {
		out = append(out, *o.messages[i])
	}
	return out
}

// Calls returns the number of SendEmail calls received, faulted ones included.
func (o *Outbox) Calls() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

// ThrottleNext makes the next n SendEmail calls fail with
// TooManyRequestsException (HTTP 429). n = 0 switches throttling off.
func (o *Outbox) ThrottleNext(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttle = n
}

// Reject makes SendEmail fail with MessageRejected (HTTP 400) whenever addr
// is among the recipients. Addresses compare case-insensitively.
func (o *Outbox) Reject(addr string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rejected[strings.ToLower(addr)] = true
}

// ClearFaults switches every fault off.
func (o *Outbox) ClearFaults() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttle = 0
	o.rejected = map[string]bool{}
}

// Clear deletes every message and its file.
func (o *Outbox) Clear() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for _, m := range o.messages {
		if err := os.Remove(m.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	o.messages = nil
	return errors.Join(errs...)
}

// Faults describes the fault switches, as read and written on /_control/faults.
type Faults struct {
	// Throttle is the number of coming calls answered with 429.
	Throttle int `json:"throttle"`
	// Reject lists recipients answered with MessageRejected.
	Reject []string `json:"reject"`
	// Off, when true in a request, switches every fault off first.
	Off bool `json:"off,omitempty"`
}

func (o *Outbox) faults() Faults {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := Faults{Throttle: o.throttle, Reject: []string{}}
	for a := range o.rejected {
		f.Reject = append(f.Reject, a)
	}
	sort.Strings(f.Reject)
	return f
}

// sesError is an SES v2 REST-JSON error.
type sesError struct {
	status int
	code   string
	msg    string
}

func (e *sesError) Error() string { return e.code + ": " + e.msg }

func badRequest(format string, a ...any) *sesError {
	return &sesError{http.StatusBadRequest, "BadRequestException", fmt.Sprintf(format, a...)}
}

func writeSESError(w http.ResponseWriter, e *sesError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.msg})
}

// sendEmailInput is the SendEmail request body.
type sendEmailInput struct {
	FromEmailAddress string   `json:"FromEmailAddress"`
	ReplyToAddresses []string `json:"ReplyToAddresses"`
	Destination      *struct {
		ToAddresses  []string `json:"ToAddresses"`
		CcAddresses  []string `json:"CcAddresses"`
		BccAddresses []string `json:"BccAddresses"`
	} `json:"Destination"`
	Content struct {
		Simple *struct {
			Subject *content `json:"Subject"`
			Body    *struct {
				Text *content `json:"Text"`
				HTML *content `json:"Html"`
			} `json:"Body"`
			Headers     []header     `json:"Headers"`
			Attachments []attachment `json:"Attachments"`
		} `json:"Simple"`
		Raw *struct {
			Data []byte `json:"Data"`
		} `json:"Raw"`
		Template *json.RawMessage `json:"Template"`
	} `json:"Content"`
	EmailTags []header `json:"EmailTags"`
}

type content struct {
	Data    string `json:"Data"`
	Charset string `json:"Charset"`
}

type header struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type attachment struct {
	RawContent         []byte `json:"RawContent"`
	FileName           string `json:"FileName"`
	ContentType        string `json:"ContentType"`
	ContentDisposition string `json:"ContentDisposition"`
	ContentID          string `json:"ContentId"`
	ContentDescription string `json:"ContentDescription"`
}

// APIHandler serves the SES v2 API: SendEmail (`POST
// /v2/email/outbound-emails`), GetAccount (`GET /v2/email/account`),
// ListEmailIdentities (`GET /v2/email/identities`) and GetEmailIdentity
// (`GET /v2/email/identities/{EmailIdentity}`).
func (o *Outbox) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const identities = "/v2/email/identities"
		path := r.URL.EscapedPath()
		switch {
		case r.Method == http.MethodGet && path == "/v2/email/account":
			o.getAccount(w)
			return
		case r.Method == http.MethodGet && path == identities:
			o.listEmailIdentities(w, r.URL.Query())
			return
		case r.Method == http.MethodGet && strings.HasPrefix(path, identities+"/"):
			name, err := url.PathUnescape(strings.TrimPrefix(path, identities+"/"))
			if err != nil || name == "" || strings.Contains(name, "/") {
				writeSESError(w, badRequest("invalid EmailIdentity"))
				return
			}
			o.getEmailIdentity(w, name)
			return
		case path != "/v2/email/outbound-emails":
			writeSESError(w, &sesError{http.StatusNotFound, "NotFoundException",
				"the local SES serves SendEmail, GetAccount, ListEmailIdentities and GetEmailIdentity; not " + r.Method + " " + path})
			return
		}
		if r.Method != http.MethodPost {
			writeSESError(w, &sesError{http.StatusMethodNotAllowed, "BadRequestException", "SendEmail takes POST"})
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 40<<20))
		if err != nil {
			writeSESError(w, badRequest("could not read the request body"))
			return
		}
		var in sendEmailInput
		if err := json.Unmarshal(body, &in); err != nil {
			writeSESError(w, badRequest("could not parse the request body: %v", err))
			return
		}
		id, err := o.send(&in)
		if err != nil {
			var se *sesError
			if !errors.As(err, &se) {
				se = &sesError{http.StatusInternalServerError, "InternalServiceErrorException", "the local SES could not store the message"}
				fmt.Fprintf(o.consoleOrDiscard(), "ses: store message: %v\n", err)
			}
			writeSESError(w, se)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": id})
	})
}

func (o *Outbox) consoleOrDiscard() io.Writer {
	if o.console == nil {
		return io.Discard
	}
	return o.console
}

// send validates, applies faults, builds or takes the message, and stores it.
func (o *Outbox) send(in *sendEmailInput) (string, error) {
	o.mu.Lock()
	o.calls++
	throttled := o.throttle > 0
	if throttled {
		o.throttle--
	}
	o.mu.Unlock()
	if throttled {
		return "", &sesError{http.StatusTooManyRequests, "TooManyRequestsException", "Too many requests have been made to the operation."}
	}

	c := in.Content
	n := 0
	for _, set := range []bool{c.Simple != nil, c.Raw != nil, c.Template != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return "", badRequest("Content must contain exactly one of Simple, Raw or Template.")
	case c.Template != nil:
		return "", badRequest("Template content is not supported by the local SES; send Simple or Raw content.")
	}

	now := o.now().UTC()
	id := newMessageID(now)
	var to, cc, bcc []string
	if in.Destination != nil {
		to, cc, bcc = in.Destination.ToAddresses, in.Destination.CcAddresses, in.Destination.BccAddresses
	}
	var raw []byte
	var err error
	if c.Simple != nil {
		if in.FromEmailAddress == "" {
			return "", badRequest("Missing required field FromEmailAddress.")
		}
		if len(to)+len(cc)+len(bcc) == 0 {
			return "", badRequest("Missing required field Destination: the message has no recipients.")
		}
		raw, err = buildSimple(in, id, now)
		if err != nil {
			return "", err
		}
	} else {
		raw = c.Raw.Data
		if len(raw) == 0 {
			return "", badRequest("Raw message data is empty.")
		}
	}
	msg, err := parseMessage(raw)
	if err != nil {
		return "", &sesError{http.StatusBadRequest, "MessageRejected", "Could not parse the message: " + err.Error()}
	}
	if c.Raw != nil && in.Destination == nil {
		// Without a Destination, SES sends to the recipients in the headers.
		to, cc = msg.To, msg.Cc
		if len(to)+len(cc) == 0 {
			return "", badRequest("Missing required field Destination: the message has no recipients.")
		}
	}
	if in.FromEmailAddress != "" {
		msg.From = in.FromEmailAddress
	}
	if msg.From == "" {
		return "", badRequest("Missing required field FromEmailAddress.")
	}
	msg.ID, msg.To, msg.Cc, msg.Bcc = id, to, cc, bcc
	if msg.To == nil {
		msg.To = []string{}
	}
	if msg.Date.IsZero() {
		msg.Date = now
	}
	if len(in.ReplyToAddresses) > 0 {
		msg.ReplyTo = in.ReplyToAddresses
	}
	if len(in.EmailTags) > 0 {
		msg.Tags = map[string]string{}
		for _, t := range in.EmailTags {
			msg.Tags[t.Name] = t.Value
		}
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range append(append(append([]string{}, to...), cc...), bcc...) {
		if o.rejected[strings.ToLower(bareAddress(a))] {
			return "", &sesError{http.StatusBadRequest, "MessageRejected", fmt.Sprintf("Email address is not verified. The following identities failed the check in region US-EAST-1: %s", a)}
		}
	}
	msg.File = filepath.Join(o.dir, now.Format("20060102T150405.000000000Z")+"_"+id+".eml")
	if err := os.WriteFile(msg.File, raw, 0o644); err != nil {
		return "", err
	}
	o.messages = append(o.messages, msg)
	o.print(msg)
	return id, nil
}

func (o *Outbox) print(m *Message) {
	if o.console == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ses: email %s to %s: %q\n", m.ID, strings.Join(m.To, ", "), m.Subject)
	for _, l := range m.Links {
		fmt.Fprintf(&b, "ses:   link %s\n", l)
	}
	fmt.Fprintf(&b, "ses:   file %s\n", m.File)
	_, _ = io.WriteString(o.console, b.String())
}

// newMessageID makes an id shaped like SES's
// (`<16 hex digits>-<uuid>-000000`).
func newMessageID(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%016x-%s-%s-%s-%s-%s-000000", now.UnixMilli()|0x0100000000000000, h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func bareAddress(a string) string {
	if p, err := mail.ParseAddress(a); err == nil {
		return p.Address
	}
	return a
}

// formatAddresses validates addresses and renders them for a header,
// encoding non-ASCII display names as RFC 2047 requires.
func formatAddresses(field string, list []string) (string, error) {
	out := make([]string, 0, len(list))
	for _, a := range list {
		p, err := mail.ParseAddress(a)
		if err != nil {
			return "", badRequest("Invalid address in %s: %q: %v", field, a, err)
		}
		out = append(out, p.String())
	}
	return strings.Join(out, ", "), nil
}

// buildSimple renders Simple content as an RFC 5322 message:
// multipart/alternative (text, HTML), inside multipart/mixed when there are
// attachments.
func buildSimple(in *sendEmailInput, id string, now time.Time) ([]byte, error) {
	s := in.Content.Simple
	if s.Subject == nil {
		return nil, badRequest("Missing required field Subject.")
	}
	if s.Body == nil || (s.Body.Text == nil && s.Body.HTML == nil) {
		return nil, badRequest("Missing required field Body: provide Text, Html or both.")
	}
	var buf bytes.Buffer
	hdr := func(name, value string) { fmt.Fprintf(&buf, "%s: %s\r\n", name, value) }

	from, err := formatAddresses("FromEmailAddress", []string{in.FromEmailAddress})
	if err != nil {
		return nil, err
	}
	hdr("From", from)
	for _, f := range []struct {
		name string
		list []string
	}{{"To", in.Destination.ToAddresses}, {"Cc", in.Destination.CcAddresses}, {"Reply-To", in.ReplyToAddresses}} {
		if len(f.list) == 0 {
			continue
		}
		v, err := formatAddresses(f.name, f.list)
		if err != nil {
			return nil, err
		}
		hdr(f.name, v)
	}
	if _, err := formatAddresses("BccAddresses", in.Destination.BccAddresses); err != nil {
		return nil, err
	}
	hdr("Subject", mime.QEncoding.Encode("UTF-8", s.Subject.Data))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+id+"@email.amazonses.com>")
	hdr("MIME-Version", "1.0")
	for _, h := range s.Headers {
		if strings.ContainsAny(h.Name, ":\r\n") || strings.ContainsAny(h.Value, "\r\n") {
			return nil, badRequest("Invalid header %q.", h.Name)
		}
		hdr(textproto.CanonicalMIMEHeaderKey(h.Name), mime.QEncoding.Encode("UTF-8", h.Value))
	}

	var alt bytes.Buffer
	altW := multipart.NewWriter(&alt)
	if s.Body.Text != nil {
		if err := writeTextPart(altW, "text/plain", s.Body.Text.Data); err != nil {
			return nil, err
		}
	}
	if s.Body.HTML != nil {
		if err := writeTextPart(altW, "text/html", s.Body.HTML.Data); err != nil {
			return nil, err
		}
	}
	if err := altW.Close(); err != nil {
		return nil, err
	}
	altType := "multipart/alternative; boundary=\"" + altW.Boundary() + "\""
	if len(s.Attachments) == 0 {
		hdr("Content-Type", altType)
		buf.WriteString("\r\n")
		buf.Write(alt.Bytes())
		return buf.Bytes(), nil
	}

	var body bytes.Buffer
	mixed := multipart.NewWriter(&body)
	pw, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {altType}})
	if err != nil {
		return nil, err
	}
	_, _ = pw.Write(alt.Bytes())
	for _, a := range s.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = mime.TypeByExtension(filepath.Ext(a.FileName))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		disp := strings.ToLower(a.ContentDisposition)
		if disp == "" {
			disp = "attachment"
		}
		h := textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": a.FileName})},
			"Content-Disposition":       {mime.FormatMediaType(disp, map[string]string{"filename": a.FileName})},
			"Content-Transfer-Encoding": {"base64"},
		}
		if a.ContentID != "" {
			h.Set("Content-ID", "<"+strings.Trim(a.ContentID, "<>")+">")
		}
		if a.ContentDescription != "" {
			h.Set("Content-Description", mime.QEncoding.Encode("UTF-8", a.ContentDescription))
		}
		pw, err := mixed.CreatePart(h)
		if err != nil {
			return nil, err
		}
		writeBase64Lines(pw, a.RawContent)
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	hdr("Content-Type", "multipart/mixed; boundary=\""+mixed.Boundary()+"\"")
	buf.WriteString("\r\n")
	buf.Write(body.Bytes())
	return buf.Bytes(), nil
}

func writeTextPart(w *multipart.Writer, ct, data string) error {
	pw, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ct + "; charset=UTF-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := io.WriteString(qp, data); err != nil {
		return err
	}
	return qp.Close()
}

func writeBase64Lines(w io.Writer, data []byte) {
	const line = 76
	enc := []byte(base64.StdEncoding.EncodeToString(data))
	for len(enc) > line {
		_, _ = w.Write(enc[:line])
		_, _ = w.Write([]byte("\r\n"))
		enc = enc[line:]
	}
	_, _ = w.Write(enc)
	_, _ = w.Write([]byte("\r\n"))
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"'\x60]+`)
var hrefPattern = regexp.MustCompile(`(?i)href\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// extractLinks returns the http(s) links in text and html, in order, unique.
func extractLinks(text, htmlBody string) []string {
	seen := map[string]bool{}
	out := []string{}
	add := func(l string) {
		l = strings.TrimRight(l, ".,;:!?)]}")
		if l == "" || seen[l] || !(strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")) {
			return
		}
		seen[l] = true
		out = append(out, l)
	}
	for _, l := range linkPattern.FindAllString(text, -1) {
		add(l)
	}
	for _, m := range hrefPattern.FindAllStringSubmatch(htmlBody, -1) {
		add(html.UnescapeString(m[1] + m[2]))
	}
	for _, l := range linkPattern.FindAllString(htmlBody, -1) {
		add(html.UnescapeString(l))
	}
	return out
}
