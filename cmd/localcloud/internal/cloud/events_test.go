package cloud

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	localeb "github.com/partnercloud/azure/cmd/localcloud/internal/eventbridge"
)

// TestEventBridge: in a started local cloud, EventBridge is in
// endpoints.json and in the functions' environment; the SDK client puts
// events on the template's bus, listed at {events}/events and printed to the
// console; and the template's schedules run at the time scale (86400: a
// rate of one day fires every second), a function with the scheduled event
// or its Input, a state machine with StartExecution, a disabled event and
// an unsupported cron not at all.
func TestEventBridge(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	log, console := &syncBuffer{}, &syncBuffer{}
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{
		Root: root, Template: "testdata/events-template.yaml", Scenario: "testdata/scenario.json", StateDir: state,
		APIAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", TimeScale: 86400, Log: log, Console: console,
		StepFunctionsAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", OutboxAddr: "127.0.0.1:0",
		SecretsManagerAddr: "127.0.0.1:0", MicrosoftAddr: "127.0.0.1:0", EventsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer func() {
		if t.Failed() {
			t.Log(log.text())
		}
	}()

	data, err := os.ReadFile(filepath.Join(state, EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	var eps map[string]string
	if err := json.Unmarshal(data, &eps); err != nil {
		t.Fatal(err)
	}
	url := eps["events"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("endpoints.json events = %q", url)
	}
	out, err := c.Invoker().Invoke(ctx, "Echo", []byte(`{"action":"env","keys":["AWS_ENDPOINT_URL_EVENTBRIDGE","EVENT_BUS_NAME"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	_ = json.Unmarshal(out, &env)
	if env["AWS_ENDPOINT_URL_EVENTBRIDGE"] != url || env["EVENT_BUS_NAME"] != "partner-cloud-local-providers" {
		t.Errorf("function environment %v", env)
	}

	// The SDK client, as a function would make it from its environment.
	client := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL_EVENTBRIDGE"]),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	put, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("partner.providers"), DetailType: aws.String("ProviderActivated"), Detail: aws.String(`{"providerId":"p-1"}`),
			EventBusName: aws.String(env["EVENT_BUS_NAME"]), Resources: []string{"provider/p-1"}},
		{Source: aws.String("partner.providers"), DetailType: aws.String("ProviderActivated"), Detail: aws.String(`[]`)},
	}})
	if err != nil || put.FailedEntryCount != 1 || aws.ToString(put.Entries[1].ErrorCode) != "MalformedDetail" {
		t.Fatalf("PutEvents: %v %+v", err, put)
	}
	resp, err := http.Get(url + "/events?source=partner.providers")
	if err != nil {
		t.Fatal(err)
	}
	var listed []localeb.Event
	err = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if err != nil || len(listed) != 1 || listed[0].ID != aws.ToString(put.Entries[0].EventId) || listed[0].Bus != "partner-cloud-local-providers" ||
		listed[0].UnknownBus || !strings.Contains(string(listed[0].Detail), `"providerId": "p-1"`) || strings.Join(listed[0].Resources, ",") != "provider/p-1" {
		t.Errorf("listed %+v (%v)", listed, err)
	}
	if !strings.Contains(console.text(), "events: event "+listed[0].ID+" on bus partner-cloud-local-providers from partner.providers") {
		t.Errorf("console:\n%s", console.text())
	}

	// The schedules: wait (in real time, the processes being real) until
	// each enabled one has fired.
	deadline := time.Now().Add(60 * time.Second)
	byName := map[string][]localeb.Firing{}
	for time.Now().Before(deadline) {
		byName = map[string][]localeb.Firing{}
		for _, f := range c.ScheduleFirings() {
			byName[f.Schedule] = append(byName[f.Schedule], f)
		}
		if len(byName["partner-cloud-local-EchoDaily"]) >= 2 && len(byName["EchoNightly"]) >= 1 && len(byName["FlowKick"]) >= 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	daily := byName["partner-cloud-local-EchoDaily"]
	if len(daily) < 2 || len(byName["EchoNightly"]) < 1 || len(byName["FlowKick"]) < 1 {
		t.Fatalf("firings %v", byName)
	}
	if len(byName["partner-cloud-local-EchoOff"]) != 0 || len(byName["EchoLastDay"]) != 0 {
		t.Errorf("a disabled or unsupported schedule fired: %v", byName)
	}
	for _, f := range append(append(daily, byName["EchoNightly"]...), byName["FlowKick"]...) {
		if f.Err != "" || f.Attempts != 1 {
			t.Errorf("firing %+v", f)
		}
	}
	var ev map[string]any
	if err := json.Unmarshal(daily[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev["source"] != "aws.events" || ev["detail-type"] != "Scheduled Event" || ev["resources"].([]any)[0] != "arn:aws:events:us-east-1:000000000000:rule/partner-cloud-local-EchoDaily" {
		t.Errorf("scheduled event %v", ev)
	}
	// Local days pass a second apart.
	t0, _ := time.Parse(localeb.TimeFormat, ev["time"].(string))
	_ = json.Unmarshal(daily[1].Payload, &ev)
	t1, _ := time.Parse(localeb.TimeFormat, ev["time"].(string))
	if t1.Sub(t0) != 24*time.Hour {
		t.Errorf("firings at %v and %v", t0, t1)
	}
	if string(byName["EchoNightly"][0].Payload) != `{"action":"reply","reply":{"sweep":"nightly"}}` {
		t.Errorf("input %s", byName["EchoNightly"][0].Payload)
	}
	exec := byName["FlowKick"][0].Execution
	if !strings.HasPrefix(exec, "arn:aws:states:us-east-1:000000000000:execution:partner-cloud-local-flow:") {
		t.Errorf("execution %q", exec)
	}
	if out := log.text(); !strings.Contains(out, "scheduled event not run locally") || !strings.Contains(out, `in the day-of-month field is not supported`) {
		t.Errorf("no warning for the unsupported cron")
	}

	// Close stops the schedules: no firing after it.
	c.Close()
	n := len(c.ScheduleFirings())
	time.Sleep(1500 * time.Millisecond)
	if len(c.ScheduleFirings()) != n {
		t.Error("schedules fired after Close")
	}
}
