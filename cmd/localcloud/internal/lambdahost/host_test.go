package lambdahost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var echoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdahost-test")
	if err != nil {
		panic(err)
	}
	echoBin = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoBin, "./testdata/echo")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		panic("build test lambda: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a goroutine-safe log sink.
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

func newHost(t *testing.T, fns ...Function) (*Host, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	h := New(Options{Log: log, Env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:1"}})
	for _, f := range fns {
		if f.Binary == "" {
			f.Binary = echoBin
		}
		if err := h.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { h.Close() })
	return h, log
}

func invoke(t *testing.T, h *Host, fn string, payload string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.Invoke(ctx, fn, []byte(payload))
}

func TestInvokeBehaviours(t *testing.T) {
	h, log := newHost(t,
		Function{Name: "Echo", Timeout: 5 * time.Second, MemoryMB: 256, Env: map[string]string{"TABLE_NAME": "t1", "AWS_REGION": "eu-west-1"}},
		Function{Name: "Short", Timeout: 1 * time.Second},
	)
	tests := []struct {
		name, fn, payload string
		want              string         // exact response JSON, when no error
		wantErr           *FunctionError // type and message prefix
	}{
		{name: "echo", fn: "Echo", payload: `{"hello":"world"}`, want: `{"hello":"world"}`},
		{name: "by ARN", fn: "arn:aws:lambda:us-east-1:000000000000:function:Echo:$LATEST", payload: `{"a":1}`, want: `{"a":1}`},
		{name: "named error", fn: "Echo", payload: `{"action":"error"}`, wantErr: &FunctionError{ErrorType: "ProviderNotFound", ErrorMessage: "provider p-1 not found"}},
		{name: "environment", fn: "Echo", payload: `{"action":"env","keys":["TABLE_NAME","AWS_REGION","AWS_LAMBDA_FUNCTION_NAME","AWS_LAMBDA_FUNCTION_MEMORY_SIZE","AWS_LAMBDA_FUNCTION_VERSION","_HANDLER","AWS_ENDPOINT_URL_DYNAMODB"]}`,
			want: `{"AWS_ENDPOINT_URL_DYNAMODB":"http://127.0.0.1:1","AWS_LAMBDA_FUNCTION_MEMORY_SIZE":"256","AWS_LAMBDA_FUNCTION_NAME":"Echo","AWS_LAMBDA_FUNCTION_VERSION":"$LATEST","AWS_REGION":"us-east-1","TABLE_NAME":"t1","_HANDLER":"bootstrap"}`},
		{name: "timeout", fn: "Short", payload: `{"action":"sleep","ms":3000}`, wantErr: &FunctionError{ErrorType: "Sandbox.Timedout", ErrorMessage: "RequestId: "}},
		{name: "after timeout a new instance answers", fn: "Short", payload: `{"x":2}`, want: `{"x":2}`},
		{name: "exit", fn: "Echo", payload: `{"action":"exit","code":3}`, wantErr: &FunctionError{ErrorType: "Runtime.ExitError", ErrorMessage: "RequestId: "}},
		{name: "restarted after crash", fn: "Echo", payload: `{"y":3}`, want: `{"y":3}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, err := invoke(t, h, tc.fn, tc.payload)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if string(out) != tc.want {
					t.Fatalf("got %s, want %s", out, tc.want)
				}
				return
			}
			var fe *FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want FunctionError", err, err)
			}
			if fe.LambdaErrorType() != tc.wantErr.ErrorType || !strings.HasPrefix(fe.ErrorMessage, tc.wantErr.ErrorMessage) {
				t.Fatalf("got %+v, want %+v", fe, tc.wantErr)
			}
			if !strings.Contains(fe.Error(), tc.fn) {
				t.Errorf("Error() %q does not name the function", fe.Error())
			}
			if tc.wantErr.ErrorType == "Sandbox.Timedout" {
				if !strings.HasSuffix(fe.ErrorMessage, "Task timed out after 1.00 seconds") {
					t.Errorf("timeout message %q", fe.ErrorMessage)
				}
				if d := time.Since(start); d > 2500*time.Millisecond {
					t.Errorf("timeout took %v", d)
				}
			}
			if tc.wantErr.ErrorType == "Runtime.ExitError" && !strings.Contains(fe.ErrorMessage, "exit status 3") {
				t.Errorf("exit message %q", fe.ErrorMessage)
			}
		})
	}
	if got := h.Invocations()["Echo"]; got != 6 {
		t.Errorf("Echo invocations = %d, want 6", got)
	}
	if !strings.Contains(log.String(), "[Echo] exiting on request") || !strings.Contains(log.String(), "[Echo] echo called") {
		t.Errorf("child output not copied with prefix:\n%s", log.String())
	}
}

func TestDeadlineAndARN(t *testing.T) {
	h, _ := newHost(t, Function{Name: "Fn", Timeout: 7 * time.Second})
	before := time.Now()
	out, err := invoke(t, h, "Fn", `{"action":"deadline"}`)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		DeadlineMs int64  `json:"deadlineMs"`
		ARN        string `json:"arn"`
	}
	_ = json.Unmarshal(out, &got)
	d := time.UnixMilli(got.DeadlineMs).Sub(before)
	if d < 6*time.Second || d > 8*time.Second {
		t.Errorf("deadline %v from now, want about 7s", d)
	}
	if got.ARN != "arn:aws:lambda:us-east-1:000000000000:function:Fn" {
		t.Errorf("arn %q", got.ARN)
	}
}

func TestConcurrencyAndMaxInstances(t *testing.T) {
	h, _ := newHost(t, Function{Name: "Par", Timeout: 10 * time.Second, MaxInstances: 3})
	const n = 9
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := invoke(t, h, "Par", `{"action":"sleep","ms":400}`)
			if err == nil && !strings.Contains(string(out), `"slept":400`) {
				err = errors.New("bad answer " + string(out))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if p := h.PeakInstances("Par"); p != 3 {
		t.Errorf("peak instances %d, want 3", p)
	}
	// 9 invocations of 400 ms on 3 instances need at least 3 rounds.
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Errorf("finished in %v: more than 3 ran at once", d)
	}
	if got := h.Invocations()["Par"]; got != n {
		t.Errorf("invocations %d", got)
	}
}

func TestInitError(t *testing.T) {
	h, log := newHost(t, Function{Name: "Broken", Env: map[string]string{"ECHO_INIT_ERROR": "TABLE_NAME is not set"}})
	_, err := invoke(t, h, "Broken", `{}`)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.ErrorType != "ConfigError" || fe.ErrorMessage != "TABLE_NAME is not set" || fe.Function != "Broken" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(log.String(), "[Broken] init error: ConfigError") {
		t.Errorf("log: %s", log.String())
	}
	// A later invocation tries again (and fails the same way) rather than hanging.
	if _, err := invoke(t, h, "Broken", `{}`); !errors.As(err, &fe) {
		t.Fatalf("second invoke: %v", err)
	}
}

func TestUnknownFunctionAndClose(t *testing.T) {
	h, _ := newHost(t, Function{Name: "Fn"})
	if _, err := invoke(t, h, "Nope", `{}`); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("unknown function: %v", err)
	}
	if _, err := invoke(t, h, "Fn", `{}`); err != nil {
		t.Fatal(err)
	}
	if h.Instances("Fn") != 1 {
		t.Fatalf("instances %d", h.Instances("Fn"))
	}
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if h.Instances("Fn") != 0 {
		t.Error("instances left after Close")
	}
	if _, err := invoke(t, h, "Fn", `{}`); err == nil {
		t.Error("invoke after Close succeeded")
	}
}

func TestCallerContextCancelledWhileQueued(t *testing.T) {
	h, _ := newHost(t, Function{Name: "One", MaxInstances: 1, Timeout: 5 * time.Second})
	go invoke(t, h, "One", `{"action":"sleep","ms":800}`)
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := h.Invoke(ctx, "One", []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The abandoned invocation must not be run later: the next one answers normally.
	out, err := invoke(t, h, "One", `{"z":1}`)
	if err != nil || string(out) != `{"z":1}` {
		t.Fatalf("got %s %v", out, err)
	}
	if got := h.Invocations()["One"]; got != 3 {
		t.Errorf("invocations %d", got)
	}
}
