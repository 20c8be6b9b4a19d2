package ses

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	outbox  *Outbox
	client  *sesv2.Client
	pageURL string
	console *syncBuffer
	dir     string
}

func newFixture(t *testing.T, maxAttempts int) *fixture {
	t.Helper()
	dir := t.TempDir()
	console := &syncBuffer{}
	o, err := NewOutbox(Options{Dir: dir, Console: console})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(o.APIHandler())
	t.Cleanup(api.Close)
	page := httptest.NewServer(o.PageHandler())
	t.Cleanup(page.Close)
	client := sesv2.New(sesv2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(api.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret-key", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = time.Millisecond
		}),
	})
	return &fixture{outbox: o, client: client, pageURL: page.URL, console: console, dir: dir}
}

func (f *fixture) listMessages(t *testing.T) []Message {
	t.Helper()
	resp, err := http.Get(f.pageURL + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []Message
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func simpleInput(to, subject, text, html string) *sesv2.SendEmailInput {
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Partner Cloud <no-reply@partnercloud.example>"),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")},
			},
		}},
	}
}

func TestSendSimpleStoresMultipartEML(t *testing.T) {
	f := newFixture(t, 1)
	link := "http://127.0.0.1:3000/consent/abc123?x=1&y=2"
	in := simpleInput("admin@contoso.example", "Authorize Partner — Contoso",
		"Hello,\nopen "+link+" to authorize.\n",
		`<p>Hello, <a href="http://127.0.0.1:3000/consent/abc123?x=1&amp;y=2">authorize</a></p>`)
	out, err := f.client.SendEmail(context.Background(), in)
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	id := aws.ToString(out.MessageId)
	if !strings.HasSuffix(id, "-000000") || len(id) < 40 {
		t.Fatalf("MessageId %q is not SES-shaped", id)
	}

	msgs := f.listMessages(t)
	if len(msgs) != 1 {
		t.Fatalf("listed %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != id || m.Subject != "Authorize Partner — Contoso" || len(m.To) != 1 || m.To[0] != "admin@contoso.example" {
		t.Fatalf("listed message = %+v", m)
	}
	if len(m.Links) != 1 || m.Links[0] != link {
		t.Fatalf("links = %q, want [%q]", m.Links, link)
	}
	if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, "<a href=") {
		t.Fatalf("bodies not kept: text=%q html=%q", m.Text, m.HTML)
	}

	// The stored file is a standard multipart/alternative message.
	resp, err := http.Get(f.pageURL + "/messages/" + id + ".eml")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "message/rfc822" {
		t.Fatalf("raw Content-Type = %q", ct)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("stored .eml does not parse: %v", err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if subject != "Authorize Partner — Contoso" {
		t.Fatalf("Subject header decodes to %q", subject)
	}
	mt, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v)", parsed.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(parsed.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Fatalf("parts = %v", types)
	}
	for _, h := range []string{"From", "To", "Date", "Message-Id", "Mime-Version"} {
		if parsed.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}

	if c := f.console.String(); !strings.Contains(c, id) || !strings.Contains(c, "link "+link) {
		t.Fatalf("console output lacks the message or its link:\n%s", c)
	}

	page, err := http.Get(f.pageURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "Authorize Partner — Contoso") || !strings.Contains(string(body), id+".eml") {
		t.Fatalf("outbox page lacks the message:\n%s", body)
	}
}

func TestSendRawKeepsBytes(t *testing.T) {
	f := newFixture(t, 1)
	raw := "From: sender@partnercloud.example\r\n" +
		"To: Ops <ops@partnercloud.example>\r\n" +
		"Subject: =?UTF-8?Q?Raw_=E2=9C=93?=\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"\r\n" +
		"See https://example.com/path.\r\n"
	out, err := f.client.SendEmail(context.Background(), &sesv2.SendEmailInput{
		Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte(raw)}},
	})
	if err != nil {
		t.Fatalf("SendEmail raw: %v", err)
	}
	msgs := f.outbox.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	stored, err := os.ReadFile(m.File)
	if err != nil || string(stored) != raw {
		t.Fatalf("stored bytes differ: %q (%v)", stored, err)
	}
	if m.ID != aws.ToString(out.MessageId) || m.Subject != "Raw ✓" || m.To[0] != "Ops <ops@partnercloud.example>" {
		t.Fatalf("message = %+v", m)
	}
	if len(m.Links) != 1 || m.Links[0] != "https://example.com/path" {
		t.Fatalf("links = %q", m.Links)
	}
}

func TestNewestFirstAndReload(t *testing.T) {
	f := newFixture(t, 1)
	for _, s := range []string{"first", "second", "third"} {
		if _, err := f.client.SendEmail(context.Background(), simpleInput("a@example.com", s, s, "<p>"+s+"</p>")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	var subjects []string
	for _, m := range f.listMessages(t) {
		subjects = append(subjects, m.Subject)
	}
	if strings.Join(subjects, ",") != "third,second,first" {
		t.Fatalf("order = %v", subjects)
	}
	reloaded, err := NewOutbox(Options{Dir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	got := reloaded.Messages()
	if len(got) != 3 || got[0].Subject != "third" || got[0].ID != f.outbox.Messages()[0].ID {
		t.Fatalf("reloaded = %+v", got)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		set     Faults
		to      string
		check   func(error) bool
		wantErr string
	}{
		{"throttled", Faults{Throttle: 2}, "a@example.com", func(err error) bool {
			var e *types.TooManyRequestsException
			return errors.As(err, &e)
		}, "TooManyRequestsException"},
		{"rejected address", Faults{Reject: []string{"Blocked@Example.com"}}, "blocked@example.com", func(err error) bool {
			var e *types.MessageRejected
			return errors.As(err, &e)
		}, "MessageRejected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1)
			body, _ := json.Marshal(tc.set)
			resp, err := http.Post(f.pageURL+"/_control/faults", "application/json", bytes.NewReader(body))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("set faults: %v %v", resp, err)
			}
			resp.Body.Close()
			_, err = f.client.SendEmail(context.Background(), simpleInput(tc.to, "s", "t", "<p>h</p>"))
			if err == nil || !tc.check(err) {
				t.Fatalf("error = %v, want %s", err, tc.wantErr)
			}
			if len(f.outbox.Messages()) != 0 {
				t.Fatal("a faulted message was stored")
			}
			// Other recipients still go through once throttling is used up.
			if tc.set.Throttle > 0 {
				if _, err := f.client.SendEmail(context.Background(), simpleInput(tc.to, "s", "t", "h")); err == nil {
					t.Fatal("second call should still be throttled")
				}
			}
			if _, err := f.client.SendEmail(context.Background(), simpleInput("other@example.com", "s", "t", "h")); err != nil {
				t.Fatalf("after fault: %v", err)
			}
		})
	}
}

func TestThrottleRetriedBySDK(t *testing.T) {
	f := newFixture(t, 3)
	f.outbox.ThrottleNext(2)
	if _, err := f.client.SendEmail(context.Background(), simpleInput("a@example.com", "s", "t", "h")); err != nil {
		t.Fatalf("SDK did not retry through throttling: %v", err)
	}
	if got := f.outbox.Calls(); got != 3 {
		t.Fatalf("calls = %d, want 3", got)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, 1)
	tests := []struct {
		name string
		in   *sesv2.SendEmailInput
	}{
		{"no recipients", &sesv2.SendEmailInput{
			FromEmailAddress: aws.String("a@example.com"),
			Content: &types.EmailContent{Simple: &types.Message{
				Subject: &types.Content{Data: aws.String("s")},
				Body:    &types.Body{Text: &types.Content{Data: aws.String("t")}},
			}},
		}},
		{"bad address", simpleInput("not an address", "s", "t", "h")},
		{"template", &sesv2.SendEmailInput{
			FromEmailAddress: aws.String("a@example.com"),
			Destination:      &types.Destination{ToAddresses: []string{"b@example.com"}},
			Content:          &types.EmailContent{Template: &types.Template{TemplateName: aws.String("x")}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.SendEmail(context.Background(), tc.in)
			var e *types.BadRequestException
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want BadRequestException", err)
			}
		})
	}
}

func TestAttachments(t *testing.T) {
	f := newFixture(t, 1)
	in := simpleInput("a@example.com", "with file", "text body", "<p>html</p>")
	in.Content.Simple.Attachments = []types.Attachment{{FileName: aws.String("report.txt"), RawContent: []byte("hello file")}}
	if _, err := f.client.SendEmail(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	m := f.outbox.Messages()[0]
	if m.Text != "text body" || m.HTML != "<p>html</p>" {
		t.Fatalf("bodies = %q %q", m.Text, m.HTML)
	}
	raw, _ := os.ReadFile(m.File)
	if !bytes.Contains(raw, []byte("multipart/mixed")) || !bytes.Contains(raw, []byte(`filename=report.txt`)) {
		t.Fatalf("attachment not in file:\n%s", raw)
	}
}
