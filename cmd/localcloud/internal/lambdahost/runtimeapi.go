package lambdahost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const apiPrefix = "/2018-06-01/runtime/"

// routes serves the Runtime API. Paths are
// /_instance/<n>/2018-06-01/runtime/... for the host's own children; the
// unprefixed form is accepted too (for a runtime started by hand), without
// instance tracking.
func (fn *function) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		var inst *instance
		if rest, ok := strings.CutPrefix(path, "/_instance/"); ok {
			idText, tail, _ := strings.Cut(rest, "/")
			id, err := strconv.Atoi(idText)
			if err != nil {
				http.Error(w, "bad instance", http.StatusNotFound)
				return
			}
			fn.mu.Lock()
			inst = fn.instances[id]
			fn.mu.Unlock()
			if inst == nil {
				writeStatus(w, http.StatusGone, "instance is gone")
				return
			}
			path = "/" + tail
		}
		rest, ok := strings.CutPrefix(path, apiPrefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case rest == "invocation/next" && r.Method == http.MethodGet:
			fn.next(w, r, inst)
		case rest == "init/error" && r.Method == http.MethodPost:
			fn.initError(w, r)
		case strings.HasPrefix(rest, "invocation/") && r.Method == http.MethodPost:
			id, kind, _ := strings.Cut(strings.TrimPrefix(rest, "invocation/"), "/")
			switch kind {
			case "response":
				fn.response(w, r, id)
			case "error":
				fn.invocationError(w, r, id)
			default:
				http.NotFound(w, r)
			}
		default:
			http.NotFound(w, r)
		}
	})
}

// next blocks until an invocation is queued, then hands it to the caller.
func (fn *function) next(w http.ResponseWriter, r *http.Request, inst *instance) {
	fn.mu.Lock()
	if inst != nil {
		if !inst.started {
			inst.started = true
			fn.starting--
		}
		inst.current = nil
	}
	fn.idle++
	for len(fn.queue) == 0 {
		if fn.closed {
			fn.idle--
			fn.mu.Unlock()
			writeStatus(w, http.StatusGone, "host closed")
			return
		}
		wake := fn.wake
		fn.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			fn.mu.Lock()
			fn.idle--
			fn.mu.Unlock()
			return
		}
		fn.mu.Lock()
	}
	fn.idle--
	inv := fn.queue[0]
	fn.queue = fn.queue[1:]
	inv.inst = inst
	if inst != nil {
		inst.current = inv
	}
	inv.deadline = time.Now().Add(fn.cfg.Timeout)
	fn.inflight[inv.id] = inv
	inv.timer = time.AfterFunc(fn.cfg.Timeout, func() { fn.timedOut(inv) })
	fn.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:"+fn.cfg.Name)
	h.Set("Lambda-Runtime-Trace-Id", newTraceID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
	if inst != nil && fn.takeCrash() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		crash(inst)
	}
}

// takeInflight removes and returns the running invocation with the given id.
func (fn *function) takeInflight(id string) *invocation {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	inv := fn.inflight[id]
	delete(fn.inflight, id)
	return inv
}

func (fn *function) response(w http.ResponseWriter, r *http.Request, id string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, err.Error())
		return
	}
	inv := fn.takeInflight(id)
	if inv == nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if len(body) > MaxPayload {
		inv.finish(nil, &FunctionError{Function: fn.cfg.Name, ErrorType: "Function.ResponseSizeTooLarge",
			ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload)})
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload too large")
		return
	}
	inv.finish(body, nil)
	writeStatus(w, http.StatusAccepted, "")
}

// readError decodes an error body as runtimes post it; the error type comes
// from the body's errorType, or the Lambda-Runtime-Function-Error-Type header.
func (fn *function) readError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	fe := &FunctionError{Function: fn.cfg.Name}
	if err := json.Unmarshal(body, fe); err != nil {
		fe.ErrorMessage = strings.TrimSpace(string(body))
	}
	if fe.ErrorType == "" {
		fe.ErrorType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.ErrorType == "" {
		fe.ErrorType = "Unhandled"
	}
	return fe
}

func (fn *function) invocationError(w http.ResponseWriter, r *http.Request, id string) {
	fe := fn.readError(r)
	inv := fn.takeInflight(id)
	if inv == nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	inv.finish(nil, fe)
	writeStatus(w, http.StatusAccepted, "")
}

// initError records an init failure; the process is expected to exit, and
// invocations that waited for it fail with this error (see exited).
func (fn *function) initError(w http.ResponseWriter, r *http.Request) {
	fe := fn.readError(r)
	if fe.ErrorType == "Unhandled" {
		fe.ErrorType = "Runtime.InitError"
	}
	fn.mu.Lock()
	fn.initErr = fe
	fn.mu.Unlock()
	fn.host.logLine(fmt.Sprintf("[%s] init error: %s: %s\n", fn.cfg.Name, fe.ErrorType, fe.ErrorMessage))
	writeStatus(w, http.StatusAccepted, "")
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

func writeError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func (h *Host) logLine(s string) {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	_, _ = io.WriteString(h.opts.Log, s)
}

// prefixWriter copies a child's output to the host log line by line, each
// line prefixed with the function's name.
type prefixWriter struct {
	host   *Host
	prefix string
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		i := bytes.IndexByte(p.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := p.buf.Next(i + 1)
		p.host.logLine(p.prefix + string(line))
	}
	return len(b), nil
}

func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf.Len() > 0 {
		p.host.logLine(p.prefix + p.buf.String() + "\n")
		p.buf.Reset()
	}
}
