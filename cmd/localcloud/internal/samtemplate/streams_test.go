package samtemplate

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const streamTemplate = `
Resources:
  Providers:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: providers
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Plain:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  DeadLetters:
    Type: AWS::SQS::Queue
  Named:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${AWS::StackName}-named"}
  Relay:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          QUEUE_NAME: !GetAtt DeadLetters.QueueName
          QUEUE_URL: !Ref DeadLetters
          QUEUE_URL2: !GetAtt Named.QueueUrl
          NAMED_ARN: !GetAtt Named.Arn
          STREAM: !GetAtt Providers.StreamArn
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Providers.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            MaximumBatchingWindowInSeconds: 2
            MaximumRetryAttempts: 10
            MaximumRecordAgeInSeconds: 86400
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"dynamodb":{"NewImage":{"outboxSince":{"S":[{"exists":true}]}}}}'
                - Pattern: '{"eventName":["REMOVE"]}'
            DestinationConfig:
              OnFailure: {Type: SQS, Destination: !GetAtt DeadLetters.Arn}
        Defaults:
          Type: DynamoDB
          Properties:
            Stream: arn:aws:dynamodb:us-east-1:000000000000:table/elsewhere/stream/2020-01-01T00:00:00.000
            StartingPosition: LATEST
        Api:
          Type: HttpApi
          Properties: {Path: /x, Method: get}
`

// TestStreamEvents: a table's stream, the queue attributes and a function's
// DynamoDB events with their settings and Lambda's defaults.
func TestStreamEvents(t *testing.T) {
	tmpl, err := Parse([]byte(streamTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	const streamARN = "arn:aws:dynamodb:us-east-1:000000000000:table/providers/stream/" + StreamLabel
	if tb := tmpl.Tables[0]; tb.StreamViewType != "NEW_IMAGE" || tb.StreamARN != streamARN {
		t.Errorf("table stream %q %q", tb.StreamViewType, tb.StreamARN)
	}
	if tb := tmpl.Tables[1]; tb.StreamViewType != "" || tb.StreamARN != "" {
		t.Errorf("table without a stream: %q %q", tb.StreamViewType, tb.StreamARN)
	}
	f, _ := tmpl.Function("Relay")
	wantEnv := map[string]string{
		"QUEUE_NAME": "DeadLetters",
		"QUEUE_URL":  "https://sqs.us-east-1.amazonaws.com/000000000000/DeadLetters",
		"QUEUE_URL2": "https://sqs.us-east-1.amazonaws.com/000000000000/partner-cloud-local-named",
		"NAMED_ARN":  "arn:aws:sqs:us-east-1:000000000000:partner-cloud-local-named",
		"STREAM":     streamARN,
	}
	if !reflect.DeepEqual(f.Environment, wantEnv) {
		t.Errorf("environment:\n got %v\nwant %v", f.Environment, wantEnv)
	}
	want := []StreamEvent{{
		Name: "Stream", StreamARN: streamARN, Table: "Providers", StartingPosition: "TRIM_HORIZON",
		BatchSize: 10, MaximumBatchingWindowInSeconds: 2, MaximumRetryAttempts: 10, MaximumRecordAgeInSeconds: 86400,
		BisectBatchOnFunctionError: true, ReportBatchItemFailures: true,
		Filters: []string{
			`{"dynamodb":{"NewImage":{"outboxSince":{"S":[{"exists":true}]}}}}`,
			`{"eventName":["REMOVE"]}`,
		},
		OnFailure: "arn:aws:sqs:us-east-1:000000000000:DeadLetters", Enabled: true,
	}, {
		Name: "Defaults", StreamARN: "arn:aws:dynamodb:us-east-1:000000000000:table/elsewhere/stream/2020-01-01T00:00:00.000",
		StartingPosition: "LATEST", BatchSize: 100, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1, Enabled: true,
	}}
	if !reflect.DeepEqual(f.StreamEvents, want) {
		t.Errorf("stream events:\n got %+v\nwant %+v", f.StreamEvents, want)
	}
	if len(f.Events) != 1 || f.Events[0].Name != "Api" {
		t.Errorf("http events %+v", f.Events)
	}
}

func TestStreamEventErrors(t *testing.T) {
	table := "  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n"
	fn := func(props string) string {
		return "Resources:\n" + table + "      StreamSpecification: {StreamViewType: KEYS_ONLY}\n" +
			"  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        S:\n          Type: DynamoDB\n          Properties: " + props + "\n"
	}
	tests := []struct{ name, yaml, want string }{
		{"stream of a table without one", "Resources:\n" + table + "  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {A: !GetAtt T.StreamArn}}\n", "no StreamSpecification"},
		{"bad view type", "Resources:\n" + table + "      StreamSpecification: {StreamViewType: ALL}\n", "StreamViewType \"ALL\""},
		{"no starting position", fn("{Stream: !GetAtt T.StreamArn}"), "StartingPosition"},
		{"bad starting position", fn("{Stream: !GetAtt T.StreamArn, StartingPosition: AT_TIMESTAMP}"), "AT_TIMESTAMP"},
		{"zero batch", fn("{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, BatchSize: 0}"), "BatchSize 0"},
		{"bad response type", fn("{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, FunctionResponseTypes: [Other]}"), "Other"},
		{"bad pattern", fn("{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST, FilterCriteria: {Filters: [{Pattern: '{nope'}]}}"), "not JSON"},
		{"queue attribute", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {A: !GetAtt Q.Nope}}\n", "attribute not supported"},
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

// TestStreamARNInSub: ${Table.StreamArn} in a Sub resolves like GetAtt.
func TestStreamARNInSub(t *testing.T) {
	tmpl, err := Parse([]byte(streamTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(`!Sub "${Providers.StreamArn}|${DeadLetters.Arn}"`), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Resolver(nil).String(doc.Content[0])
	want := StreamARN("providers") + "|" + QueueARN("DeadLetters")
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}
