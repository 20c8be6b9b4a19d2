package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

// FuzzPageOf checks the query of GET /providers on any limit and cursor: a
// limit is accepted exactly when it is a decimal integer from 1 to 100 (the
// default 20 when absent) and a cursor when it is at most 1024 bytes (the
// store judges its content); a refusal is an invalid_request *apperr.Error
// (400) naming the parameter. Accepted values come back unchanged.
func FuzzPageOf(f *testing.F) {
	for _, s := range []string{"20", "1", "100", "0", "101", "-1", "+5", "05", "1e2", "abc", "", " 5", "5\x00", "99999999999999999999"} {
		f.Add(s, true, "", false)
	}
	f.Add("", false, "cursor", true)
	f.Add("", false, strings.Repeat("c", 1025), true)
	f.Fuzz(func(t *testing.T, limit string, hasLimit bool, cursor string, hasCursor bool) {
		q := map[string]string{}
		if hasLimit {
			q["limit"] = limit
		}
		if hasCursor {
			q["cursor"] = cursor
		}
		n, c, err := pageOf(q)
		want := DefaultLimit
		limitOK := true
		if hasLimit {
			v, perr := strconv.Atoi(limit)
			limitOK = perr == nil && v >= 1 && v <= MaxLimit
			want = v
		}
		cursorOK := len(cursor) <= maxCursorLen || !hasCursor
		if limitOK && cursorOK {
			if err != nil || n != want || (hasCursor && c != cursor) || (!hasCursor && c != "") {
				t.Fatalf("limit %q cursor %q: %d %q %v", limit, cursor, n, c, err)
			}
			return
		}
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != apperr.InvalidRequest || len(e.Details) != 1 {
			t.Fatalf("limit %q cursor %q: error %v", limit, cursor, err)
		}
		if f := e.Details[0].Field; (f == "limit") == limitOK || (f != "limit" && f != "cursor") {
			t.Fatalf("limit %q cursor %q: detail %+v", limit, cursor, e.Details[0])
		}
	})
}
