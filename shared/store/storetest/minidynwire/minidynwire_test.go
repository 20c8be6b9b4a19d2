package minidynwire

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// echo answers each request with its body, as minidyn answers an item with
// what was stored.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Seen", string(b))
	_, _ = w.Write(b)
})

func call(t *testing.T, h http.Handler, target, body string) (seen, answer string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if cl := rec.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("Content-Length %s, body %d bytes", cl, rec.Body.Len())
	}
	return rec.Header().Get("X-Seen"), rec.Body.String()
}

func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestEmptyValuesAreMarkedAndRestored(t *testing.T) {
	h := Wrap(echo)
	body := `{"TableName":"t","Item":{"l":{"L":[]},"m":{"M":{}},"b":{"B":""},"s":{"S":""},"n":{"NULL":true},` +
		`"nest":{"L":[{"M":{"e":{"L":[]},"f":{"M":{}}}},{"L":[]}]},"full":{"L":[{"S":"x"}]}},"Limit":10}`
	seen, answer := call(t, h, "DynamoDB_20120810.PutItem", body)
	if strings.Contains(seen, `"L":[]`) || strings.Contains(seen, `"M":{}`) || strings.Contains(seen, `"B":""`) {
		t.Errorf("minidyn saw an empty value: %s", seen)
	}
	sameJSON(t, answer, body)
}

func TestAppendedMarkedListLosesItsMarker(t *testing.T) {
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What minidyn answers after list_append(l, :x) on a marked list.
		_, _ = w.Write([]byte(`{"Attributes":{"l":{"L":[{"S":"` + jsonEscape(markerElement) + `"},{"S":"x"}]},"m":{"M":{"` + jsonEscape(markerKey) + `":{"NULL":true},"k":{"S":"v"}}}}}`))
	}))
	_, answer := call(t, h, "DynamoDB_20120810.UpdateItem", `{}`)
	sameJSON(t, answer, `{"Attributes":{"l":{"L":[{"S":"x"}]},"m":{"M":{"k":{"S":"v"}}}}}`)
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestOtherRequestsPassThrough(t *testing.T) {
	h := Wrap(echo)
	for _, tc := range []struct{ target, body string }{
		{"DynamoDB_20120810.CreateTable", `{"L":[]}`},
		{"DynamoDB_20120810.PutItem", `not json {"L":[]}`},
	} {
		seen, answer := call(t, h, tc.target, tc.body)
		if seen != tc.body || answer != tc.body {
			t.Errorf("%s %q: minidyn saw %q, answered %q", tc.target, tc.body, seen, answer)
		}
	}
}
