package api

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzPageParams checks a listing's query on any limit and cursor: a limit
// is accepted exactly when it is a decimal integer from 1 to 100 (the
// default 20 when absent) and a cursor when it is at most 1024 bytes (the
// store judges its content); each refused one is one detail naming it.
// Accepted values come back unchanged.
func FuzzPageParams(f *testing.F) {
	for _, s := range []string{"20", "1", "100", "0", "101", "-1", "+5", "05", "1e2", "abc", "", " 5", "5\x00", "99999999999999999999"} {
		f.Add(s, true, "", false)
	}
	f.Add("", false, "cursor", true)
	f.Add("", false, strings.Repeat("c", 1025), true)
	f.Add("0", true, strings.Repeat("c", 1025), true)
	f.Fuzz(func(t *testing.T, limit string, hasLimit bool, cursor string, hasCursor bool) {
		q := map[string]string{}
		if hasLimit {
			q["limit"] = limit
		}
		if hasCursor {
			q["cursor"] = cursor
		}
		n, c, details := PageParams(q)
		want := DefaultPageLimit
		limitOK := true
		if hasLimit {
			v, perr := strconv.Atoi(limit)
			limitOK = perr == nil && v >= 1 && v <= MaxPageLimit
			want = v
		}
		cursorOK := len(cursor) <= maxCursorLen || !hasCursor
		var wantFields []string
		if !limitOK {
			wantFields = append(wantFields, "limit")
		}
		if !cursorOK {
			wantFields = append(wantFields, "cursor")
		}
		var fields []string
		for _, d := range details {
			fields = append(fields, d.Field)
		}
		if strings.Join(fields, ",") != strings.Join(wantFields, ",") {
			t.Fatalf("limit %q cursor %q: details %+v, want fields %v", limit, cursor, details, wantFields)
		}
		if limitOK && n != want || cursorOK && (hasCursor && c != cursor || !hasCursor && c != "") {
			t.Fatalf("limit %q cursor %q: %d %q", limit, cursor, n, c)
		}
	})
}
