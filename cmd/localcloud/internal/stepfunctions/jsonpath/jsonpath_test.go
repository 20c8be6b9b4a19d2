package jsonpath

import (
	"errors"
	"strings"
	"testing"
)

func doc(t *testing.T, s string) any {
	t.Helper()
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestGet(t *testing.T) {
	input := `{"a":{"b":[10,20,30,40,50]},"c d":1,"x":{"y":{"z":"deep"}},"list":[{"n":1},{"n":2}]}`
	tests := []struct {
		path, want string
	}{
		{"$", input},
		{"$.a.b[0]", `10`},
		{"$.a.b[-1]", `50`},
		{"$.a.b[-3:]", `[30,40,50]`},
		{"$.a.b[1:3]", `[20,30]`},
		{"$.a.b[0,2]", `[10,30]`},
		{"$['c d']", `1`},
		{"$.list[*].n", `[1,2]`},
		{"$..z", `["deep"]`},
		{"$..n", `[1,2]`},
		{"$.x.*", `[{"z":"deep"}]`},
		{"$.missing[*]", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := Parse(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Get(doc(t, input))
			if err != nil {
				t.Fatal(err)
			}
			if Encode(got) != Encode(doc(t, tt.want)) {
				t.Errorf("Get = %s, want %s", Encode(got), tt.want)
			}
		})
	}
}

func TestGetNotFound(t *testing.T) {
	for _, path := range []string{"$.nope", "$.a.b[9]", "$.a.b.c"} {
		_, err := MustParse(path).Get(doc(t, `{"a":{"b":[1]}}`))
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", path, err)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	for path, want := range map[string]string{
		"a.b":              "must begin with '$'",
		"$.a[?(@.x > 1)]":  "filter expression",
		"$.a.length()":     "function",
		"$.a[":             "unclosed",
		"$..":              "empty member name",
		"$.a[1:2:3]":       "slice steps",
		"$['unterminated]": "unclosed",
	} {
		_, err := Parse(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to mention %q", path, err, want)
		}
	}
	if _, err := ParseReference("$.a[*]"); err == nil {
		t.Error("ParseReference accepted a wildcard")
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		in, path, value, want string
		wantErr               bool
	}{
		{`{"a":1}`, "$", `"x"`, `"x"`, false},
		{`{"a":1}`, "$.b", `2`, `{"a":1,"b":2}`, false},
		{`{"a":1}`, "$.b.c.d", `true`, `{"a":1,"b":{"c":{"d":true}}}`, false},
		{`{"master":{"detail":[1,2,3]}}`, "$.master.detail", `"x"`, `{"master":{"detail":"x"}}`, false},
		{`{"a":[1,2]}`, "$.a[1]", `9`, `{"a":[1,9]}`, false},
		{`{"a":"str"}`, "$.a.b", `1`, ``, true},
		{`{"a":[1]}`, "$.a[5]", `1`, ``, true},
	}
	for _, tt := range tests {
		in := doc(t, tt.in)
		before := Encode(in)
		got, err := MustParse(tt.path).Set(in, doc(t, tt.value))
		if tt.wantErr {
			if err == nil {
				t.Errorf("Set(%s, %s) succeeded, want an error", tt.in, tt.path)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Set(%s, %s): %v", tt.in, tt.path, err)
		}
		if Encode(got) != Encode(doc(t, tt.want)) {
			t.Errorf("Set(%s, %s) = %s, want %s", tt.in, tt.path, Encode(got), tt.want)
		}
		if Encode(in) != before {
			t.Errorf("Set modified its input")
		}
	}
}

func TestDecodeKeepsNumbers(t *testing.T) {
	in := `{"big":12345678901234567890,"f":1.50}`
	if got := Encode(doc(t, in)); got != in {
		t.Errorf("round trip = %s, want %s", got, in)
	}
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("Decode accepted trailing data")
	}
}
