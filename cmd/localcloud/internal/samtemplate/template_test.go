package samtemplate

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func load(t *testing.T, params map[string]string) *Template {
	t.Helper()
	tmpl, err := Load(filepath.Join("testdata", "template.yaml"), params)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestFunctionEnvironment(t *testing.T) {
	tmpl := load(t, nil)
	f, ok := tmpl.Function("CreateProvider")
	if !ok {
		t.Fatal("CreateProvider missing")
	}
	want := map[string]string{
		"TABLE_NAME":             "partner-dev",
		"STAGE":                  "dev",
		"SHARED":                 "own",
		"STATE_MACHINE_ARN":      "arn:aws:states:us-east-1:000000000000:stateMachine:Workflow",
		"STATE_MACHINE_ARN_LONG": "arn:aws:states:us-east-1:000000000000:stateMachine:Workflow",
		"SM_NAME":                "Workflow",
		"FN_ARN":                 "arn:aws:lambda:us-east-1:000000000000:function:Worker",
		"TABLE_ARN":              "arn:aws:dynamodb:us-east-1:000000000000:table/partner-dev",
		"SUBBED":                 "us-east-1:000000000000:dev:partner-dev:arn:aws:lambda:us-east-1:000000000000:function:Worker:${Literal}",
		"SUB_LIST":               "Worker-dev",
		"JOINED":                 "a,dev,aws",
		"MODE":                   "development",
		"BOOLISH":                "true",
		"LONG_REF":               "partner-cloud-local",
	}
	if !reflect.DeepEqual(f.Environment, want) {
		t.Errorf("environment:\n got %v\nwant %v", f.Environment, want)
	}
	if f.Timeout != 29 || f.MemorySize != 256 || f.GoPackage != "./functions/create-provider" || f.CodeURI != "functions/create-provider" {
		t.Errorf("function props: %+v", f)
	}
	w, _ := tmpl.Function("Worker")
	if w.Timeout != 10 || w.MemorySize != 512 || w.Environment["SHARED"] != "global" {
		t.Errorf("worker: %+v", w)
	}
}

func TestParameterOverride(t *testing.T) {
	tmpl := load(t, map[string]string{"Stage": "prod"})
	f, _ := tmpl.Function("CreateProvider")
	tests := []struct{ key, want string }{
		{"STAGE", "prod"}, {"TABLE_NAME", "partner-prod"}, {"MODE", "production"}, {"MAYBE", "set"},
	}
	for _, tc := range tests {
		if got := f.Environment[tc.key]; got != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
		}
	}
	if len(tmpl.Tables) != 3 {
		t.Errorf("conditional table: got %d tables, want 3", len(tmpl.Tables))
	}
	if _, err := Load(filepath.Join("testdata", "template.yaml"), map[string]string{"Nope": "x"}); err == nil {
		t.Error("unknown parameter override accepted")
	}
}

func TestEvents(t *testing.T) {
	tmpl := load(t, nil)
	f, _ := tmpl.Function("CreateProvider")
	want := []HttpEvent{
		{Name: "Create", Path: "/providers", Method: "post"},
		{Name: "Public", Path: "/consent/{invitationId}", Method: "GET", AuthNone: true},
	}
	if !reflect.DeepEqual(f.Events, want) {
		t.Errorf("events:\n got %+v\nwant %+v", f.Events, want)
	}
	api, ok := tmpl.HttpApi("")
	if !ok {
		t.Fatal("Globals.HttpApi missing")
	}
	jwt := api.Authorizers["Jwt"]
	if api.DefaultAuthorizer != "Jwt" || jwt.Issuer != "https://auth.partner.example/" || !reflect.DeepEqual(jwt.Audience, []string{"partner-cloud"}) || jwt.Err != nil {
		t.Errorf("http api: %+v", api)
	}
}

func TestTables(t *testing.T) {
	tmpl := load(t, nil)
	if len(tmpl.Tables) != 2 {
		t.Fatalf("tables: %d (the conditional one must be skipped)", len(tmpl.Tables))
	}
	tb := tmpl.Tables[0]
	if tb.Name != "partner-dev" || tb.TTLAttribute != "expiresAt" || tb.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("table: %+v", tb)
	}
	if !reflect.DeepEqual(tb.KeySchema, []KeyElement{{"pk", "HASH"}, {"sk", "RANGE"}}) {
		t.Errorf("key schema %+v", tb.KeySchema)
	}
	wantGSI := []SecondaryIndex{{Name: "gsi1", KeySchema: []KeyElement{{"gsi1pk", "HASH"}}, ProjectionType: "INCLUDE", NonKeyAttributes: []string{"status"}}}
	if !reflect.DeepEqual(tb.GlobalSecondaryIndexes, wantGSI) {
		t.Errorf("gsi %+v", tb.GlobalSecondaryIndexes)
	}
	if len(tb.AttributeDefinitions) != 3 || tb.AttributeDefinitions[2] != (AttributeDefinition{"gsi1pk", "S"}) {
		t.Errorf("attribute definitions %+v", tb.AttributeDefinitions)
	}
	if tmpl.Tables[1].Name != "PlainTable" {
		t.Errorf("table without TableName: %q", tmpl.Tables[1].Name)
	}
}

func TestStateMachine(t *testing.T) {
	tmpl := load(t, nil)
	if len(tmpl.StateMachines) != 1 {
		t.Fatal("state machine missing")
	}
	sm := tmpl.StateMachines[0]
	want := map[string]string{
		"WorkerArn": "arn:aws:lambda:us-east-1:000000000000:function:Worker",
		"TableName": "partner-dev",
		"Region":    "us-east-1",
	}
	if !reflect.DeepEqual(sm.DefinitionSubstitutions, want) || sm.DefinitionPath != filepath.Join("testdata", "statemachine/migration.asl.json") || sm.Type != "STANDARD" {
		t.Errorf("state machine %+v", sm)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"missing param default", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {A: !Ref P}}\nParameters:\n  P: {Type: String}\n", "no Default"},
		{"unknown ref", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {A: !Ref Nope}}\n", "no such parameter or resource"},
		{"unsupported fn", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {A: !ImportValue x}}\n", "Fn::ImportValue is not supported"},
		{"unknown getatt", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {A: !GetAtt F.Foo}}\n", "attribute not supported"},
		{"bad timeout", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: soon\n", "not an integer"},
		{"no resources", "Parameters: {}\n", "no Resources"},
		{"table without key", "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n", "KeySchema is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
}

func TestNamedStateMachineAndSecrets(t *testing.T) {
	src := `
Parameters:
  Env: {Type: String, Default: dev}
Resources:
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub ${AWS::StackName}-migration
      DefinitionUri: flow.json
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          SM_ARN: !Ref Flow
          SM_ARN2: !GetAtt Flow.Arn
          SM_NAME: !GetAtt Flow.Name
          KEY_ARN: !Ref Key
          NAMED_ARN: !Ref Named
  Key:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString: {PasswordLength: 64, ExcludePunctuation: true}
  Named:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub app-${Env}
      SecretString: hello
`
	tmpl, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:states:us-east-1:000000000000:stateMachine:partner-cloud-local-migration"
	if sm := tmpl.StateMachines[0]; sm.Name != "partner-cloud-local-migration" || sm.ARN != arn {
		t.Errorf("state machine %+v", sm)
	}
	f, _ := tmpl.Function("Fn")
	want := map[string]string{
		"SM_ARN": arn, "SM_ARN2": arn, "SM_NAME": "partner-cloud-local-migration",
		"KEY_ARN":   "arn:aws:secretsmanager:us-east-1:000000000000:secret:Key",
		"NAMED_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:app-dev",
	}
	if !reflect.DeepEqual(f.Environment, want) {
		t.Errorf("environment:\n got %v\nwant %v", f.Environment, want)
	}
	wantSecrets := []Secret{
		{LogicalID: "Key", Name: "Key", ARN: want["KEY_ARN"], Generate: true, PasswordLength: 64},
		{LogicalID: "Named", Name: "app-dev", ARN: want["NAMED_ARN"], SecretString: "hello"},
	}
	if !reflect.DeepEqual(tmpl.Secrets, wantSecrets) {
		t.Errorf("secrets:\n got %+v\nwant %+v", tmpl.Secrets, wantSecrets)
	}
}

// TestLogGroupsAndPolicies: Ref and GetAtt Arn of a log group (its
// LogGroupName, else its logical id) and the resources' DeletionPolicy and
// UpdateReplacePolicy.
func TestLogGroupsAndPolicies(t *testing.T) {
	tmpl := load(t, nil)
	res := tmpl.Resolver(nil)
	for src, want := range map[string]string{
		`!Ref Logs`:                 "/aws/lambda/partner-cloud-local-dev",
		`!GetAtt Logs.Arn`:          "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/partner-cloud-local-dev:*",
		`!Sub "${UnnamedLogs.Arn}"`: "arn:aws:logs:us-east-1:000000000000:log-group:UnnamedLogs:*",
		`{Ref: UnnamedLogs}`:        "UnnamedLogs",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		got, err := res.String(doc.Content[0])
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
	if r := tmpl.Resources["Table"]; r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Snapshot" {
		t.Errorf("Table policies %q, %q", r.DeletionPolicy, r.UpdateReplacePolicy)
	}
	if r := tmpl.Resources["PlainTable"]; r.DeletionPolicy != "" || r.UpdateReplacePolicy != "" {
		t.Errorf("PlainTable policies %q, %q", r.DeletionPolicy, r.UpdateReplacePolicy)
	}
}
