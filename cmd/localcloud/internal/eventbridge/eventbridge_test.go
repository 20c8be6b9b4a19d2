package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newClient(t *testing.T, console io.Writer) (*eventbridge.Client, *Server, string) {
	t.Helper()
	s := New(Options{Buses: []string{"partner-cloud-local-providers"}, Console: console, Now: func() time.Time { return fixedNow }})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	client := eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret-key", ""),
	})
	return client, s, srv.URL
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestPutEventsEntries: the SDK client's PutEvents gets one result per
// entry, in order: an EventId for an accepted entry, AWS's ErrorCode and
// ErrorMessage for a refused one, and FailedEntryCount counts the refused.
func TestPutEventsEntries(t *testing.T) {
	str := aws.String
	ok := func(bus *string) types.PutEventsRequestEntry {
		return types.PutEventsRequestEntry{Source: str("partner.providers"), DetailType: str("ProviderActivated"), Detail: str(`{"providerId":"p-1"}`), EventBusName: bus}
	}
	tests := []struct {
		name     string
		entry    types.PutEventsRequestEntry
		code     string
		message  string
		bus      string
		unknown  bool
		resource []string
	}{
		{name: "default bus", entry: ok(nil), bus: "default"},
		{name: "bus by name", entry: ok(str("partner-cloud-local-providers")), bus: "partner-cloud-local-providers"},
		{name: "bus by ARN", entry: ok(str("arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers")), bus: "partner-cloud-local-providers"},
		{name: "unknown bus is accepted and dropped", entry: ok(str("no-such-bus")), bus: "no-such-bus", unknown: true},
		{name: "resources", entry: types.PutEventsRequestEntry{Source: str("s"), DetailType: str("t"), Detail: str(`{}`), Resources: []string{"arn:aws:x:::a", "b"}}, bus: "default", resource: []string{"arn:aws:x:::a", "b"}},
		{name: "no source", entry: types.PutEventsRequestEntry{DetailType: str("t"), Detail: str(`{}`)}, code: "InvalidArgument", message: "Parameter Source is not valid. Reason: Source is a required argument."},
		{name: "empty source", entry: types.PutEventsRequestEntry{Source: str(""), DetailType: str("t"), Detail: str(`{}`)}, code: "InvalidArgument", message: "Parameter Source is not valid. Reason: Source is a required argument."},
		{name: "no detail type", entry: types.PutEventsRequestEntry{Source: str("s"), Detail: str(`{}`)}, code: "InvalidArgument", message: "Parameter DetailType is not valid. Reason: DetailType is a required argument."},
		{name: "no detail", entry: types.PutEventsRequestEntry{Source: str("s"), DetailType: str("t")}, code: "InvalidArgument", message: "Parameter Detail is not valid. Reason: Detail is a required argument."},
		{name: "detail not JSON", entry: types.PutEventsRequestEntry{Source: str("s"), DetailType: str("t"), Detail: str(`{"a":`)}, code: "MalformedDetail", message: "Detail is malformed."},
		{name: "detail an array", entry: types.PutEventsRequestEntry{Source: str("s"), DetailType: str("t"), Detail: str(`[1]`)}, code: "MalformedDetail", message: "Detail is malformed."},
		{name: "detail a string", entry: types.PutEventsRequestEntry{Source: str("s"), DetailType: str("t"), Detail: str(`"x"`)}, code: "MalformedDetail", message: "Detail is malformed."},
		{name: "detail null", entry: types.PutEventsRequestEntry{Source: str("s"), DetailType: str("t"), Detail: str(`null`)}, code: "MalformedDetail", message: "Detail is malformed."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var console bytes.Buffer
			client, s, _ := newClient(t, &console)
			// A valid entry after the one under test: it is accepted either way.
			out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{tc.entry, ok(nil)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Entries) != 2 || out.Entries[1].EventId == nil {
				t.Fatalf("entries %+v", out.Entries)
			}
			got := out.Entries[0]
			if tc.code != "" {
				if aws.ToString(got.ErrorCode) != tc.code || aws.ToString(got.ErrorMessage) != tc.message || got.EventId != nil || out.FailedEntryCount != 1 {
					t.Fatalf("got %q %q %v, failed %d", aws.ToString(got.ErrorCode), aws.ToString(got.ErrorMessage), got.EventId, out.FailedEntryCount)
				}
				if n := len(s.Events()); n != 1 {
					t.Fatalf("%d events kept, want the valid one only", n)
				}
				return
			}
			if out.FailedEntryCount != 0 || got.ErrorCode != nil || !uuidPattern.MatchString(aws.ToString(got.EventId)) {
				t.Fatalf("got %+v, failed %d", got, out.FailedEntryCount)
			}
			evs := s.Events()
			if len(evs) != 2 {
				t.Fatalf("%d events kept", len(evs))
			}
			ev := evs[0]
			if ev.ID != aws.ToString(got.EventId) || ev.Bus != tc.bus || ev.UnknownBus != tc.unknown || ev.Source != aws.ToString(tc.entry.Source) ||
				ev.DetailType != aws.ToString(tc.entry.DetailType) || ev.Time != "2026-03-04T05:06:07Z" || ev.Account != "000000000000" || ev.Region != "us-east-1" || ev.Version != "0" {
				t.Errorf("event %+v", ev)
			}
			if strings.Join(ev.Resources, ",") != strings.Join(tc.resource, ",") {
				t.Errorf("resources %v, want %v", ev.Resources, tc.resource)
			}
			if !strings.Contains(console.String(), "events: event "+ev.ID+" on bus "+tc.bus) || strings.Contains(console.String(), "does not exist") != tc.unknown {
				t.Errorf("console:\n%s", console.String())
			}
		})
	}
}

// TestPutEventsTime: an entry's Time is the event's time (whole seconds, UTC).
func TestPutEventsTime(t *testing.T) {
	client, s, _ := newClient(t, nil)
	at := time.Date(2025, 12, 31, 23, 59, 58, 700e6, time.FixedZone("x", 3600))
	_, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{ "a" : [1, 2] }`), Time: &at}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := s.Events()[0]
	if ev.Time != "2025-12-31T22:59:58Z" || string(ev.Detail) != `{"a":[1,2]}` {
		t.Errorf("time %s detail %s", ev.Time, ev.Detail)
	}
}

// TestPutEventsRequestErrors: what EventBridge refuses as a whole request,
// as the SDK's typed error with AWS's code and message; nothing is kept.
func TestPutEventsRequestErrors(t *testing.T) {
	entry := func(detailBytes int) types.PutEventsRequestEntry {
		return types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"),
			Detail: aws.String(`{"p":"` + strings.Repeat("x", detailBytes-8) + `"}`)}
	}
	many := make([]types.PutEventsRequestEntry, 11)
	for i := range many {
		many[i] = entry(10)
	}
	tests := []struct {
		name    string
		entries []types.PutEventsRequestEntry
		message string
	}{
		{"no entries", []types.PutEventsRequestEntry{}, "Member must have length greater than or equal to 1"},
		{"eleven entries", many, "Member must have length less than or equal to 10"},
		{"over 1 MiB", []types.PutEventsRequestEntry{entry(MaxRequestSize / 2), entry(MaxRequestSize/2 - 1)}, "Total size of the entries in the request is over the limit."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, s, _ := newClient(t, nil)
			_, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: tc.entries})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), tc.message) {
				t.Fatalf("err = %v", err)
			}
			if len(s.Events()) != 0 {
				t.Error("events kept")
			}
		})
	}
	// Exactly 1 MiB is accepted (2 × (1 + 1 + detail)).
	client, s, _ := newClient(t, nil)
	out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry(MaxRequestSize/2 - 2), entry(MaxRequestSize/2 - 2)}})
	if err != nil || out.FailedEntryCount != 0 || len(s.Events()) != 2 {
		t.Fatalf("1 MiB: %v %+v", err, out)
	}
}

// TestBusesAndUnknownOperation: ListEventBuses and DescribeEventBus see the
// default bus and the configured ones; an unknown bus is
// ResourceNotFoundException and an unknown operation UnknownOperationException.
func TestBusesAndUnknownOperation(t *testing.T) {
	ctx := context.Background()
	client, _, url := newClient(t, nil)
	list, err := client.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list.EventBuses {
		names = append(names, aws.ToString(b.Name)+"="+aws.ToString(b.Arn))
	}
	if strings.Join(names, " ") != "default=arn:aws:events:us-east-1:000000000000:event-bus/default partner-cloud-local-providers=arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers" {
		t.Errorf("buses %v", names)
	}
	d, err := client.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("partner-cloud-local-providers")})
	if err != nil || aws.ToString(d.Arn) != "arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers" || d.CreationTime == nil || !d.CreationTime.Equal(fixedNow) {
		t.Errorf("describe: %v %+v", err, d)
	}
	_, err = client.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Event bus nope does not exist." {
		t.Errorf("describe unknown: %v", err)
	}
	_, err = client.ListRules(ctx, &eventbridge.ListRulesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" {
		t.Errorf("ListRules: %v", err)
	}
	// A raw request: the error body and headers in the AWS JSON 1.1 shape.
	req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.PutRule")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e map[string]string
	if resp.StatusCode != 400 || json.Unmarshal(body, &e) != nil || e["__type"] != "UnknownOperationException" ||
		resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !uuidPattern.MatchString(resp.Header.Get("X-Amzn-Requestid")) {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
}

// TestEventsListing: GET /events lists every kept event in arrival order,
// in the documented shape, filtered by source and detail-type; DELETE
// empties it.
func TestEventsListing(t *testing.T) {
	ctx := context.Background()
	client, _, url := newClient(t, nil)
	put := func(source, detailType, detail string) {
		t.Helper()
		out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			{Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(detail), EventBusName: aws.String("partner-cloud-local-providers")}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put: %v %+v", err, out)
		}
	}
	put("partner.providers", "ProviderActivated", `{"providerId":"p-1"}`)
	put("partner.providers", "ProviderFailed", `{"providerId":"p-2"}`)
	put("partner.billing", "ProviderActivated", `{"providerId":"p-3"}`)

	list := func(query string) []map[string]any {
		t.Helper()
		resp, err := http.Get(url + "/events" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET /events%s: %d", query, resp.StatusCode)
		}
		var out []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		query string
		ids   []string
	}{
		{"", []string{"p-1", "p-2", "p-3"}},
		{"?source=partner.providers", []string{"p-1", "p-2"}},
		{"?detail-type=ProviderActivated", []string{"p-1", "p-3"}},
		{"?source=partner.providers&detail-type=ProviderActivated", []string{"p-1"}},
		{"?source=partner.billing&source=partner.providers", []string{"p-1", "p-2", "p-3"}},
		{"?bus=default", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var ids []string
			for _, ev := range list(tc.query) {
				ids = append(ids, ev["detail"].(map[string]any)["providerId"].(string))
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
				t.Errorf("ids %v, want %v", ids, tc.ids)
			}
		})
	}
	ev := list("")[0]
	for _, k := range []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "bus"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("event lacks %q: %v", k, ev)
		}
	}
	if _, ok := ev["resources"].([]any); !ok || ev["bus"] != "partner-cloud-local-providers" || ev["unknownBus"] != nil {
		t.Errorf("event %v", ev)
	}
	req, _ := http.NewRequest(http.MethodDelete, url+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(list("")) != 0 {
		t.Errorf("DELETE /events: %d", resp.StatusCode)
	}
}
