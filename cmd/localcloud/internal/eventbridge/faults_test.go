package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

func controlFaults(t *testing.T, base, body string) (int, Faults) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/_control/faults", nil)
	if body != "" {
		req, _ = http.NewRequest(http.MethodPost, base+"/_control/faults", strings.NewReader(body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f Faults
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, f
}

func entries(n int) []types.PutEventsRequestEntry {
	out := make([]types.PutEventsRequestEntry, n)
	for i := range out {
		out[i] = types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{"i":` + string(rune('0'+i)) + `}`)}
	}
	return out
}

// TestEntryFaults: {"failNext": 3} refuses the next three entries, across
// calls, with InternalFailure; the calls' other entries are accepted and
// only those are kept.
func TestEntryFaults(t *testing.T) {
	client, s, base := newClient(t, nil)
	if code, f := controlFaults(t, base, `{"failNext": 3}`); code != 200 || f.Entries != 3 || f.Requests != 0 {
		t.Fatalf("set: %d %+v", code, f)
	}
	ctx := context.Background()
	wantFailed := []int{2, 1, 0}
	for call, want := range wantFailed {
		out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries(2)})
		if err != nil {
			t.Fatal(err)
		}
		if int(out.FailedEntryCount) != want {
			t.Fatalf("call %d: FailedEntryCount %d, want %d", call, out.FailedEntryCount, want)
		}
		for i, e := range out.Entries {
			failed := i < want
			if failed != (e.EventId == nil) {
				t.Fatalf("call %d entry %d: %+v", call, i, e)
			}
			if failed && (aws.ToString(e.ErrorCode) != "InternalFailure" || aws.ToString(e.ErrorMessage) != "Internal Service Failure") {
				t.Fatalf("call %d entry %d: %s %s", call, i, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
			}
		}
	}
	if n := len(s.Events()); n != 3 {
		t.Fatalf("%d events kept, want the 3 accepted", n)
	}
	if code, f := controlFaults(t, base, ""); code != 200 || f != (Faults{}) {
		t.Fatalf("after: %d %+v", code, f)
	}
}

// TestRequestFaults: {"failNext": n, "mode": "request"} answers the next n
// calls 500 InternalException and keeps nothing; an SDK client with retries
// gets through when n is below its attempts.
func TestRequestFaults(t *testing.T) {
	client, s, base := newClient(t, nil)
	ctx := context.Background()
	once := func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 }
	if code, f := controlFaults(t, base, `{"failNext": 1, "mode": "request"}`); code != 200 || f.Requests != 1 {
		t.Fatalf("set: %d %+v", code, f)
	}
	_, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries(2)}, once)
	var ae smithy.APIError
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalException" || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("failed call: %v", err)
	}
	if n := len(s.Events()); n != 0 {
		t.Fatalf("%d events kept from a failed call", n)
	}
	if _, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries(1)}, once); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	controlFaults(t, base, `{"failNext": 2, "mode": "request"}`)
	if _, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries(1)}, func(o *eventbridge.Options) { o.RetryMaxAttempts = 3 }); err != nil {
		t.Fatalf("retried by the SDK: %v", err)
	}
	if n := len(s.Events()); n != 2 {
		t.Fatalf("%d events kept, want 2", n)
	}
}

func TestFaultControlRefuses(t *testing.T) {
	_, _, base := newClient(t, nil)
	for _, body := range []string{`{"failNext": -1}`, `{"failNext": 1, "mode": "sometimes"}`, `{"fail": 1}`, `nope`} {
		if code, _ := controlFaults(t, base, body); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, code)
		}
	}
}
