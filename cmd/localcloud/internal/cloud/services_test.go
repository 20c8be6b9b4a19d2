package cloud

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

func awsConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
}

// TestBuiltinServices checks the product's emulators as the functions and a
// user meet them: Step Functions runs the template's state machine through
// the Lambda host, Secrets Manager holds the template's secret and the
// partner credential at the ARNs `!Ref` gives, SES and the outbox answer, the
// Microsoft double speaks HTTP/2 over TLS with the CA the functions trust,
// and the local parameters and scaled durations reach the functions.
func TestBuiltinServices(t *testing.T) {
	c, _ := startCloud(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	eps := c.Endpoints()

	out, err := c.Invoker().Invoke(ctx, "Echo", []byte(`{"action":"env","keys":["SM_ARN","KEY_ARN","AZURE_CLIENT_ID","AZURE_AUTHORITY_HOST","PARTNER_CREDENTIAL_SECRET_ARN","PUBLIC_BASE_URL","INVITATION_EXPIRY","INVITATION_REMINDERS","TIMEOUT_NOT_SCALED","SSL_CERT_FILE"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	_ = json.Unmarshal(out, &env)
	want := map[string]string{
		"SM_ARN":                        "arn:aws:states:us-east-1:000000000000:stateMachine:partner-cloud-local-flow",
		"KEY_ARN":                       "arn:aws:secretsmanager:us-east-1:000000000000:secret:SigningKey",
		"AZURE_CLIENT_ID":               "10000000-0000-4000-8000-0000000000a1",
		"AZURE_AUTHORITY_HOST":          eps["microsoft"] + "/",
		"PARTNER_CREDENTIAL_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:partner-azure-credential",
		"PUBLIC_BASE_URL":               c.APIURL(),
		"INVITATION_EXPIRY":             "5h36m0s", // 336h / 60
		"INVITATION_REMINDERS":          "1h12m0s,2h48m0s",
		"TIMEOUT_NOT_SCALED":            "10s",
		"SSL_CERT_FILE":                 eps["microsoftCA"],
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(eps["microsoft"], "https://127.0.0.1:") {
		t.Errorf("microsoft endpoint %q", eps["microsoft"])
	}

	// Step Functions: the state machine exists under the ARN the functions
	// get, and an execution runs its Wait (60 s at scale 60) and its Lambda
	// task through the host.
	sf := sfn.NewFromConfig(awsConfig(), func(o *sfn.Options) { o.BaseEndpoint = aws.String(eps["stepfunctions"]) })
	start := time.Now()
	exec, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(env["SM_ARN"]), Input: aws.String(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var desc *sfn.DescribeExecutionOutput
	for {
		if desc, err = sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: exec.ExecutionArn}); err != nil {
			t.Fatal(err)
		}
		if desc.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if desc.Status != sfntypes.ExecutionStatusSucceeded || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("execution %s after %v: %s", desc.Status, time.Since(start), aws.ToString(desc.Output))
	}
	var result struct{ Env map[string]string }
	_ = json.Unmarshal([]byte(aws.ToString(desc.Output)), &result)
	if result.Env["INVITATION_EXPIRY"] != "5h36m0s" || result.Env["SSL_CERT_FILE"] != eps["microsoftCA"] {
		t.Errorf("execution output %s", aws.ToString(desc.Output))
	}

	// Secrets Manager: the generated key and the partner credential, with
	// the real client at the ARNs the functions get.
	sm := secretsmanager.NewFromConfig(awsConfig(), func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(eps["secretsmanager"]) })
	key, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env["KEY_ARN"])})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{64}$`).MatchString(aws.ToString(key.SecretString)) {
		t.Errorf("generated secret %q", aws.ToString(key.SecretString))
	}
	cred, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env["PARTNER_CREDENTIAL_SECRET_ARN"])})
	if err != nil || aws.ToString(cred.SecretString) != "partner-local-secret" {
		t.Errorf("partner credential: %v %v", err, cred)
	}

	// SES: a message sent with the real client is on the outbox page.
	em := sesv2.NewFromConfig(awsConfig(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(eps["ses"]) })
	_, err = em.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("no-reply@partner.example"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"admin@contoso.example"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Consent")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("Open " + c.APIURL() + "/consent/inv-1")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(eps["outbox"] + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []struct{ Links []string }
	_ = json.NewDecoder(resp.Body).Decode(&msgs)
	resp.Body.Close()
	if len(msgs) != 1 || len(msgs[0].Links) != 1 || msgs[0].Links[0] != c.APIURL()+"/consent/inv-1" {
		t.Errorf("outbox %+v", msgs)
	}

	// The Microsoft double: TLS with the CA in the state directory, HTTP/2.
	if filepath.Dir(eps["microsoftCA"]) != c.StateDir() {
		t.Errorf("CA at %s", eps["microsoftCA"])
	}
	client, err := CAClient(eps["microsoftCA"])
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.Get(eps["microsoft"] + "/_control/state")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !strings.Contains(string(body), "contoso") {
		t.Errorf("double: %s %d %.200s", resp.Proto, resp.StatusCode, body)
	}
}

func TestRefusedDefinition(t *testing.T) {
	dir := t.TempDir()
	tmpl := `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: flow.json
`
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Credentials":{"RoleArn":"x"}}}}`
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flow.json"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	root, _ := FindRoot()
	o := Options{Root: root, Template: filepath.Join(dir, "template.yaml"), Scenario: "testdata/scenario.json", StateDir: dir, Log: io.Discard,
		APIAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", StepFunctionsAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0",
		OutboxAddr: "127.0.0.1:0", SecretsManagerAddr: "127.0.0.1:0", MicrosoftAddr: "127.0.0.1:0", EventsAddr: "127.0.0.1:0"}
	_, err := Start(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "Credentials") || !strings.Contains(err.Error(), "state machine Flow") {
		t.Errorf("err = %v", err)
	}
}

func TestScaleEnv(t *testing.T) {
	env := map[string]string{"INVITATION_EXPIRY": "336h", "INVITATION_REMINDERS": "72h, 168h", "OWNERSHIP_WARNING": "1s", "STATE_TTL": "30m", "OTHER": "1h"}
	got, err := ScaleEnv(env, 2000)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"INVITATION_EXPIRY": "10m4.8s", "INVITATION_REMINDERS": "2m9.6s,5m2.4s", "OWNERSHIP_WARNING": "1ms", "OTHER": "1h",
		// A person signs in and consents in real time, whatever the scale.
		"STATE_TTL": "30m"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if env["INVITATION_EXPIRY"] != "336h" {
		t.Error("input changed")
	}
	if _, err := ScaleEnv(map[string]string{"OWNERSHIP_DEADLINE": "30 days"}, 2); err == nil || !strings.Contains(err.Error(), "OWNERSHIP_DEADLINE") {
		t.Errorf("bad duration: %v", err)
	}
}
