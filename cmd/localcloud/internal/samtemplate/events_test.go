package samtemplate

import (
	"reflect"
	"strings"
	"testing"
)

const eventsTemplate = `
Resources:
  ProvidersBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub ${AWS::StackName}-providers
  UnnamedBus:
    Type: AWS::Events::EventBus
  Publisher:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          EVENT_BUS_NAME: !Ref ProvidersBus
          EVENT_BUS_ARN: !GetAtt ProvidersBus.Arn
          EVENT_BUS_GETATT_NAME: !GetAtt ProvidersBus.Name
          SUBBED: !Sub "bus=${ProvidersBus}"
      Events:
        Daily:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
        Named:
          Type: Schedule
          Properties:
            Schedule: cron(0 12 * * ? *)
            Name: nightly-sweep
            Input: '{"mode":"full"}'
            Enabled: false
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 2 * * ? *)
            ScheduleExpressionTimezone: Europe/Paris
            State: DISABLED
        Grouped:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(5 minutes)
            Name: every-five
            GroupName: sweeps
            Input: !Sub '{"bus":"${ProvidersBus}"}'
        Api:
          Type: HttpApi
          Properties: {Path: /x, Method: get}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: flow
      DefinitionUri: flow.asl.json
      Events:
        Kick:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
            Input: '{"a":1}'
        Old:
          Type: Schedule
          Properties:
            Schedule: rate(2 hours)
            State: ENABLED
`

func TestEventBusesAndReferences(t *testing.T) {
	tmpl, err := Parse([]byte(eventsTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []EventBus{
		{LogicalID: "ProvidersBus", Name: "partner-cloud-local-providers", ARN: "arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers"},
		{LogicalID: "UnnamedBus", Name: "UnnamedBus", ARN: "arn:aws:events:us-east-1:000000000000:event-bus/UnnamedBus"},
	}
	if !reflect.DeepEqual(tmpl.EventBuses, want) {
		t.Errorf("buses %+v", tmpl.EventBuses)
	}
	f, _ := tmpl.Function("Publisher")
	env := map[string]string{
		"EVENT_BUS_NAME":        "partner-cloud-local-providers",
		"EVENT_BUS_ARN":         "arn:aws:events:us-east-1:000000000000:event-bus/partner-cloud-local-providers",
		"EVENT_BUS_GETATT_NAME": "partner-cloud-local-providers",
		"SUBBED":                "bus=partner-cloud-local-providers",
	}
	if !reflect.DeepEqual(f.Environment, env) {
		t.Errorf("environment %v", f.Environment)
	}
}

func TestScheduleEvents(t *testing.T) {
	tmpl, err := Parse([]byte(eventsTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := tmpl.Function("Publisher")
	wantFn := []ScheduleEvent{
		{Name: "Daily", Type: EventSchedule, Expression: "rate(1 day)", Enabled: true,
			ResourceName: "partner-cloud-local-PublisherDaily", ARN: "arn:aws:events:us-east-1:000000000000:rule/partner-cloud-local-PublisherDaily"},
		{Name: "Named", Type: EventSchedule, Expression: "cron(0 12 * * ? *)", Input: `{"mode":"full"}`, Enabled: false,
			ResourceName: "nightly-sweep", ARN: "arn:aws:events:us-east-1:000000000000:rule/nightly-sweep"},
		{Name: "Nightly", Type: EventScheduleV2, Expression: "cron(0 2 * * ? *)", Timezone: "Europe/Paris", Enabled: false,
			ResourceName: "PublisherNightly", ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/PublisherNightly"},
		{Name: "Grouped", Type: EventScheduleV2, Expression: "rate(5 minutes)", Input: `{"bus":"partner-cloud-local-providers"}`, Enabled: true,
			ResourceName: "every-five", ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/sweeps/every-five"},
	}
	if !reflect.DeepEqual(f.ScheduleEvents, wantFn) {
		t.Errorf("function schedules:\n got %+v\nwant %+v", f.ScheduleEvents, wantFn)
	}
	if len(f.Events) != 1 || f.Events[0].Name != "Api" {
		t.Errorf("HttpApi events %+v", f.Events)
	}
	wantSM := []ScheduleEvent{
		{Name: "Kick", Type: EventScheduleV2, Expression: "rate(1 hour)", Input: `{"a":1}`, Enabled: true,
			ResourceName: "FlowKick", ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/FlowKick"},
		{Name: "Old", Type: EventSchedule, Expression: "rate(2 hours)", Enabled: true,
			ResourceName: "partner-cloud-local-FlowOld", ARN: "arn:aws:events:us-east-1:000000000000:rule/partner-cloud-local-FlowOld"},
	}
	if !reflect.DeepEqual(tmpl.StateMachines[0].ScheduleEvents, wantSM) {
		t.Errorf("state machine schedules:\n got %+v\nwant %+v", tmpl.StateMachines[0].ScheduleEvents, wantSM)
	}
}

func TestScheduleEventErrors(t *testing.T) {
	fn := func(events string) string {
		return "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        Tick:\n" + events
	}
	tests := []struct {
		name, tmpl, err string
	}{
		{"Schedule without Schedule", fn("          Type: Schedule\n          Properties: {Input: '{}'}\n"), "event Tick: Schedule is required"},
		{"ScheduleV2 without expression", fn("          Type: ScheduleV2\n          Properties: {Schedule: rate(1 day)}\n"), "event Tick: ScheduleExpression is required"},
		{"Input not JSON", fn("          Type: Schedule\n          Properties: {Schedule: rate(1 day), Input: 'not json'}\n"), "Input is not JSON"},
		{"Enabled and State", fn("          Type: Schedule\n          Properties: {Schedule: rate(1 day), Enabled: true, State: ENABLED}\n"), "Enabled and State cannot both be set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.tmpl), nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "resource Fn") {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}
