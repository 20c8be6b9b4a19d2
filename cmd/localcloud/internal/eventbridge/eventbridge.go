// Package eventbridge emulates the part of Amazon EventBridge the project
// uses, in memory, over the AWS JSON 1.1 protocol (POST / with an
// `X-Amz-Target: AWSEvents.<Operation>` header), so that the real
// aws-sdk-go-v2 eventbridge client and the AWS CLI (`aws events put-events`)
// talk to it unchanged; and it runs the template's scheduled events
// (schedule.go).
//
// Operations: PutEvents, validated and answered as EventBridge does:
//
//   - 1 to 10 entries, else a ValidationException for the whole request;
//   - the request's entry size (Time counts 14 bytes, then the UTF-8 bytes
//     of Source, DetailType, Detail and each of Resources, as AWS documents
//     it) at most 1 MiB, else ValidationException "Total size of the
//     entries in the request is over the limit.";
//   - per entry, in this order: Source, DetailType and Detail are required
//     (InvalidArgument "Parameter Source is not valid. Reason: Source is a
//     required argument.", and so on); Detail must be a JSON object
//     (MalformedDetail "Detail is malformed."). A failed entry has ErrorCode
//     and ErrorMessage instead of an EventId, FailedEntryCount counts them,
//     and the other entries are accepted;
//   - EventBusName is a bus name or ARN (default: the `default` bus). An
//     entry naming a bus that does not exist is accepted with an EventId
//     and dropped, as EventBridge does (it reports no error for it); the
//     local cloud keeps it with "unknownBus": true and says so on the
//     console, so the mistake is visible locally.
//
// ListEventBuses and DescribeEventBus answer for the `default` bus and the
// buses the cloud was given (the template's AWS::Events::EventBus
// resources). Every other operation is an UnknownOperationException.
//
// Every accepted event is kept, in arrival order, listed as JSON by
// `GET /events` (see Event; `?source=` and `?detail-type=` filter it,
// `DELETE /events` empties it) and printed to the console.
//
// Failures on demand: `POST /_control/faults` (faults.go).
package eventbridge

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits EventBridge applies to PutEvents.
const (
	// MaxEntries is the most entries one PutEvents call takes.
	MaxEntries = 10
	// MaxRequestSize is the most entry bytes one PutEvents call takes
	// (1 MiB since January 2026; it was 256 KiB before).
	MaxRequestSize = 1 << 20
	// DefaultBus is the name of the account's default event bus.
	DefaultBus = "default"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Region and AccountID go into ARNs and events (defaults us-east-1,
	// 000000000000).
	Region, AccountID string
	// Buses are the custom event buses besides `default` (by name).
	Buses []string
	// Console receives a short report of every event; nil prints nothing.
	Console io.Writer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Event is one accepted event as `GET /events` lists it: the event as
// EventBridge delivers it to a rule's target (version, id, detail-type,
// source, account, time, region, resources, detail), plus the bus it was
// put on and whether that bus exists.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// Bus is the event bus's name (from EventBusName, a name or an ARN).
	Bus string `json:"bus"`
	// UnknownBus is true when no such bus exists: EventBridge accepts the
	// entry and drops the event.
	UnknownBus bool `json:"unknownBus,omitempty"`
}

// Server is the EventBridge emulator: an http.Handler, safe for concurrent use.
type Server struct {
	region, account string
	console         io.Writer
	now             func() time.Time
	buses           map[string]time.Time // name → creation time

	mu     sync.Mutex
	events []Event
	faults Faults
}

// New makes a Server with the `default` bus and opts.Buses.
func New(opts Options) *Server {
	s := &Server{region: opts.Region, account: opts.AccountID, console: opts.Console, now: opts.Now, buses: map[string]time.Time{}}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	if s.now == nil {
		s.now = time.Now
	}
	created := s.now()
	s.buses[DefaultBus] = created
	for _, b := range opts.Buses {
		s.buses[b] = created
	}
	return s
}

// BusARN is the ARN of the event bus with the given name.
func (s *Server) BusARN(name string) string {
	return "arn:aws:events:" + s.region + ":" + s.account + ":event-bus/" + name
}

// Buses are the bus names, sorted.
func (s *Server) Buses() []string {
	out := make([]string, 0, len(s.buses))
	for b := range s.buses {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// Events returns the kept events in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// apiError is an AWS JSON protocol error.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", msg}
}

// targetPrefix is the X-Amz-Target prefix of EventBridge's operations.
const targetPrefix = "AWSEvents."

// ServeHTTP serves the AWS JSON 1.1 protocol on POST / and the event list
// on /events.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/events":
		s.serveEvents(w, r)
		return
	case "/_control/faults":
		s.serveFaults(w, r)
		return
	}
	id := requestID()
	w.Header().Set("X-Amzn-Requestid", id)
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, &apiError{http.StatusNotFound, "UnknownOperationException", "only POST / with X-Amz-Target is served (and GET /events)"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("unknown target %q", target)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "could not read the request body"})
		return
	}
	var out any
	switch op {
	case "PutEvents":
		var in putEventsInput
		if err = decode(body, &in); err == nil {
			if s.takeRequestFault() {
				err = errInternal
			} else {
				out, err = s.putEvents(in)
			}
		}
	case "ListEventBuses":
		var in listBusesInput
		if err = decode(body, &in); err == nil {
			out = s.listBuses(in)
		}
	case "DescribeEventBus":
		var in describeBusInput
		if err = decode(body, &in); err == nil {
			out, err = s.describeBus(in)
		}
	default:
		err = &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("operation %s is not supported by the local EventBridge (it serves PutEvents, ListEventBuses and DescribeEventBus)", op)}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, "InternalException", err.Error()}
		}
		writeError(w, ae)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "could not parse the request body as JSON: " + err.Error()}
	}
	return nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

// requestID is a random request id in the UUID shape AWS uses.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// epochSeconds is an AWS JSON timestamp (seconds since the epoch, with a fraction).
type epochSeconds float64

func (e epochSeconds) time() time.Time {
	sec, frac := math.Modf(float64(e))
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

type putEventsEntry struct {
	Time         *epochSeconds `json:"Time"`
	Source       *string       `json:"Source"`
	Resources    []string      `json:"Resources"`
	DetailType   *string       `json:"DetailType"`
	Detail       *string       `json:"Detail"`
	EventBusName *string       `json:"EventBusName"`
	TraceHeader  *string       `json:"TraceHeader"`
}

type putEventsInput struct {
	Entries    *[]putEventsEntry `json:"Entries"`
	EndpointID *string           `json:"EndpointId"`
}

type putEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type putEventsOutput struct {
	FailedEntryCount int                    `json:"FailedEntryCount"`
	Entries          []putEventsResultEntry `json:"Entries"`
}

// entrySize is an entry's size as EventBridge counts it against MaxRequestSize.
func (e putEventsEntry) size() int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, p := range []*string{e.Source, e.DetailType, e.Detail} {
		if p != nil {
			n += len(*p)
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (s *Server) putEvents(in putEventsInput) (*putEventsOutput, error) {
	if in.Entries == nil {
		return nil, validation("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null")
	}
	entries := *in.Entries
	if len(entries) < 1 {
		return nil, validation("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(entries) > MaxEntries {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '[PutEventsRequestEntry x %d]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", len(entries), MaxEntries))
	}
	total := 0
	for _, e := range entries {
		total += e.size()
	}
	if total > MaxRequestSize {
		return nil, validation("Total size of the entries in the request is over the limit.")
	}
	now := s.now().UTC()
	out := &putEventsOutput{Entries: make([]putEventsResultEntry, 0, len(entries))}
	var accepted []Event
	for _, e := range entries {
		ev, code, msg := s.accept(e, now)
		if code == "" && s.takeEntryFault() {
			code, msg = "InternalFailure", "Internal Service Failure"
		}
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, putEventsResultEntry{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		accepted = append(accepted, ev)
		out.Entries = append(out.Entries, putEventsResultEntry{EventID: ev.ID})
	}
	s.mu.Lock()
	s.events = append(s.events, accepted...)
	s.mu.Unlock()
	for _, ev := range accepted {
		s.print(ev)
	}
	return out, nil
}

// accept validates one entry and builds its event, or returns the entry's
// error code and message.
func (s *Server) accept(e putEventsEntry, now time.Time) (Event, string, string) {
	required := []struct {
		name string
		v    *string
	}{{"Source", e.Source}, {"DetailType", e.DetailType}, {"Detail", e.Detail}}
	for _, f := range required {
		if f.v == nil || *f.v == "" {
			return Event{}, "InvalidArgument", fmt.Sprintf("Parameter %s is not valid. Reason: %s is a required argument.", f.name, f.name)
		}
	}
	detail := []byte(*e.Detail)
	var obj map[string]json.RawMessage
	if !utf8.Valid(detail) || json.Unmarshal(detail, &obj) != nil || obj == nil {
		return Event{}, "MalformedDetail", "Detail is malformed."
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, detail)
	at := now
	if e.Time != nil {
		at = e.Time.time()
	}
	bus := DefaultBus
	if e.EventBusName != nil && *e.EventBusName != "" {
		bus = busName(*e.EventBusName)
	}
	_, known := s.buses[bus]
	resources := append([]string{}, e.Resources...)
	return Event{
		Version: "0", ID: uuid.NewString(), DetailType: *e.DetailType, Source: *e.Source,
		Account: s.account, Time: at.Format(TimeFormat), Region: s.region, Resources: resources,
		Detail: compact.Bytes(), Bus: bus, UnknownBus: !known,
	}, "", ""
}

// TimeFormat is the format of an event's time (UTC, whole seconds).
const TimeFormat = "2006-01-02T15:04:05Z"

// busName is the bus name in an EventBusName: the name itself, or the last
// part of an ARN (arn:aws:events:<region>:<account>:event-bus/<name>).
func busName(nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		if _, name, ok := strings.Cut(nameOrARN, ":event-bus/"); ok {
			return name
		}
	}
	return nameOrARN
}

// maxPrinted bounds the detail printed on the console.
const maxPrinted = 400

func (s *Server) print(ev Event) {
	if s.console == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "events: event %s on bus %s from %s: %q\n", ev.ID, ev.Bus, ev.Source, ev.DetailType)
	if ev.UnknownBus {
		fmt.Fprintf(&b, "events:   the bus %s does not exist: EventBridge accepts the event and drops it\n", ev.Bus)
	}
	d := string(ev.Detail)
	if len(d) > maxPrinted {
		d = d[:maxPrinted] + fmt.Sprintf("… (%d bytes)", len(ev.Detail))
	}
	fmt.Fprintf(&b, "events:   detail %s\n", d)
	_, _ = io.WriteString(s.console, b.String())
}

type listBusesInput struct {
	NamePrefix *string `json:"NamePrefix"`
	Limit      *int    `json:"Limit"`
	NextToken  *string `json:"NextToken"`
}

type eventBus struct {
	Name             string       `json:"Name"`
	Arn              string       `json:"Arn"`
	CreationTime     epochSeconds `json:"CreationTime"`
	LastModifiedTime epochSeconds `json:"LastModifiedTime"`
}

func (s *Server) bus(name string) eventBus {
	t := epochSeconds(float64(s.buses[name].UnixMilli()) / 1000)
	return eventBus{Name: name, Arn: s.BusARN(name), CreationTime: t, LastModifiedTime: t}
}

func (s *Server) listBuses(in listBusesInput) map[string]any {
	buses := []eventBus{}
	for _, name := range s.Buses() {
		if in.NamePrefix == nil || strings.HasPrefix(name, *in.NamePrefix) {
			buses = append(buses, s.bus(name))
		}
	}
	return map[string]any{"EventBuses": buses}
}

type describeBusInput struct {
	Name *string `json:"Name"`
}

func (s *Server) describeBus(in describeBusInput) (eventBus, error) {
	name := DefaultBus
	if in.Name != nil && *in.Name != "" {
		name = busName(*in.Name)
	}
	if _, ok := s.buses[name]; !ok {
		return eventBus{}, &apiError{http.StatusBadRequest, "ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", name)}
	}
	return s.bus(name), nil
}

// serveEvents lists the kept events (GET, filtered by ?source= and
// ?detail-type=, each repeatable) or empties the list (DELETE).
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		sources, types, buses := q["source"], q["detail-type"], q["bus"]
		out := []Event{}
		for _, ev := range s.Events() {
			if matches(sources, ev.Source) && matches(types, ev.DetailType) && matches(buses, ev.Bus) {
				out = append(out, ev)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	case http.MethodDelete:
		s.mu.Lock()
		s.events = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, DELETE")
		http.Error(w, "GET or DELETE /events", http.StatusMethodNotAllowed)
	}
}

func matches(want []string, v string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if w == v {
			return true
		}
	}
	return false
}

var _ http.Handler = (*Server)(nil)
