package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// TestJSONataRefusals: a JSONata state refuses the JSONPath fields and a
// JSONPath state the JSONata ones, naming the field and where it is.
func TestJSONataRefusals(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	jsonata := func(state string) string {
		return `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{` + state + `},"B":{"Type":"Succeed"}}}`
	}
	tests := []struct {
		name, def string
		want      []string
	}{
		{"Parameters", jsonata(`"Type":"Task","Resource":"` + fn + `","Parameters":{},"End":true`), []string{`"Parameters"`, "JSONata", "/States/A"}},
		{"InputPath", jsonata(`"Type":"Pass","InputPath":"$.a","End":true`), []string{`"InputPath"`, "/States/A"}},
		{"OutputPath", jsonata(`"Type":"Succeed","OutputPath":"$.a"`), []string{`"OutputPath"`, "/States/A"}},
		{"ResultPath", jsonata(`"Type":"Pass","ResultPath":"$.a","End":true`), []string{`"ResultPath"`, "/States/A"}},
		{"ResultSelector", jsonata(`"Type":"Task","Resource":"` + fn + `","ResultSelector":{},"End":true`), []string{`"ResultSelector"`, "/States/A"}},
		{"Result", jsonata(`"Type":"Pass","Result":1,"End":true`), []string{`"Result"`, "/States/A"}},
		{"TimeoutSecondsPath", jsonata(`"Type":"Task","Resource":"` + fn + `","TimeoutSecondsPath":"$.t","End":true`), []string{`"TimeoutSecondsPath"`, "/States/A"}},
		{"HeartbeatSecondsPath", jsonata(`"Type":"Task","Resource":"` + fn + `","HeartbeatSecondsPath":"$.t","End":true`), []string{`"HeartbeatSecondsPath"`, "/States/A"}},
		{"SecondsPath", jsonata(`"Type":"Wait","SecondsPath":"$.s","End":true`), []string{`"SecondsPath"`, "/States/A"}},
		{"TimestampPath", jsonata(`"Type":"Wait","TimestampPath":"$.s","End":true`), []string{`"TimestampPath"`, "/States/A"}},
		{"ErrorPath", jsonata(`"Type":"Fail","ErrorPath":"$.e"`), []string{`"ErrorPath"`, "/States/A"}},
		{"ItemsPath", jsonata(`"Type":"Map","ItemsPath":"$.l","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}},"End":true`), []string{`"ItemsPath"`, "/States/A"}},
		{"Catch ResultPath", jsonata(`"Type":"Task","Resource":"` + fn + `","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.e","Next":"B"}],"End":true`),
			[]string{`"ResultPath"`, "/States/A/Catch[0]"}},
		{"Choice Variable", jsonata(`"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","Next":"B"}]`),
			[]string{`"Variable"`, `"StringEquals"`, "/States/A/Choices[0]"}},
		{"Choice without Condition", jsonata(`"Type":"Choice","Choices":[{"Next":"B"}]`), []string{`"Condition"`, "/States/A/Choices[0]"}},
		{"Arguments in a JSONPath state", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Arguments":{},"End":true}}}`,
			[]string{`"Arguments"`, "JSONPath", "/States/A"}},
		{"Output in a JSONPath state", `{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{},"End":true}}}`, []string{`"Output"`, "/States/A"}},
		{"Items in a JSONPath state", `{"StartAt":"A","States":{"A":{"Type":"Map","Items":[],"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}},"End":true}}}`,
			[]string{`"Items"`, "/States/A"}},
		{"Condition in a JSONPath Choice", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Condition":true,"Next":"B"}]},"B":{"Type":"Succeed"}}}`,
			[]string{`"Condition"`, "/States/A/Choices[0]"}},
		{"Assign in a JSONPath state", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"End":true}}}`, []string{`"Assign"`, "/States/A"}},
		{"JSONPath state in a JSONata machine", jsonata(`"Type":"Pass","QueryLanguage":"JSONPath","End":true`), []string{"JSONPath", "/States/A/QueryLanguage"}},
		{"unknown state QueryLanguage", `{"StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"XPath","End":true}}}`, []string{"QueryLanguage", "/States/A/QueryLanguage"}},
		{"expression syntax", jsonata(`"Type":"Pass","Output":{"x":"{% $states.input. %}"},"End":true`), []string{"$states.input.", "/States/A/Output/x"}},
		{"empty expression", jsonata(`"Type":"Pass","Output":"{%  %}","End":true`), []string{"empty", "/States/A/Output"}},
		{"reserved variable", jsonata(`"Type":"Pass","Assign":{"states":1},"End":true`), []string{`"states"`, "/States/A/Assign"}},
		{"bad variable name", jsonata(`"Type":"Pass","Assign":{"1x":1},"End":true`), []string{`"1x"`, "/States/A/Assign"}},
		{"Assign not an object", jsonata(`"Type":"Pass","Assign":"{% 1 %}","End":true`), []string{`"Assign"`, "/States/A/Assign"}},
		{"lambda Arguments without FunctionName", jsonata(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"Payload":{}},"End":true`),
			[]string{`"FunctionName"`, "/States/A/Arguments"}},
		{"lambda without Arguments", jsonata(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true`), []string{`"Arguments"`, "/States/A"}},
		{"TimeoutSeconds zero", jsonata(`"Type":"Task","Resource":"` + fn + `","TimeoutSeconds":0,"End":true`), []string{"TimeoutSeconds", "/States/A/TimeoutSeconds"}},
		{"TimeoutSeconds a plain string", jsonata(`"Type":"Task","Resource":"` + fn + `","TimeoutSeconds":"60","End":true`), []string{"TimeoutSeconds", "/States/A/TimeoutSeconds"}},
		{"Wait Timestamp not a timestamp", jsonata(`"Type":"Wait","Timestamp":"tomorrow","End":true`), []string{"Timestamp", "/States/A/Timestamp"}},
		{"Wait with both", jsonata(`"Type":"Wait","Seconds":1,"Timestamp":"{% 'x' %}","End":true`), []string{"Exactly one", "/States/A"}},
		{"Items an object", jsonata(`"Type":"Map","Items":{},"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}},"End":true`), []string{`"Items"`, "/States/A/Items"}},
		{"Catcher field", jsonata(`"Type":"Task","Resource":"` + fn + `","Catch":[{"ErrorEquals":["States.ALL"],"Bogus":1,"Next":"B"}],"End":true`), []string{`"Bogus"`, "/States/A/Catch[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.def)
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("Parse accepted the definition (err = %v)", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestJSONataAccepted: definitions AWS accepts parse, with each state's
// query language resolved.
func TestJSONataAccepted(t *testing.T) {
	tests := []struct {
		name, def string
		want      map[string]string // state -> query language
	}{
		{"top-level JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input %}","Assign":{"x":"{% 1 %}"},"Next":"B"},
		  "B":{"Type":"Wait","Seconds":"{% $x %}","Next":"C"},"C":{"Type":"Choice","Choices":[{"Condition":"{% $x = 1 %}","Next":"D","Assign":{"y":2}}],"Default":"E"},
		  "D":{"Type":"Fail","Error":"{% 'E' %}","Cause":"literal"},"E":{"Type":"Succeed","Output":{"a":["{% $y %}"]}}}}`,
			map[string]string{"A": JSONata, "B": JSONata, "C": JSONata, "D": JSONata, "E": JSONata}},
		{"JSONata states in a JSONPath machine", `{"QueryLanguage":"JSONPath","StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"B"},
		  "B":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.a %}","End":true}}}`,
			map[string]string{"A": JSONPath, "B": JSONata}},
		{"a state repeating the top level", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONata","End":true}}}`,
			map[string]string{"A": JSONata}},
		{"the relationships wait", `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		  "Arguments":{"FunctionName":"f","Payload":{"t":"{% $states.context.Task.Token %}"}},"TimeoutSeconds":"{% $states.input.wait %}","HeartbeatSeconds":"{% 5 %}",
		  "Output":"{% $merge([$states.input, {'r': $states.result}]) %}","Retry":[{"ErrorEquals":["X"]}],
		  "Catch":[{"ErrorEquals":["States.Timeout"],"Output":"{% $states.input %}","Assign":{"n":1},"Next":"W"},{"ErrorEquals":["States.ALL"],"Next":"F"}],"Next":"F"},
		  "F":{"Type":"Succeed"}}}`,
			map[string]string{"W": JSONata, "F": JSONata}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := Parse(tt.def)
			if err != nil {
				t.Fatal(err)
			}
			for name, ql := range tt.want {
				if got := def.Main.States[name].QueryLanguage; got != ql {
					t.Errorf("%s: QueryLanguage %s, want %s", name, got, ql)
				}
			}
		})
	}
}

// TestJSONataEval evaluates values against $states and variables.
func TestJSONataEval(t *testing.T) {
	env := JEnv{State: "S", EnteredEventID: 4,
		States:    map[string]any{"input": mustDoc(t, `{"n":2,"empty":[],"nothing":null,"big":12345678901,"s":"a,b"}`), "context": map[string]any{"State": map[string]any{"RetryCount": 0}}},
		Variables: map[string]any{"v": mustDoc(t, `{"k":[1,2,3,4,5]}`), "nul": nil}}
	tests := []struct {
		value, want string
	}{
		{`"{% $states.input.n * 1.5 %}"`, `3`},
		{`"{% $states.input.empty %}"`, `[]`},
		{`"{% $states.input.nothing %}"`, `null`},
		{`"{% $nul = null %}"`, `true`},
		{`"{% $states.input.big + 1 %}"`, `12345678902`},
		{`"{% $states.context.State.RetryCount %}"`, `0`},
		{`{"a":["{% $v.k[0] %}",{"b":"{% $split($states.input.s, ',') %}"}],"lit":"{ % not % }"}`, `{"a":[1,{"b":["a","b"]}],"lit":"{ % not % }"}`},
		{`"{% $partition($v.k, 2) %}"`, `[[1,2],[3,4],[5]]`},
		{`"{% $range(0, 10, 5) %}"`, `[0,5,10]`},
		{`"{% $hash('abc', 'SHA-256') %}"`, `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{`"{% $parse('{\"a\":[1]}').a %}"`, `[1]`},
		{`"{% $length($uuid()) %}"`, `36`},
	}
	for _, tt := range tests {
		v, problems := CompileJSONata(mustDoc(t, tt.value), "/x")
		if len(problems) > 0 {
			t.Fatalf("%s: %v", tt.value, problems)
		}
		got, err := v.Eval(env, "Output")
		if err != nil {
			t.Errorf("%s: %v", tt.value, err)
			continue
		}
		if jsonpath.Encode(got) != jsonpath.Encode(mustDoc(t, tt.want)) {
			t.Errorf("%s = %s, want %s", tt.value, jsonpath.Encode(got), tt.want)
		}
	}
	v, _ := CompileJSONata("{% $states.input.missing %}", "/x")
	_, err := v.Eval(env, "Arguments/x")
	var se *Error
	if !errors.As(err, &se) || se.Name != ErrQueryEvaluation ||
		se.Cause != "An error occurred while executing the state 'S' (entered at the event id #4). The JSONata expression '$states.input.missing' specified for the field 'Arguments/x' returned nothing (undefined)." {
		t.Errorf("undefined: %v", err)
	}
}
