package cloud

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"
	"github.com/partnercloud/azure/shared/account"
)

// fakeService stands in for a plugged-in emulator (Step Functions, say).
type fakeService struct {
	ln     net.Listener
	cloud  *Cloud
	closed bool
}

func (f *fakeService) Name() string { return "fake-sfn" }
func (f *fakeService) Start(_ context.Context, c *Cloud) (Endpoint, error) {
	ln, err := Listen("127.0.0.1:0", "-sfn-addr")
	if err != nil {
		return Endpoint{}, err
	}
	f.ln, f.cloud = ln, c
	go http.Serve(ln, http.NotFoundHandler())
	return Endpoint{Key: "fake", URL: "http://" + ln.Addr().String(), Env: map[string]string{"EXTRA_FROM_SERVICE": "yes"}}, nil
}
func (f *fakeService) Close() error { f.closed = true; return f.ln.Close() }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func startCloud(t *testing.T, svc Service) (*Cloud, string) {
	t.Helper()
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	log := &syncBuffer{}
	opts := Options{
		Root: root, Template: "testdata/template.yaml", Scenario: "testdata/scenario.json", StateDir: state,
		APIAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", TimeScale: 60, Log: log,
		StepFunctionsAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", OutboxAddr: "127.0.0.1:0",
		SecretsManagerAddr: "127.0.0.1:0", MicrosoftAddr: "127.0.0.1:0", EventsAddr: "127.0.0.1:0",
		Logger:       slog.New(slog.NewTextHandler(log, nil)),
		EnvOverrides: map[string]string{"OVERRIDE_ME": "over"},
	}
	if svc != nil {
		opts.Services = []Service{svc}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, state
}

func TestCloudEndToEnd(t *testing.T) {
	svc := &fakeService{}
	c, state := startCloud(t, svc)

	// endpoints.json names every part.
	data, err := os.ReadFile(filepath.Join(state, EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	var eps map[string]string
	if err := json.Unmarshal(data, &eps); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"api", "outbox", "microsoft", "stepfunctions", "dynamodb", "ses", "secretsmanager", "events", "jwtIssuer", "jwtAudience", "fake", "microsoftCA", "timeScale"} {
		if eps[k] == "" {
			t.Errorf("endpoints.json lacks %s: %v", k, eps)
		}
	}
	if eps["api"] != c.APIURL() || eps["fake"] != "http://"+svc.ln.Addr().String() || eps["timeScale"] != "60" {
		t.Errorf("endpoints %v", eps)
	}
	// The template's JWT configuration is used.
	if eps["jwtIssuer"] != "https://auth.partner.example/" || eps["jwtAudience"] != "partner-cloud-web" {
		t.Errorf("issuer %q audience %q", eps["jwtIssuer"], eps["jwtAudience"])
	}
	if c.TimeScale() != 60 || svc.cloud != c {
		t.Error("service did not get the cloud")
	}

	// An authenticated API call reaches the function with the claims.
	tok, err := c.Token("acct-eligible", []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", c.APIURL()+"/providers", strings.NewReader(`{"name":"Contoso"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /providers: %d %s", resp.StatusCode, body)
	}
	var ev events.APIGatewayV2HTTPRequest
	_ = json.Unmarshal(body, &ev)
	claims := ev.RequestContext.Authorizer.JWT.Claims
	if claims["account_id"] != "acct-eligible" || claims["roles"] != `["admin"]` || claims["sub"] != SubjectFor("acct-eligible") || ev.Body != `{"name":"Contoso"}` {
		t.Errorf("event %+v", ev)
	}
	// Without a token: 401 in the product's shape.
	resp, err = http.Post(c.APIURL()+"/providers", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"code":"unauthenticated"`) || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("unauthenticated: %d %s", resp.StatusCode, body)
	}
	// The public route needs none.
	resp, err = http.Get(c.APIURL() + "/consent/inv-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("public route: %d", resp.StatusCode)
	}

	// The function's environment: template values, endpoints, service env, overrides.
	out, err := c.Invoker().Invoke(context.Background(), "Echo", []byte(`{"action":"env","keys":["TABLE_NAME","SM_ARN","AWS_ENDPOINT_URL_DYNAMODB","AWS_ENDPOINT_URL_SFN","AWS_ENDPOINT_URL_SESV2","AWS_ENDPOINT_URL_SECRETS_MANAGER","AWS_ENDPOINT_URL_EVENTBRIDGE","EXTRA_FROM_SERVICE","OVERRIDE_ME"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	_ = json.Unmarshal(out, &env)
	want := map[string]string{
		"TABLE_NAME":                       "partner-test",
		"SM_ARN":                           "arn:aws:states:us-east-1:000000000000:stateMachine:partner-cloud-local-flow",
		"AWS_ENDPOINT_URL_DYNAMODB":        c.DynamoURL(),
		"AWS_ENDPOINT_URL_SFN":             eps["stepfunctions"],
		"AWS_ENDPOINT_URL_SESV2":           eps["ses"],
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": eps["secretsmanager"],
		"AWS_ENDPOINT_URL_EVENTBRIDGE":     eps["events"],
		"EXTRA_FROM_SERVICE":               "yes",
		"OVERRIDE_ME":                      "over",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if got := c.Host().Invocations()["Echo"]; got != 3 {
		t.Errorf("invocations %d, want 3", got)
	}

	// The scenario's accounts are in the table, as the store would read them.
	client := dynamo.NewClient(c.DynamoURL())
	tests := []struct {
		id   string
		demo bool
		at   string
	}{{"acct-eligible", false, ""}, {"acct-demo", true, "2024-05-01T10:00:00Z"}}
	for _, tc := range tests {
		got, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("partner-test"),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + tc.id}, "sk": &types.AttributeValueMemberS{Value: "ACCOUNT"}}})
		if err != nil || got.Item == nil {
			t.Fatalf("account %s: %v", tc.id, err)
		}
		var a account.Account
		if err := attributevalue.UnmarshalMap(got.Item, &a); err != nil {
			t.Fatal(err)
		}
		if a.ID != tc.id || a.Demo != tc.demo || !a.Billable || a.UpdatedAt.IsZero() {
			t.Errorf("account %+v", a)
		}
		at := got.Item["updatedAt"].(*types.AttributeValueMemberS).Value
		if _, err := time.Parse(time.RFC3339, at); err != nil || (tc.at != "" && at != tc.at) {
			t.Errorf("updatedAt %q", at)
		}
	}

	// Close stops everything and removes the key file.
	c.Close()
	if !svc.closed {
		t.Error("service not closed")
	}
	if _, err := os.Stat(filepath.Join(state, KeyFile)); !os.IsNotExist(err) {
		t.Errorf("key file left: %v", err)
	}
	if c.Host().Instances("Echo") != 0 {
		t.Error("function processes left")
	}
}

func TestBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	root, _ := FindRoot()
	busy := ln.Addr().String()
	tests := []struct {
		name string
		set  func(*Options)
		flag string
	}{
		{"api", func(o *Options) { o.APIAddr = busy }, FlagAPIAddr},
		{"dynamodb", func(o *Options) { o.DynamoAddr = busy }, FlagDynamoAddr},
		{"stepfunctions", func(o *Options) { o.StepFunctionsAddr = busy }, FlagStepFunctionsAddr},
		{"ses", func(o *Options) { o.SESAddr = busy }, FlagSESAddr},
		{"outbox", func(o *Options) { o.OutboxAddr = busy }, FlagOutboxAddr},
		{"secretsmanager", func(o *Options) { o.SecretsManagerAddr = busy }, FlagSecretsManagerAddr},
		{"microsoft", func(o *Options) { o.MicrosoftAddr = busy }, FlagMicrosoftAddr},
		{"events", func(o *Options) { o.EventsAddr = busy }, FlagEventsAddr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{APIAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", StepFunctionsAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0",
				OutboxAddr: "127.0.0.1:0", SecretsManagerAddr: "127.0.0.1:0", MicrosoftAddr: "127.0.0.1:0", EventsAddr: "127.0.0.1:0", SkipBuild: true}
			tc.set(&o)
			o.Root, o.Template, o.Scenario, o.StateDir, o.Log = root, "testdata/template.yaml", "testdata/scenario.json", t.TempDir(), io.Discard
			_, err := Start(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.flag) || !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "in use") {
				t.Errorf("err = %v", err)
			}
		})
	}
	if _, err := Listen("0.0.0.0:0", "-x"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback address: %v", err)
	}
}
