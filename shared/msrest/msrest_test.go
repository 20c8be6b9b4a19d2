package msrest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/logging"
)

type cred struct{}

func (cred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func newClient(t *testing.T, h http.HandlerFunc, o Options) (*Client, *[]time.Duration, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	o.Credential, o.Scope, o.Endpoint, o.Transport = cred{}, "https://x/.default", srv.URL, srv.Client()
	if o.Sleep == nil {
		o.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	}
	return New(o), &waits, srv
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{map[string]string{"Retry-After": " 0 "}, 0},
		{map[string]string{"Retry-After": "-3"}, 0},
		{map[string]string{"Retry-After": "999999999"}, 24 * time.Hour},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"retry-after-ms": "1500", "Retry-After": "9"}, 1500 * time.Millisecond},
		{map[string]string{"x-ms-retry-after-ms": "250"}, 250 * time.Millisecond},
		{map[string]string{}, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		if got := RetryAfter(h, now); got != tt.want {
			t.Errorf("RetryAfter(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // answers in turn; the last repeats
		header    string
		max       int
		wantCalls int
		wantLast  int
		wantWaits []time.Duration
	}{
		{"success at once", []int{200}, "", 3, 1, 200, nil},
		{"429 with Retry-After, then success", []int{429, 200}, "7", 3, 2, 200, []time.Duration{7 * time.Second}},
		{"a Retry-After over the cap waits the cap", []int{429, 200}, "3600", 3, 2, 200, []time.Duration{30 * time.Second}},
		{"5xx without Retry-After: growing waits, bounded", []int{503}, "", 3, 4, 503, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"4xx is final", []int{409}, "", 3, 1, 409, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			c, waits, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				st := tt.statuses[min(calls, len(tt.statuses)-1)]
				calls++
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(st)
			}, Options{MaxRetries: tt.max})
			resp, err := c.Do(context.Background(), Call{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}})
			if err != nil || resp.Status != tt.wantLast || calls != tt.wantCalls || resp.Attempts != tt.wantCalls {
				t.Fatalf("= %+v, %v after %d calls", resp, err, calls)
			}
			if len(*waits) != len(tt.wantWaits) {
				t.Fatalf("waits %v, want %v", *waits, tt.wantWaits)
			}
			for i := range tt.wantWaits {
				if (*waits)[i] != tt.wantWaits[i] {
					t.Fatalf("waits %v, want %v", *waits, tt.wantWaits)
				}
			}
		})
	}
}

func TestIDsBodyAndLogs(t *testing.T) {
	var seen []string
	calls := 0
	c, _, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		seen = append(seen, r.Header.Get("MS-RequestId")+"|"+r.Header.Get("Authorization")+"|"+body.String())
		if calls == 1 {
			panic(http.ErrAbortHandler) // no answer: retried
		}
		w.Header().Set("request-id", "graph-side-id")
		w.Write([]byte(`{"ok":true}`))
	}, Options{Service: "test"})
	var logs bytes.Buffer
	ctx := logging.With(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	resp, err := c.Do(ctx, Call{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}, Headers: map[string]string{"MS-RequestId": "rid-1"}})
	var out struct{ OK bool }
	if err != nil || resp.Decode(&out) != nil || !out.OK || len(seen) != 2 || seen[0] != seen[1] || seen[0] != `rid-1|Bearer t|{"a":1}` {
		t.Fatalf("= %+v, %v; attempts saw %v", resp, err, seen)
	}
	if l := logs.String(); !strings.Contains(l, `"ms-requestid":"rid-1"`) || !strings.Contains(l, `"answer-request-id":"graph-side-id"`) || !strings.Contains(l, `"attempts":2`) || strings.Contains(l, "Bearer") {
		t.Fatalf("log %s", l)
	}
}

func TestBoundsAndRefusals(t *testing.T) {
	calls := 0
	c, _, srv := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Write(bytes.Repeat([]byte("x"), 100))
	}, Options{MaxBody: 50})
	if _, err := c.Do(context.Background(), Call{Method: http.MethodGet, Path: "/big"}); !errors.Is(err, ErrTransport) || calls != 1 {
		t.Fatalf("oversized answer: %v after %d calls, want one attempt", err, calls)
	}
	for _, p := range []string{"https://elsewhere.example/x", strings.Replace(srv.URL, "https", "http", 1) + "/x", "x"} {
		if _, err := c.Do(context.Background(), Call{Method: http.MethodGet, Path: p}); err == nil || calls != 1 {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if resp, err := c.Do(context.Background(), Call{Method: http.MethodGet, Path: srv.URL + "/page2"}); !errors.Is(err, ErrTransport) || resp != nil || calls != 2 {
		t.Fatalf("a link under the endpoint is followed: %v, %d calls", err, calls)
	}
}

func TestCancelledWaitStops(t *testing.T) {
	calls := 0
	ctx, cancel := context.WithCancel(context.Background())
	c, _, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusTooManyRequests)
	}, Options{Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return sleep(ctx, d) }})
	if _, err := c.Do(ctx, Call{Method: http.MethodGet, Path: "/x"}); !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("%v after %d calls", err, calls)
	}
}
