// Package awscli checks the local services against the AWS CLI's own calls,
// for the tests of each emulator.
//
// With the CLI installed, Run runs a command (`aws dynamodb list-tables`, ...)
// against a handler, recording every request the CLI sends (method, path,
// the headers that select the operation, the body) and the answer it got.
// The recordings are kept as test fixtures (WriteFixture), and Replay sends
// them again to a fresh handler in every run, the CLI installed or not, so CI
// without the CLI still checks that the emulators answer what the CLI sends,
// in the shape it got when it was recorded (SameShape). A Suite holds one
// service's commands and checks, and runs both.
package awscli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Region and the dummy credentials the CLI is run with.
const (
	Region          = "us-east-1"
	AccessKeyID     = "local"
	SecretAccessKey = "local"
)

// Exchange is one request the CLI sent and the answer it got.
type Exchange struct {
	Method string `json:"method"`
	// Path is the request's path with its query string.
	Path string `json:"path"`
	// Header holds the request headers that are not per-request noise
	// (signature, date, invocation ids, user agent, length).
	Header map[string]string `json:"header"`
	Body   string            `json:"body,omitempty"`
	Status int               `json:"status"`
	// ContentType and Response are the answer's.
	ContentType string `json:"contentType,omitempty"`
	Response    string `json:"response,omitempty"`
}

// Call is one CLI command and the exchanges it made.
type Call struct {
	// Args are the CLI's arguments after `aws`, without the endpoint,
	// region and output options Run adds.
	Args      []string   `json:"args"`
	Exchanges []Exchange `json:"exchanges"`
}

// Fixture is the recorded calls of one service.
type Fixture struct {
	// CLI is the `aws --version` line of the CLI that made the recording.
	CLI   string `json:"cli"`
	Calls []Call `json:"calls"`
}

// Installed reports whether the aws command is on PATH.
func Installed() bool {
	_, err := exec.LookPath("aws")
	return err == nil
}

// Version is the installed CLI's `aws --version` line.
func Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "aws", "--version").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// noise are request headers that differ on every call.
var noise = map[string]bool{
	"Authorization": true, "X-Amz-Date": true, "Amz-Sdk-Invocation-Id": true, "Amz-Sdk-Request": true,
	"User-Agent": true, "Content-Length": true, "Accept-Encoding": true, "X-Amz-Security-Token": true,
	"X-Amz-Content-Sha256": true,
}

// Env is the environment the CLI runs in: dummy credentials, the region, no
// user configuration, one attempt per call.
func Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+AccessKeyID, "AWS_SECRET_ACCESS_KEY="+SecretAccessKey,
		"AWS_DEFAULT_REGION="+Region, "AWS_REGION="+Region,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
}

// Run runs `aws args... --endpoint-url <h> --output json` with Env, h served
// on a loopback port, and returns the CLI's standard output and the calls it
// made. An error carries the CLI's standard error.
func Run(ctx context.Context, h http.Handler, args ...string) ([]byte, Call, error) {
	var mu sync.Mutex
	call := Call{Args: args}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		ex := Exchange{Method: r.Method, Path: r.URL.RequestURI(), Header: map[string]string{}, Body: string(body),
			Status: rec.Code, ContentType: rec.Header().Get("Content-Type"), Response: rec.Body.String()}
		for k := range r.Header {
			if !noise[k] {
				ex.Header[k] = r.Header.Get(k)
			}
		}
		mu.Lock()
		call.Exchanges = append(call.Exchanges, ex)
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append(append([]string{}, args...), "--endpoint-url", srv.URL, "--output", "json")...)
	cmd.Env = Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		return stdout.Bytes(), call, fmt.Errorf("aws %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), call, nil
}

// ReadFixture reads a fixture file.
func ReadFixture(path string) (Fixture, error) {
	var f Fixture
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	err = json.Unmarshal(b, &f)
	return f, err
}

// WriteFixture writes f to path (indented, stable), creating its folder.
func WriteFixture(path string, f Fixture) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Replay sends ex's request to h as the CLI sent it and returns the answer.
func Replay(h http.Handler, ex Exchange) *httptest.ResponseRecorder {
	req := httptest.NewRequest(ex.Method, ex.Path, strings.NewReader(ex.Body))
	for k, v := range ex.Header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Check replays ex against h and tells how the answer differs from the
// recorded one: another status, or a body of another shape.
func Check(h http.Handler, ex Exchange) error {
	rec := Replay(h, ex)
	if rec.Code != ex.Status {
		return fmt.Errorf("%s %s: status %d, recorded %d: %s", ex.Method, ex.Path, rec.Code, ex.Status, rec.Body.String())
	}
	if err := SameShape([]byte(ex.Response), rec.Body.Bytes()); err != nil {
		return fmt.Errorf("%s %s: %w\nrecorded: %s\nnow:      %s", ex.Method, ex.Path, err, ex.Response, rec.Body.String())
	}
	return nil
}

// SameShape reports whether two answers have the same shape: for JSON, the
// same keys with values of the same JSON types and lists of the same length,
// all the way down (values such as ids and times may differ); for XML, the
// same elements in the same order.
func SameShape(want, got []byte) error {
	want, got = bytes.TrimSpace(want), bytes.TrimSpace(got)
	if len(want) == 0 || len(got) == 0 {
		if len(want) != len(got) {
			return fmt.Errorf("body %q, recorded %q", got, want)
		}
		return nil
	}
	var w, g any
	if json.Unmarshal(want, &w) == nil {
		if err := json.Unmarshal(got, &g); err != nil {
			return fmt.Errorf("the answer is not JSON: %v", err)
		}
		return sameJSON("$", w, g)
	}
	we, err := xmlElements(want)
	if err != nil {
		return fmt.Errorf("the recorded answer is neither JSON nor XML: %v", err)
	}
	ge, err := xmlElements(got)
	if err != nil {
		return fmt.Errorf("the answer is not XML: %v", err)
	}
	if !reflect.DeepEqual(we, ge) {
		return fmt.Errorf("XML elements %v, recorded %v", ge, we)
	}
	return nil
}

func sameJSON(at string, w, g any) error {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, recorded an object", at, g)
		}
		wk, gk := keys(wv), keys(gv)
		if !reflect.DeepEqual(generic(wk), generic(gk)) {
			return fmt.Errorf("%s: keys %v, recorded %v", at, gk, wk)
		}
		for i := range wk {
			if err := sameJSON(at+"."+gk[i], wv[wk[i]], gv[gk[i]]); err != nil {
				return err
			}
		}
	case []any:
		gv, ok := g.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, recorded a list", at, g)
		}
		if len(gv) != len(wv) {
			return fmt.Errorf("%s: %d elements, recorded %d", at, len(gv), len(wv))
		}
		for i := range wv {
			if err := sameJSON(fmt.Sprintf("%s[%d]", at, i), wv[i], gv[i]); err != nil {
				return err
			}
		}
	default:
		if reflect.TypeOf(w) != reflect.TypeOf(g) {
			return fmt.Errorf("%s: %T, recorded %T", at, g, w)
		}
	}
	return nil
}

// uuid matches a generated id used as a key (a secret's version ids).
var uuid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// generic replaces generated ids among keys by one placeholder, so two
// answers with new ids compare equal.
func generic(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if uuid.MatchString(k) {
			k = "<id>"
		}
		out[i] = k
	}
	return out
}

// keys are m's keys, sorted, generated ids last.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := uuid.MatchString(out[i]), uuid.MatchString(out[j]); a != b {
			return b
		}
		return out[i] < out[j]
	})
	return out
}

func xmlElements(b []byte) ([]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(out) == 0 {
				return nil, errors.New("no element")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			out = append(out, se.Name.Local)
		}
	}
}
