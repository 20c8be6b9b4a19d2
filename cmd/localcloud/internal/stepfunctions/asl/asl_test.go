package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

func mustDoc(t *testing.T, s string) any {
	t.Helper()
	v, err := jsonpath.Decode([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestIntrinsics(t *testing.T) {
	input := `{"name":"Ada","n":41,"s":"{\"k\":[1,2]}","arr":[1,2,2,3],"obj":{"a":1},"csv":"a,b;c"}`
	tests := []struct {
		expr, want string
	}{
		{`States.Format('Hello, {}! You are {}.', $.name, $.n)`, `"Hello, Ada! You are 41."`},
		{`States.Format('literal \{\} and \'quote\' {}', $.name)`, `"literal {} and 'quote' Ada"`},
		{`States.Format('{} {} {}', true, null, 1.5)`, `"true null 1.5"`},
		{`States.MathAdd($.n, 1)`, `42`},
		{`States.MathAdd(111, -1)`, `110`},
		{`States.MathAdd($.n, 0.5)`, `41.5`},
		{`States.StringToJson($.s)`, `{"k":[1,2]}`},
		{`States.JsonToString($.obj)`, `"{\"a\":1}"`},
		{`States.Array('a', $.n, States.MathAdd(1, 1))`, `["a",41,2]`},
		{`States.ArrayPartition($.arr, 3)`, `[[1,2,2],[3]]`},
		{`States.ArrayContains($.arr, 3)`, `true`},
		{`States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{`States.ArrayGetItem($.arr, 3)`, `3`},
		{`States.ArrayLength($.arr)`, `4`},
		{`States.ArrayUnique($.arr)`, `[1,2,3]`},
		{`States.Base64Encode('Data to encode')`, `"RGF0YSB0byBlbmNvZGU="`},
		{`States.Base64Decode('RGF0YSB0byBlbmNvZGU=')`, `"Data to encode"`},
		{`States.Hash('input data', 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.JsonMerge($.obj, States.StringToJson('{"b":2}'), false)`, `{"a":1,"b":2}`},
		{`States.StringSplit($.csv, ',;')`, `["a","b","c"]`},
		{`States.Format('{}', $$.Execution.Name)`, `"exec-1"`},
	}
	env := Env{Input: mustDoc(t, input), Context: mustDoc(t, `{"Execution":{"Name":"exec-1"}}`)}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := ParseIntrinsic(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(env)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, mustDoc(t, tt.want)) {
				t.Errorf("= %s, want %s", jsonpath.Encode(got), tt.want)
			}
		})
	}
	t.Run("UUID", func(t *testing.T) {
		e, _ := ParseIntrinsic("States.UUID()")
		v, _ := e.Eval(env)
		if s, _ := v.(string); len(s) != 36 || s[14] != '4' {
			t.Errorf("UUID = %v", v)
		}
	})
	t.Run("MathRandom", func(t *testing.T) {
		e, _ := ParseIntrinsic("States.MathRandom(5, 7)")
		for range 20 {
			v, _ := e.Eval(env)
			if n, _ := toInt(v); n < 5 || n >= 7 {
				t.Fatalf("MathRandom = %v", v)
			}
		}
	})
}

func TestIntrinsicErrors(t *testing.T) {
	parseErrors := map[string]string{
		`States.Unknown(1)`:         `"States.Unknown" is not supported`,
		`States.MathAdd(1)`:         "takes 2 argument(s)",
		`States.Format('x'`:         "missing ')'",
		`States.Format('unclosed)`:  "unterminated",
		`States.Array(1, @oops)`:    "invalid argument",
		`States.Format('a') extra`:  "unexpected",
		`States.JsonToString($.[)`:  "",
		`States.StringSplit($.a, )`: "invalid argument",
	}
	for src, want := range parseErrors {
		_, err := ParseIntrinsic(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseIntrinsic(%s) = %v, want an error containing %q", src, err, want)
		}
	}
	evalErrors := map[string]string{
		`States.MathAdd($.s, 1)`:         ErrIntrinsicFailure,
		`States.Format('{} {}', $.s)`:    ErrIntrinsicFailure,
		`States.Format('{}', $.obj)`:     ErrIntrinsicFailure,
		`States.StringToJson('nope')`:    ErrIntrinsicFailure,
		`States.Format('{}', $.missing)`: ErrRuntime,
	}
	env := Env{Input: mustDoc(t, `{"s":"x","obj":{}}`)}
	for src, want := range evalErrors {
		e, err := ParseIntrinsic(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		_, err = e.Eval(env)
		var se *Error
		if !errors.As(err, &se) || se.Name != want {
			t.Errorf("%s: error = %v, want %s", src, err, want)
		}
	}
}

// TestChoiceSpecExample runs the Choice state example of the States
// Language specification.
func TestChoiceSpecExample(t *testing.T) {
	def, err := Parse(`{
	  "StartAt": "ChoiceStateX",
	  "States": {
	    "ChoiceStateX": {
	      "Type": "Choice",
	      "Choices": [
	        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
	        {"And": [
	          {"Variable": "$.value", "IsPresent": true},
	          {"Variable": "$.value", "IsNumeric": true},
	          {"Variable": "$.value", "NumericGreaterThanEquals": 20},
	          {"Variable": "$.value", "NumericLessThan": 30}
	        ], "Next": "ValueInTwenties"},
	        {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "StartAudit"}
	      ],
	      "Default": "RecordEvent"
	    },
	    "Public": {"Type": "Succeed"},
	    "ValueInTwenties": {"Type": "Succeed"},
	    "StartAudit": {"Type": "Succeed"},
	    "RecordEvent": {"Type": "Succeed"}
	  }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	choices := def.Main.States["ChoiceStateX"].Choices
	tests := []struct {
		input, want string
	}{
		{`{"type":"Public"}`, "Public"},
		{`{"type":"Private","value":25,"rating":1,"auditThreshold":2}`, "ValueInTwenties"},
		{`{"type":"Private","value":30,"rating":3,"auditThreshold":2}`, "StartAudit"},
		{`{"type":"Private","value":"25","rating":1,"auditThreshold":2}`, "RecordEvent"},
		{`{"type":"Private","rating":1,"auditThreshold":2}`, "RecordEvent"},
	}
	for _, tt := range tests {
		got := "RecordEvent"
		for _, c := range choices {
			ok, err := c.Eval(Env{Input: mustDoc(t, tt.input)})
			if err != nil {
				t.Fatalf("%s: %v", tt.input, err)
			}
			if ok {
				got = c.Next
				break
			}
		}
		if got != tt.want {
			t.Errorf("%s → %s, want %s", tt.input, got, tt.want)
		}
	}
}

func TestChoiceOperators(t *testing.T) {
	input := `{"s":"abc","n":10,"b":true,"ts":"2016-03-14T01:59:00Z","nul":null,"other":"abd","file":"log-2024.txt","star":"a*b"}`
	tests := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"abc"}`, true},
		{`{"Variable":"$.s","StringLessThan":"abd"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"abc"}`, true},
		{`{"Variable":"$.s","StringLessThanPath":"$.other"}`, true},
		{`{"Variable":"$.s","StringEqualsPath":"$.other"}`, false},
		{`{"Variable":"$.n","NumericEquals":10.0}`, true},
		{`{"Variable":"$.n","NumericLessThanEquals":9}`, false},
		{`{"Variable":"$.n","NumericGreaterThan":9.5}`, true},
		{`{"Variable":"$.s","NumericEquals":10}`, false},
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.b"}`, true},
		{`{"Variable":"$.ts","TimestampLessThan":"2016-03-14T02:00:00Z"}`, true},
		{`{"Variable":"$.ts","TimestampEquals":"2016-03-14T03:59:00+02:00"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThanEqualsPath":"$.ts"}`, true},
		{`{"Variable":"$.s","TimestampEquals":"2016-03-14T01:59:00Z"}`, false},
		{`{"Variable":"$.nul","IsNull":true}`, true},
		{`{"Variable":"$.s","IsNull":true}`, false},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.s","IsPresent":true}`, true},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.n","IsNumeric":false}`, false},
		{`{"Variable":"$.b","IsBoolean":true}`, true},
		{`{"Variable":"$.ts","IsTimestamp":true}`, true},
		{`{"Variable":"$.file","StringMatches":"log-*.txt"}`, true},
		{`{"Variable":"$.file","StringMatches":"*.log"}`, false},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.s","StringMatches":"a\\*c"}`, false},
		{`{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.n","NumericEquals":10}]}`, true},
		{`{"Not":{"Variable":"$.b","BooleanEquals":true}}`, false},
	}
	for _, tt := range tests {
		r, err := compileChoiceRule(mustDoc(t, tt.rule), "/test", false)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		got, err := r.Eval(Env{Input: mustDoc(t, input)})
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got != tt.want {
			t.Errorf("%s = %v, want %v", tt.rule, got, tt.want)
		}
	}
	r, _ := compileChoiceRule(mustDoc(t, `{"Variable":"$.missing","StringEquals":"x"}`), "/test", false)
	_, err := r.Eval(Env{Input: mustDoc(t, input)})
	var se *Error
	if !errors.As(err, &se) || se.Name != ErrRuntime {
		t.Errorf("missing Variable: error = %v, want States.Runtime", err)
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{ErrAll, "MyError", true},
		{ErrAll, ErrTimeout, true},
		{ErrAll, ErrRuntime, false},
		{ErrTaskFailed, "MyError", true},
		{ErrTaskFailed, ErrTimeout, false},
		{ErrTaskFailed, ErrHeartbeatTimeout, true},
		{"MyError", "MyError", true},
		{"MyError", "myerror", false},
	}
	for _, tt := range tests {
		if got := Matches(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Matches(%s, %s) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// TestRefusals checks that a definition using anything this engine does
// not implement is refused with an error naming the field and where it is.
func TestRefusals(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	tests := []struct {
		name, def string
		want      []string
	}{
		{"unknown top-level field", `{"StartAt":"A","Bogus":1,"States":{"A":{"Type":"Succeed"}}}`,
			[]string{`"Bogus"`, "/Bogus"}},
		{"unknown query language", `{"QueryLanguage":"JMESPath","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`,
			[]string{"QueryLanguage", "/QueryLanguage"}},
		{"JSONPath state in a JSONata machine", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`,
			[]string{"JSONPath", "/States/A/QueryLanguage"}},
		{"Arguments", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Arguments":{},"End":true}}}`,
			[]string{`"Arguments"`, "/States/A"}},
		{"Assign", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"End":true}}}`,
			[]string{`"Assign"`, "/States/A"}},
		{"Credentials", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Credentials":{},"End":true}}}`,
			[]string{`"Credentials"`, "/States/A"}},
		{"ItemReader", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemReader":{},"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}},"End":true}}}`,
			[]string{`"ItemReader"`, "/States/M"}},
		{"distributed map", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Succeed"}}},"End":true}}}`,
			[]string{"DISTRIBUTED", "/States/M/ItemProcessor/ProcessorConfig/Mode"}},
		{"unsupported resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`,
			[]string{"dynamodb:putItem", "/States/A/Resource"}},
		{"sync resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","End":true}}}`,
			[]string{"startExecution.sync", "/States/A/Resource"}},
		{"unsupported lambda parameter", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","LogType":"Tail"},"End":true}}}`,
			[]string{`"LogType"`, "/States/A/Parameters"}},
		{"unknown Retry field", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Retry":[{"ErrorEquals":["X"],"Foo":1}],"End":true}}}`,
			[]string{`"Foo"`, "/States/A/Retry[0]"}},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"},{"ErrorEquals":["X"],"Next":"B"}],"End":true},"B":{"Type":"Succeed"}}}`,
			[]string{"States.ALL", "/States/A/Catch[0]"}},
		{"States.ALL not alone", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Retry":[{"ErrorEquals":["States.ALL","X"]}],"End":true}}}`,
			[]string{"States.ALL", "/States/A/Retry[0]"}},
		{"unknown intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope(1)"},"End":true}}}`,
			[]string{"States.Nope", "/States/A/Parameters/x.$"}},
		{"filter expression", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.a[?(@.b)]","End":true}}}`,
			[]string{"filter", "/States/A/InputPath"}},
		{"non-reference ResultPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`,
			[]string{"Reference Path", "/States/A/ResultPath"}},
		{"two waits", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`,
			[]string{"Exactly one", "/States/W"}},
		{"Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}}}`,
			[]string{"Next", "End", "/States/A"}},
		{"missing target", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}`,
			[]string{"Nowhere", "/States/A"}},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`,
			[]string{`"B" is not reachable`}},
		{"choice rule without Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
			[]string{`"Next"`, "/States/C/Choices[0]"}},
		{"unknown choice operator", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringContains":"x","Next":"D"}]},"D":{"Type":"Succeed"}}}`,
			[]string{`"StringContains"`, "/States/C/Choices[0]"}},
		{"heartbeat not below timeout", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`,
			[]string{"HeartbeatSeconds", "/States/A"}},
		{"unknown state type", `{"StartAt":"A","States":{"A":{"Type":"Activity","End":true}}}`,
			[]string{"Activity", "/States/A"}},
		{"duplicate name in branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"P","States":{"P":{"Type":"Succeed"}}}],"End":true}}}`,
			[]string{"Duplicate State name", "'P'"}},
		{"BackoffRate below 1", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + fn + `","Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],"End":true}}}`,
			[]string{"BackoffRate", "/States/A/Retry[0]"}},
		{"invalid JSON", `{"StartAt":`, []string{"INVALID_JSON_DESCRIPTION"}},
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

func TestParseDefaults(t *testing.T) {
	def, err := Parse(`{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},
	       "Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"F","ResultPath":null}],"End":true},
	  "F":{"Type":"Fail","Error":"E","Cause":"C"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if def.TimeoutSeconds != 60 {
		t.Errorf("TimeoutSeconds = %d", def.TimeoutSeconds)
	}
	task := def.Main.States["T"]
	r := task.Retry[0]
	if r.IntervalSeconds != 1 || r.MaxAttempts != 3 || r.BackoffRate != 2.0 || r.JitterStrategy != "NONE" {
		t.Errorf("retrier defaults = %+v", r)
	}
	if task.Kind != LambdaInvoke || task.InputPath.String() != "$" || task.ResultPath.String() != "$" || task.OutputPath.String() != "$" {
		t.Errorf("task = %+v", task)
	}
	if task.Catch[0].ResultPath != nil {
		t.Errorf("catch ResultPath null was not kept")
	}
}
