package providerevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const prv = "prv_01jd2y5q8w3v6t9x0b1c2d3e4f"

func image(status, version string, extra map[string]events.DynamoDBAttributeValue) map[string]events.DynamoDBAttributeValue {
	img := map[string]events.DynamoDBAttributeValue{
		"pk": events.NewStringAttribute("ACCOUNT#acct-1"), "sk": events.NewStringAttribute("PROVIDER#" + prv),
		"id": events.NewStringAttribute(prv), "accountId": events.NewStringAttribute("acct-1"), "option": events.NewStringAttribute("migrate"),
		"version": events.NewNumberAttribute(version), "updatedAt": events.NewStringAttribute("2026-05-01T09:00:00.5Z"),
	}
	if status != "" {
		img["status"] = events.NewStringAttribute(status)
	}
	for k, v := range extra {
		img[k] = v
	}
	return img
}

func record(name string, oldImg, newImg map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
		SequenceNumber: "7", OldImage: oldImg, NewImage: newImg,
		Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ACCOUNT#acct-1"), "sk": events.NewStringAttribute("PROVIDER#" + prv)},
	}}
}

func healthAttr(status string, findings ...string) map[string]events.DynamoDBAttributeValue {
	var list []events.DynamoDBAttributeValue
	for _, f := range findings {
		list = append(list, events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
			"what": events.NewStringAttribute(f), "since": events.NewStringAttribute("2026-04-30T00:00:00Z"), "do": events.NewStringAttribute("Ask the customer to approve again."),
		}))
	}
	return map[string]events.DynamoDBAttributeValue{"health": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
		"status": events.NewStringAttribute(status), "findings": events.NewListAttribute(list),
	})}
}

// validator compiles the package's schemas.
func validator(t *testing.T) func(detailType string, detail []byte) error {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schemas := map[string]*jsonschema.Schema{}
	for _, dt := range []string{DetailTypeStatus, DetailTypeHealth} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema(dt)))
		if err != nil {
			t.Fatal(err)
		}
		url := "mem://schemas/" + strings.ReplaceAll(dt, " ", "-")
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
		if schemas[dt], err = c.Compile(url); err != nil {
			t.Fatal(err)
		}
	}
	return func(dt string, detail []byte) error {
		s, ok := schemas[dt]
		if !ok {
			return fmt.Errorf("no schema for %q", dt)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(detail))
		if err != nil {
			return err
		}
		return s.Validate(v)
	}
}

func TestChanges(t *testing.T) {
	validate := validator(t)
	tests := []struct {
		name   string
		rec    events.DynamoDBEventRecord
		want   []string // detail types
		old    []string // old status or health, "null" for none
		newVal []string
	}{
		{"created", record("INSERT", nil, image("pending_consent", "1", nil)), []string{DetailTypeStatus}, []string{"null"}, []string{"pending_consent"}},
		{"status changed", record("MODIFY", image("pending_consent", "1", nil), image("awaiting_customer", "2", nil)), []string{DetailTypeStatus}, []string{"pending_consent"}, []string{"awaiting_customer"}},
		{"same status: nothing", record("MODIFY", image("awaiting_customer", "2", nil), image("awaiting_customer", "3", nil)), nil, nil, nil},
		{"health first set", record("MODIFY", image("active", "5", nil), image("active", "6", healthAttr("ok"))), []string{DetailTypeHealth}, []string{"null"}, []string{"ok"}},
		{"health changed, with findings", record("MODIFY", image("active", "6", healthAttr("ok")), image("active", "7", healthAttr("attention", "Admin consent revoked"))), []string{DetailTypeHealth}, []string{"ok"}, []string{"attention"}},
		{"status and health at once", record("MODIFY", image("awaiting_owner_access", "6", nil), image("active", "7", healthAttr("ok"))), []string{DetailTypeStatus, DetailTypeHealth}, []string{"awaiting_owner_access", "null"}, []string{"active", "ok"}},
		{"removal: nothing", record("REMOVE", image("active", "7", nil), nil), nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Changes(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			var types, olds, news []string
			for _, e := range got {
				types = append(types, e.DetailType)
				raw, err := json.Marshal(e.Detail)
				if err != nil {
					t.Fatal(err)
				}
				if err := validate(e.DetailType, raw); err != nil {
					t.Fatalf("%s does not follow its schema: %v\n%s", e.DetailType, err, raw)
				}
				var m map[string]any
				_ = json.Unmarshal(raw, &m)
				oldKey, newKey := "oldStatus", "newStatus"
				if e.DetailType == DetailTypeHealth {
					oldKey, newKey = "oldHealth", "newHealth"
				}
				o := "null"
				if s, ok := m[oldKey].(string); ok {
					o = s
				}
				olds, news = append(olds, o), append(news, m[newKey].(string))
				if m["eventId"] == "" || m["providerId"] != prv || m["accountId"] != "acct-1" {
					t.Fatalf("detail %s", raw)
				}
			}
			if !slices.Equal(types, tt.want) || !slices.Equal(olds, tt.old) || !slices.Equal(news, tt.newVal) {
				t.Fatalf("got %v %v→%v, want %v %v→%v", types, olds, news, tt.want, tt.old, tt.newVal)
			}
		})
	}
}

func TestChangesStableEventID(t *testing.T) {
	rec := record("MODIFY", image("pending_consent", "1", nil), image("awaiting_customer", "2", nil))
	a, _ := Changes(rec)
	b, _ := Changes(rec)
	if a[0].Detail.(StatusChanged).EventID != b[0].Detail.(StatusChanged).EventID || a[0].Detail.(StatusChanged).EventID != prv+"/2/status" {
		t.Fatalf("event ids %v %v", a[0].Detail, b[0].Detail)
	}
}

func TestChangesRefusesUnreadableImages(t *testing.T) {
	noVersion := image("active", "x", nil)
	noVersion["version"] = events.NewStringAttribute("x")
	badTime := image("active", "2", nil)
	badTime["updatedAt"] = events.NewStringAttribute("yesterday")
	for name, rec := range map[string]events.DynamoDBEventRecord{
		"no new image (KEYS_ONLY stream)": record("MODIFY", nil, nil),
		"version not a number":            record("MODIFY", nil, noVersion),
		"updatedAt not a time":            record("MODIFY", nil, badTime),
	} {
		if _, err := Changes(rec); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	other := record("MODIFY", nil, image("active", "2", nil))
	other.Change.Keys["sk"] = events.NewStringAttribute("NAME#contoso")
	if got, err := Changes(other); err != nil || got != nil {
		t.Errorf("a name claim gave %v %v", got, err)
	}
}

type fakeBus struct {
	calls   [][]types.PutEventsRequestEntry
	reject  map[int]bool // entry index (over all calls) answered with an error
	code    string       // its ErrorCode, default InternalFailure
	callErr error
	n       int
}

func (f *fakeBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, in.Entries)
	if f.callErr != nil {
		return nil, f.callErr
	}
	out := &eventbridge.PutEventsOutput{}
	for range in.Entries {
		r := types.PutEventsResultEntry{EventId: aws.String(fmt.Sprint(f.n))}
		if f.reject[f.n] {
			code := f.code
			if code == "" {
				code = "InternalFailure"
			}
			r = types.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("try again")}
			out.FailedEntryCount++
		}
		out.Entries = append(out.Entries, r)
		f.n++
	}
	return out, nil
}

func TestPublish(t *testing.T) {
	evs := make([]Event, 23)
	for i := range evs {
		evs[i] = Event{DetailType: DetailTypeStatus, ProviderID: prv, Detail: StatusChanged{EventID: fmt.Sprint(i), NewStatus: "active"}}
	}
	t.Run("ten per call, on the bus, with source and detail", func(t *testing.T) {
		bus := &fakeBus{}
		failed, err := (&Publisher{Client: bus, Bus: "stack-providers"}).Publish(context.Background(), evs)
		if err != nil || failed != nil {
			t.Fatal(failed, err)
		}
		if len(bus.calls) != 3 || len(bus.calls[0]) != 10 || len(bus.calls[2]) != 3 {
			t.Fatalf("calls of %d", len(bus.calls))
		}
		e := bus.calls[0][0]
		if aws.ToString(e.EventBusName) != "stack-providers" || aws.ToString(e.Source) != Source || aws.ToString(e.DetailType) != DetailTypeStatus || !json.Valid([]byte(aws.ToString(e.Detail))) {
			t.Fatalf("entry %+v", e)
		}
	})
	noWait := func(int) time.Duration { return 0 }
	t.Run("a refused entry is sent again alone", func(t *testing.T) {
		bus := &fakeBus{reject: map[int]bool{4: true, 10: true}}
		failed, err := (&Publisher{Client: bus, Bus: "b", Backoff: noWait}).Publish(context.Background(), evs[:12])
		if err != nil || failed != nil {
			t.Fatalf("failed %v, %v", failed, err)
		}
		var sent []int
		for _, c := range bus.calls {
			sent = append(sent, len(c))
		}
		if !slices.Equal(sent, []int{10, 1, 1, 2}) {
			t.Fatalf("calls of %v entries, want 10, then entry 4 alone twice, then 2", sent)
		}
		if d := aws.ToString(bus.calls[2][0].Detail); !strings.Contains(d, `"eventId":"4"`) {
			t.Fatalf("resent %s, want event 4", d)
		}
	})
	t.Run("an entry refused every attempt fails it and the later calls are not made", func(t *testing.T) {
		bus := &fakeBus{reject: map[int]bool{4: true, 10: true, 11: true}}
		failed, err := (&Publisher{Client: bus, Bus: "b", Attempts: 3, Backoff: noWait}).Publish(context.Background(), evs)
		want := []int{4}
		for i := 10; i < len(evs); i++ {
			want = append(want, i)
		}
		if err == nil || !slices.Equal(failed, want) || len(bus.calls) != 3 {
			t.Fatalf("failed %v in %d calls, %v; want %v in 3", failed, len(bus.calls), err, want)
		}
	})
	t.Run("an entry refused for good is not sent again", func(t *testing.T) {
		bus := &fakeBus{reject: map[int]bool{1: true}, code: "MalformedDetail"}
		failed, err := (&Publisher{Client: bus, Bus: "b", Backoff: noWait}).Publish(context.Background(), evs[:3])
		if err == nil || !slices.Equal(failed, []int{1}) || len(bus.calls) != 1 {
			t.Fatalf("failed %v in %d calls, %v", failed, len(bus.calls), err)
		}
	})
	t.Run("a failed call fails its entries and the later ones", func(t *testing.T) {
		bus := &fakeBus{callErr: errors.New("throttled")}
		failed, err := (&Publisher{Client: bus, Bus: "b"}).Publish(context.Background(), evs)
		if err == nil || len(failed) != len(evs) || len(bus.calls) != 1 {
			t.Fatalf("failed %v in %d calls, %v", failed, len(bus.calls), err)
		}
	})
}
