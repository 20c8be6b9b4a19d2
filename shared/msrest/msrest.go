// Package msrest sends REST calls to Microsoft's APIs that have no Go SDK
// small enough for the functions (Partner Center has none; Microsoft
// Graph's generated SDK is too big for the cold-start bounds) over azcore's
// HTTP pipeline: azcore's retry policy, a bearer token of the partner's
// credential for one scope, the same request ids on every attempt of a call,
// bounded answers, and one structured log line per call with the ids.
//
// It speaks HTTP only: a call returns the final answer whatever its status;
// each API's package (partnercenter, gdap) reads its own error bodies and
// maps them to neutral codes.
package msrest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/partnercloud/azure/shared/logging"
)

// Defaults of Options.
const (
	DefaultMaxRetries    = 4
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultMaxBody       = 1 << 20
)

// ErrTransport is the cause of a call that got no answer (connection
// refused or cut, token unavailable, answer too big) after its retries.
var ErrTransport = errors.New("no answer")

// Options configure a Client.
type Options struct {
	// Service names the API in logs ("partnercenter", "graph").
	Service string
	// Credential gets the bearer tokens, for Scope.
	Credential azcore.TokenCredential
	Scope      string
	// Endpoint is the API's base URL (https); paths are relative to it, and
	// absolute URLs (a next page link) must start with it.
	Endpoint string
	// Transport sends the requests; default azcore's HTTP client.
	Transport policy.Transporter
	// MaxRetries bounds the retries of a call that was throttled, failed
	// (5xx) or got no answer; default DefaultMaxRetries.
	MaxRetries int
	// MaxRetryAfter caps one wait between attempts; default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// TryTimeout bounds one attempt; 0 leaves it to the context and transport.
	TryTimeout time.Duration
	// MaxBody bounds an answer's body; default DefaultMaxBody.
	MaxBody int64
	// Sleep waits between attempts (tests record the waits instead); default
	// a timer that stops when the context ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client sends calls through one pipeline; safe for concurrent use.
type Client struct {
	opts     Options
	endpoint string
	pl       runtime.Pipeline
}

// New builds the pipeline: the per-call ids policy, azcore's retry policy
// (429, 5xx and transport failures; MaxRetries), then per attempt the wait
// policy and the bearer token policy.
//
// The wait between attempts is the wait policy's, not the retry policy's
// own, for two reasons: azcore waits with a bare time.After, which a test
// cannot replace (Sleep can), and it gives up at once when Retry-After asks
// for more than its cap, while these calls wait the cap and try again (a
// Partner Center or Graph throttle usually lifts sooner than announced, and
// the retries stay bounded). azcore's retry policy still decides whether and
// how often to retry, rewinds the body and stops when the context ends; its
// own delay is set to a nanosecond.
func New(o Options) *Client {
	if o.MaxRetries <= 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	var transport policy.Transporter = http.DefaultClient
	if o.Transport != nil {
		transport = o.Transport
	}
	copts := policy.ClientOptions{
		Transport: boundedTransport{next: transport, max: o.MaxBody},
		Retry: policy.RetryOptions{
			MaxRetries:    int32(o.MaxRetries),
			TryTimeout:    o.TryTimeout,
			RetryDelay:    time.Nanosecond,
			MaxRetryDelay: time.Nanosecond,
			ShouldRetry: func(resp *http.Response, err error) bool {
				return err != nil || Retryable(resp.StatusCode)
			},
		},
		Telemetry: policy.TelemetryOptions{ApplicationID: "partnercloud"},
	}
	pl := runtime.NewPipeline("msrest", "v1", runtime.PipelineOptions{
		PerCall: []policy.Policy{idsPolicy{}},
		PerRetry: []policy.Policy{
			waitPolicy{max: o.MaxRetryAfter, sleep: o.Sleep},
			runtime.NewBearerTokenPolicy(o.Credential, []string{o.Scope}, nil),
		},
	}, &copts)
	return &Client{opts: o, endpoint: strings.TrimRight(o.Endpoint, "/"), pl: pl}
}

// Endpoint is the API's base URL, without a trailing slash.
func (c *Client) Endpoint() string { return c.endpoint }

// Retryable reports whether an answer's status is worth another attempt:
// throttled (429) or a server fault (5xx).
func Retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Call is one API call.
type Call struct {
	Method string
	// Path is relative to the endpoint ("/v1/customers"), with its query;
	// or an absolute URL under the endpoint (a next page link).
	Path string
	// Body is marshalled as JSON when not nil.
	Body any
	// Headers are sent on every attempt of the call: the request ids
	// (MS-RequestId, client-request-id, …) that let the API tell a retry
	// from a new call.
	Headers map[string]string
}

// Response is a call's final answer.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
}

// Decode unmarshals the body into out; an empty body leaves out as it is.
func (r *Response) Decode(out any) error {
	if out == nil || len(bytes.TrimSpace(r.Body)) == 0 {
		return nil
	}
	return json.Unmarshal(r.Body, out)
}

// OK reports a 2xx status.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Do sends the call with its retries. It returns the final answer whatever
// its status; an error (wrapping ErrTransport) means there was none.
func (c *Client) Do(ctx context.Context, call Call) (*Response, error) {
	target, err := c.resolve(call.Path)
	if err != nil {
		return nil, err
	}
	st := &callState{headers: call.Headers}
	req, err := runtime.NewRequest(context.WithValue(ctx, stateKey{}, st), call.Method, target)
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if call.Body != nil {
		payload, err := json.Marshal(call.Body)
		if err != nil {
			return nil, err
		}
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(payload)), "application/json"); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	resp, err := c.pl.Do(req)
	log := logging.From(ctx).With(
		slog.String("service", c.opts.Service),
		slog.String("method", call.Method),
		slog.String("path", pathOnly(target)),
		slog.Int("attempts", st.attempts),
		slog.Duration("elapsed", time.Since(start)),
	)
	for _, k := range slices.Sorted(maps.Keys(call.Headers)) {
		log = log.With(slog.String(strings.ToLower(k), call.Headers[k]))
	}
	if err != nil {
		log.WarnContext(ctx, "microsoft call got no answer", slog.String("error", err.Error()))
		return nil, fmt.Errorf("%w: %s %s: %w", ErrTransport, call.Method, pathOnly(target), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // already read into memory by boundedTransport
	if err != nil {
		return nil, fmt.Errorf("%w: read: %v", ErrTransport, err)
	}
	// The service's own ids of the answer, for a support case.
	for _, h := range []string{"request-id", "MS-RequestId", "MS-CorrelationId"} {
		if v := resp.Header.Get(h); v != "" && v != call.Headers[h] {
			log = log.With(slog.String("answer-"+strings.ToLower(h), v))
		}
	}
	level := slog.LevelInfo
	if !(resp.StatusCode >= 200 && resp.StatusCode < 300) {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "microsoft call", slog.Int("status", resp.StatusCode))
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Attempts: st.attempts}, nil
}

// resolve makes the call's URL; an absolute one must lie under the endpoint,
// so that a link in an answer never sends the token elsewhere.
func (c *Client) resolve(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return c.endpoint + p, nil
	}
	if strings.HasPrefix(p, c.endpoint+"/") {
		return p, nil
	}
	return "", fmt.Errorf("msrest: %q is not under the endpoint %s", p, c.endpoint)
}

func pathOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.EscapedPath()
}

// callState is one call's state across its attempts.
type callState struct {
	headers  map[string]string
	attempts int
	wait     time.Duration // before the next attempt
}

type stateKey struct{}

func stateOf(req *policy.Request) *callState {
	if st, ok := req.Raw().Context().Value(stateKey{}).(*callState); ok {
		return st
	}
	return &callState{}
}

// idsPolicy sets the call's request ids once, before the retry policy: every
// attempt (a clone of this request) carries the same ones.
type idsPolicy struct{}

func (idsPolicy) Do(req *policy.Request) (*http.Response, error) {
	for k, v := range stateOf(req).headers {
		req.Raw().Header.Set(k, v)
	}
	return req.Next()
}

// waitPolicy runs once per attempt: before a retry it waits what the
// previous answer asked (Retry-After, capped), or a growing 1 s, 2 s, 4 s …
// (capped) after a fault without Retry-After or no answer.
type waitPolicy struct {
	max   time.Duration
	sleep func(ctx context.Context, d time.Duration) error
}

func (p waitPolicy) Do(req *policy.Request) (*http.Response, error) {
	st := stateOf(req)
	st.attempts++
	if st.attempts > 1 {
		if err := p.sleep(req.Raw().Context(), st.wait); err != nil {
			return nil, err
		}
	}
	resp, err := req.Next()
	st.wait = 0
	if err == nil && Retryable(resp.StatusCode) {
		st.wait = RetryAfter(resp.Header, time.Now())
		// The wait is taken here; azcore's retry policy must not wait
		// again, nor give up because the header exceeds its cap.
		for _, h := range retryAfterHeaders {
			resp.Header.Del(h)
		}
	}
	if st.wait <= 0 {
		shift := min(st.attempts-1, 20)
		st.wait = time.Duration(1<<shift) * time.Second
	}
	st.wait = min(st.wait, p.max)
	return resp, err
}

var retryAfterHeaders = []string{"Retry-After", "retry-after-ms", "x-ms-retry-after-ms"}

// RetryAfter reads the wait an answer asks for: retry-after-ms or
// x-ms-retry-after-ms (milliseconds), or Retry-After in seconds or as an
// HTTP date; 0 when absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range retryAfterHeaders[1:] {
		if ms, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// boundedTransport reads each answer into memory, at most max bytes, inside
// the attempt: an answer cut off while its body arrives is a failed attempt
// that the retry policy retries (azcore's own body download does not retry
// a POST), and an oversized answer is refused without retry.
type boundedTransport struct {
	next policy.Transporter
	max  int64
}

func (t boundedTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.next.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.max+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if int64(len(body)) > t.max {
		return nil, tooLarge{max: t.max}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// tooLarge is an answer over the limit; retrying would get the same.
type tooLarge struct{ max int64 }

func (e tooLarge) Error() string { return fmt.Sprintf("answer larger than %d bytes", e.max) }
func (tooLarge) NonRetriable()   {}
