// Package lambdahost runs Lambda function binaries (`bootstrap`, built for the
// host) as child processes and serves them the Lambda Runtime API
// (2018-06-01) on loopback, as the Lambda service does for custom runtimes.
//
// Each function has one Runtime API listener. Every process instance of the
// function reaches it through its own AWS_LAMBDA_RUNTIME_API value,
// "127.0.0.1:<port>/_instance/<n>": runtimes build their URLs as
// "http://" + AWS_LAMBDA_RUNTIME_API + "/2018-06-01/...", so the path prefix
// tells the host which instance is asking (needed to kill the right process on
// a timeout and to fail the right invocation when a process exits).
//
// Invocations wait in a per-function queue. When one waits and no instance is
// idle, a new instance is started, up to MaxInstances per function. A function
// error reaches the caller as a *FunctionError carrying the errorType the
// runtime reported, as AWS reports it; timeouts give "Sandbox.Timedout" and a
// process that exits mid-invocation "Runtime.ExitError".
package lambdahost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits Lambda applies to synchronous invocations.
const (
	// MaxPayload is the largest request and response payload (6 MB).
	MaxPayload = 6 * 1024 * 1024
	// DefaultMaxInstances is the default concurrency per function.
	DefaultMaxInstances = 8
)

// FunctionError is a function error as the Lambda Invoke API reports it
// (X-Amz-Function-Error with the payload {"errorType","errorMessage","stackTrace"}).
type FunctionError struct {
	// Function is the function's name; it is not part of AWS's payload.
	Function     string   `json:"-"`
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

// Error names the function, the error type and the message.
func (e *FunctionError) Error() string {
	return fmt.Sprintf("lambda %s: %s: %s", e.Function, e.ErrorType, e.ErrorMessage)
}

// LambdaErrorType is the errorType exactly as AWS reports it; Step Functions
// matches Retry and Catch against it.
func (e *FunctionError) LambdaErrorType() string { return e.ErrorType }

// Payload is the JSON AWS returns as the Invoke response body for this error.
func (e *FunctionError) Payload() []byte {
	b, _ := json.Marshal(e)
	return b
}

// ErrUnknownFunction is returned by Invoke for a name that was not registered.
var ErrUnknownFunction = errors.New("function not found")

// Invoker invokes a function synchronously (RequestResponse). The Host
// implements it; the API Gateway and Step Functions emulators depend on it.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Options configures a Host.
type Options struct {
	// Log receives the children's stdout and stderr, each line prefixed with
	// "[<function>] ". Nil discards them.
	Log io.Writer
	// MaxInstances is the default concurrency per function (DefaultMaxInstances if 0).
	MaxInstances int
	// Env is added to every child's environment after the function's own
	// variables and the Lambda-defined ones, so it wins (endpoint variables).
	Env map[string]string
}

// Function describes one function to host.
type Function struct {
	// Name is the function name (the template's logical id locally).
	Name string
	// Binary is the path of the host-built bootstrap executable.
	Binary string
	// Env holds the function's resolved environment from the template.
	Env map[string]string
	// Timeout is the template's Timeout (3 s if zero).
	Timeout time.Duration
	// MemoryMB is the template's MemorySize (128 if zero).
	MemoryMB int
	// MaxInstances overrides Options.MaxInstances when positive.
	MaxInstances int
}

// Host serves the Runtime API for registered functions and runs their processes.
type Host struct {
	opts    Options
	logMu   sync.Mutex
	mu      sync.Mutex
	fns     map[string]*function
	closed  bool
	wg      sync.WaitGroup
	closing chan struct{}
}

// New returns a Host with no functions.
func New(opts Options) *Host {
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = DefaultMaxInstances
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	return &Host{opts: opts, fns: map[string]*function{}, closing: make(chan struct{})}
}

// Register adds a function and starts its Runtime API listener on a free
// loopback port. No process starts until the first invocation.
func (h *Host) Register(f Function) error {
	if f.Name == "" || f.Binary == "" {
		return errors.New("lambdahost: function name and binary are required")
	}
	if _, err := os.Stat(f.Binary); err != nil {
		return fmt.Errorf("lambdahost: function %s: %w", f.Name, err)
	}
	if f.Timeout <= 0 {
		f.Timeout = 3 * time.Second
	}
	if f.MemoryMB <= 0 {
		f.MemoryMB = 128
	}
	if f.MaxInstances <= 0 {
		f.MaxInstances = h.opts.MaxInstances
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("lambdahost: function %s: runtime API listener: %w", f.Name, err)
	}
	fn := &function{
		host:      h,
		cfg:       f,
		addr:      ln.Addr().String(),
		instances: map[int]*instance{},
		inflight:  map[string]*invocation{},
		wake:      make(chan struct{}),
	}
	fn.srv = &http.Server{Handler: fn.routes(), ReadHeaderTimeout: 10 * time.Second}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		ln.Close()
		return errors.New("lambdahost: host is closed")
	}
	if _, dup := h.fns[f.Name]; dup {
		ln.Close()
		return fmt.Errorf("lambdahost: function %s registered twice", f.Name)
	}
	h.fns[f.Name] = fn
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		_ = fn.srv.Serve(ln)
	}()
	return nil
}

// Functions lists the registered function names, sorted.
func (h *Host) Functions() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.fns))
	for n := range h.fns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RuntimeAPI returns the host:port of a function's Runtime API.
func (h *Host) RuntimeAPI(function string) (string, bool) {
	fn, err := h.lookup(function)
	if err != nil {
		return "", false
	}
	return fn.addr, true
}

// Invocations returns how many invocations each function has received.
func (h *Host) Invocations() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int64, len(h.fns))
	for n, fn := range h.fns {
		out[n] = fn.invocations.Load()
	}
	return out
}

// Instances returns how many processes of a function are alive now.
func (h *Host) Instances(function string) int {
	fn, err := h.lookup(function)
	if err != nil {
		return 0
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return len(fn.instances)
}

// PeakInstances returns the largest number of a function's processes that
// were alive at once.
func (h *Host) PeakInstances(function string) int {
	fn, err := h.lookup(function)
	if err != nil {
		return 0
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.peak
}

// lookup accepts a function name, a function ARN
// (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]) or a
// partial ARN (<account>:function:<name>), as the Invoke API does.
func (h *Host) lookup(name string) (*function, error) {
	if i := strings.Index(name, "function:"); i >= 0 {
		name = name[i+len("function:"):]
	}
	name, _, _ = strings.Cut(name, ":") // drop a qualifier ($LATEST, version, alias)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("lambdahost: host is closed")
	}
	fn, ok := h.fns[name]
	if !ok {
		return nil, fmt.Errorf("lambdahost: %w: %s", ErrUnknownFunction, name)
	}
	return fn, nil
}

// Invoke runs one synchronous invocation and returns the function's response
// payload. A function error is a *FunctionError; other errors (unknown
// function, payload too large, ctx done) are plain errors. If ctx ends while the
// invocation runs, Invoke returns but the invocation still runs to its end, as
// on AWS.
func (h *Host) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	fn, err := h.lookup(function)
	if err != nil {
		return nil, err
	}
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("lambdahost: request payload of %d bytes exceeds the %d-byte limit (RequestEntityTooLargeException)", len(payload), MaxPayload)
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	inv := &invocation{id: newRequestID(), payload: payload, done: make(chan struct{})}
	fn.invocations.Add(1)
	fn.enqueue(inv)
	select {
	case <-inv.done:
		return inv.result, inv.err
	case <-ctx.Done():
		fn.abandon(inv)
		return nil, ctx.Err()
	case <-h.closing:
		return nil, errors.New("lambdahost: host closed")
	}
}

// Close stops every child process (its whole process group), waits for them
// and closes the Runtime API listeners. Pending invocations fail.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.closing)
	fns := make([]*function, 0, len(h.fns))
	for _, fn := range h.fns {
		fns = append(fns, fn)
	}
	h.mu.Unlock()
	for _, fn := range fns {
		fn.shutdown()
	}
	h.wg.Wait()
	return nil
}

// function is one registered function's state.
type function struct {
	host *Host
	cfg  Function
	addr string
	srv  *http.Server

	invocations atomic.Int64
	// crashNext is how many of the next invocations are crashed on purpose
	// (fault injection, see KillNext).
	crashNext atomic.Int64

	mu        sync.Mutex
	queue     []*invocation
	inflight  map[string]*invocation
	instances map[int]*instance
	nextID    int
	idle      int // instances blocked in /next
	starting  int // instances started that have not yet called /next
	peak      int
	wake      chan struct{} // closed and replaced when the queue grows
	closed    bool
	// initErr is the last init failure, given to invocations that waited for
	// an instance that failed to start.
	initErr *FunctionError
}

// invocation is one Invoke call.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	inst     *instance
	timer    *time.Timer

	once   sync.Once
	done   chan struct{}
	result []byte
	err    error
}

func (inv *invocation) finish(result []byte, err error) bool {
	finished := false
	inv.once.Do(func() {
		inv.result, inv.err = result, err
		if inv.timer != nil {
			inv.timer.Stop()
		}
		close(inv.done)
		finished = true
	})
	return finished
}

// instance is one child process.
type instance struct {
	id      int
	cmd     *exec.Cmd
	started bool // called /next at least once
	current *invocation
	exited  chan struct{}
	killed  string // why the host killed it, if it did
}

func (fn *function) enqueue(inv *invocation) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.closed {
		inv.finish(nil, errors.New("lambdahost: host closed"))
		return
	}
	fn.queue = append(fn.queue, inv)
	close(fn.wake)
	fn.wake = make(chan struct{})
	fn.scaleLocked()
}

// scaleLocked starts instances while invocations wait that no idle or
// starting instance will take, within MaxInstances.
func (fn *function) scaleLocked() {
	for len(fn.queue) > fn.idle+fn.starting && len(fn.instances) < fn.cfg.MaxInstances && !fn.closed {
		if err := fn.startLocked(); err != nil {
			fe := &FunctionError{Function: fn.cfg.Name, ErrorType: "Runtime.InvalidEntrypoint", ErrorMessage: err.Error()}
			for _, inv := range fn.queue {
				inv.finish(nil, fe)
			}
			fn.queue = nil
			return
		}
	}
}

// abandon drops an invocation whose caller went away while it was queued.
func (fn *function) abandon(inv *invocation) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	for i, q := range fn.queue {
		if q == inv {
			fn.queue = append(fn.queue[:i], fn.queue[i+1:]...)
			return
		}
	}
}

func (fn *function) startLocked() error {
	fn.nextID++
	id := fn.nextID
	cmd := exec.Command(fn.cfg.Binary)
	cmd.Env = fn.environ(id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &prefixWriter{host: fn.host, prefix: "[" + fn.cfg.Name + "] "}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", fn.cfg.Binary, err)
	}
	inst := &instance{id: id, cmd: cmd, exited: make(chan struct{})}
	fn.instances[id] = inst
	fn.starting++
	fn.peak = max(fn.peak, len(fn.instances))
	fn.host.wg.Add(1)
	go func() {
		defer fn.host.wg.Done()
		err := cmd.Wait()
		out.flush()
		fn.exited(inst, err)
	}()
	return nil
}

// environ builds a child's environment: the template's variables, then the
// variables Lambda defines, then the host's overrides.
func (fn *function) environ(instanceID int) []string {
	env := map[string]string{}
	for k, v := range fn.cfg.Env {
		env[k] = v
	}
	for k, v := range map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          fn.addr + "/_instance/" + strconv.Itoa(instanceID),
		"AWS_LAMBDA_FUNCTION_NAME":        fn.cfg.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.cfg.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      fmt.Sprintf("%s/[$LATEST]%032d", time.Now().UTC().Format("2006/01/02"), instanceID),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"AWS_ACCESS_KEY_ID":               "AKIDLOCALCLOUD",
		"AWS_SECRET_ACCESS_KEY":           "local-cloud-secret",
		"AWS_SESSION_TOKEN":               "local-cloud-session",
		"TZ":                              ":UTC",
		"PATH":                            os.Getenv("PATH"),
		"HOME":                            os.Getenv("HOME"),
		"TMPDIR":                          os.TempDir(),
	} {
		env[k] = v
	}
	for k, v := range fn.host.opts.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// exited handles a child's exit: the invocation it was running fails with
// Runtime.ExitError; if it never became ready and nothing else can serve the
// queue, the queued invocations fail with its init error.
func (fn *function) exited(inst *instance, waitErr error) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	close(inst.exited)
	delete(fn.instances, inst.id)
	if !inst.started {
		fn.starting--
	}
	reason := "Runtime exited without providing a reason"
	if waitErr != nil {
		reason = "Runtime exited with error: " + waitErr.Error()
	}
	if inv := inst.current; inv != nil {
		delete(fn.inflight, inv.id)
		if inst.killed == "" {
			inv.finish(nil, &FunctionError{Function: fn.cfg.Name, ErrorType: "Runtime.ExitError",
				ErrorMessage: fmt.Sprintf("RequestId: %s Error: %s", inv.id, reason)})
		}
	}
	if fn.closed {
		return
	}
	if !inst.started && inst.killed == "" && len(fn.instances) == 0 && len(fn.queue) > 0 {
		// The process died during init and no other instance can take the
		// waiting invocations: fail them rather than restart in a loop. The
		// next Invoke starts a new instance.
		fe := fn.initErr
		if fe == nil {
			fe = &FunctionError{Function: fn.cfg.Name, ErrorType: "Runtime.ExitError"}
		}
		for _, inv := range fn.queue {
			e := *fe
			if e.ErrorMessage == "" || fn.initErr == nil {
				e.ErrorMessage = fmt.Sprintf("RequestId: %s Error: %s", inv.id, reason)
			}
			inv.finish(nil, &e)
		}
		fn.queue = nil
		fn.initErr = nil
		return
	}
	fn.initErr = nil
	fn.scaleLocked()
}

// kill ends an instance's process group; the exit is handled by exited.
func (fn *function) killLocked(inst *instance, why string) {
	if inst.killed != "" {
		return
	}
	inst.killed = why
	if p := inst.cmd.Process; p != nil {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
}

func (fn *function) shutdown() {
	fn.mu.Lock()
	fn.closed = true
	for _, inv := range fn.queue {
		inv.finish(nil, errors.New("lambdahost: host closed"))
	}
	fn.queue = nil
	insts := make([]*instance, 0, len(fn.instances))
	for _, inst := range fn.instances {
		fn.killLocked(inst, "host closed")
		insts = append(insts, inst)
	}
	close(fn.wake)
	fn.wake = make(chan struct{})
	fn.mu.Unlock()
	for _, inst := range insts {
		<-inst.exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = fn.srv.Shutdown(ctx)
	_ = fn.srv.Close()
}

// timedOut fails an invocation that exceeded the function's timeout and kills
// the process running it, as Lambda does.
func (fn *function) timedOut(inv *invocation) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if _, ok := fn.inflight[inv.id]; !ok {
		return
	}
	delete(fn.inflight, inv.id)
	secs := fn.cfg.Timeout.Seconds()
	inv.finish(nil, &FunctionError{Function: fn.cfg.Name, ErrorType: "Sandbox.Timedout",
		ErrorMessage: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, secs)})
	if inv.inst != nil {
		fn.killLocked(inv.inst, "timeout")
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}
