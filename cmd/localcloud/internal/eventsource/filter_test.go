package eventsource

import (
	"strings"
	"testing"
)

// record is a DynamoDB stream record as Lambda filters it.
const record = `{
  "eventName": "MODIFY", "eventSource": "aws:dynamodb",
  "dynamodb": {
    "Keys": {"pk": {"S": "PROVIDER#p-1"}, "sk": {"S": "PROVIDER"}},
    "NewImage": {
      "pk": {"S": "PROVIDER#p-1"}, "sk": {"S": "PROVIDER"},
      "outboxSince": {"S": "2024-05-01T10:00:00Z"},
      "status": {"S": "Invited"}, "attempts": {"N": "3"}, "demo": {"BOOL": false},
      "tags": {"SS": ["a", "b"]}, "nothing": {"NULL": true}
    },
    "SizeBytes": 120
  }
}`

func TestFilterMatch(t *testing.T) {
	var ev map[string]any
	if err := decode([]byte(record), &ev); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		want    bool
	}{
		// The template's outbox filter: an attribute's presence is tested on its type key.
		{`{"dynamodb":{"NewImage":{"outboxSince":{"S":[{"exists":true}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"missing":{"S":[{"exists":true}]}}}}`, false},
		{`{"dynamodb":{"NewImage":{"missing":{"S":[{"exists":false}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"outboxSince":{"S":[{"exists":false}]}}}}`, false},
		// exists applies to leaves: the attribute itself is an object.
		{`{"dynamodb":{"NewImage":{"outboxSince":[{"exists":true}]}}}`, false},
		{`{"dynamodb":{"OldImage":{"x":{"S":[{"exists":false}]}}}}`, true},
		{`{"eventName":["INSERT","MODIFY"]}`, true},
		{`{"eventName":["REMOVE"]}`, false},
		{`{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["Done"]}}}}`, false},
		{`{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"PROVIDER#"}]}}}}`, true},
		{`{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"ACCOUNT#"}]}}}}`, false},
		{`{"dynamodb":{"Keys":{"pk":{"S":[{"suffix":"p-1"}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"status":{"S":[{"equals-ignore-case":"INVITED"}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":["Done","Failed"]}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":"Invited"}]}}}}`, false},
		{`{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":{"prefix":"Inv"}}]}}}}`, false},
		{`{"dynamodb":{"NewImage":{"missing":{"S":[{"anything-but":"x"}]}}}}`, false},
		// N values are strings in DynamoDB JSON; SizeBytes is a number.
		{`{"dynamodb":{"NewImage":{"attempts":{"N":["3"]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"attempts":{"N":[3]}}}}`, false},
		{`{"dynamodb":{"SizeBytes":[120.0]}}`, true},
		{`{"dynamodb":{"SizeBytes":[{"numeric":[">",100,"<=",120]}]}}`, true},
		{`{"dynamodb":{"SizeBytes":[{"numeric":["<",100]}]}}`, false},
		{`{"dynamodb":{"NewImage":{"demo":{"BOOL":[false]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"demo":{"BOOL":[true]}}}}`, false},
		{`{"dynamodb":{"NewImage":{"nothing":{"NULL":[true]}}}}`, true},
		// An array value matches when one element does.
		{`{"dynamodb":{"NewImage":{"tags":{"SS":["b"]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"tags":{"SS":["c"]}}}}`, false},
	}
	for _, tc := range tests {
		f, err := CompileFilter(tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if got := f.Match(ev); got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestMatchAny(t *testing.T) {
	var ev map[string]any
	_ = decode([]byte(record), &ev)
	no, _ := CompileFilter(`{"eventName":["REMOVE"]}`)
	yes, _ := CompileFilter(`{"eventName":["MODIFY"]}`)
	tests := []struct {
		filters []*Filter
		want    bool
	}{{nil, true}, {[]*Filter{no}, false}, {[]*Filter{no, yes}, true}}
	for i, tc := range tests {
		if got := MatchAny(tc.filters, ev); got != tc.want {
			t.Errorf("%d: %v", i, got)
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`[1]`, "not a JSON object"},
		{`{"a":"b"}`, "an object or an array"},
		{`{"a":[]}`, "empty array"},
		{`{"a":{}}`, "empty object"},
		{`{"a":[{"wildcard":"x*"}]}`, `"wildcard" operator is not implemented`},
		{`{"$or":[{"a":["b"]}]}`, "$or is not implemented"},
		{`{"a":[{"exists":"yes"}]}`, "unexpected argument"},
		{`{"a":[{"numeric":[">"]}]}`, "numeric"},
		{`{"a":[{"prefix":"x","suffix":"y"}]}`, "one operator"},
	}
	for _, tc := range tests {
		if _, err := CompileFilter(tc.pattern); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want containing %q", tc.pattern, err, tc.want)
		}
	}
}
