package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// operatorListed is the part of GET /operator/providers' items the test reads.
type operatorListed struct {
	AccountID    string  `json:"accountId"`
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Status       string  `json:"status"`
	UpdatedAt    string  `json:"updatedAt"`
	Version      int     `json:"version"`
	Stuck        *bool   `json:"stuck"`
	WaitingSince *string `json:"waitingSince"`
}

// operatorPages walks GET /operator/providers with query (without cursor)
// to its end and returns the pages; every page but the last is full.
func (e *env) operatorPages(t *testing.T, token, query string, limit int) [][]operatorListed {
	t.Helper()
	var pages [][]operatorListed
	cursor := ""
	for range 200 {
		path := fmt.Sprintf("/operator/providers?limit=%d%s", limit, query)
		if cursor != "" {
			path += "&cursor=" + apiQueryEscape(cursor)
		}
		r := e.call(t, "GET", path, token, nil)
		wantAPIOK(t, r, 200)
		var page struct {
			Providers  []operatorListed `json:"providers"`
			NextCursor string           `json:"nextCursor"`
		}
		if err := json.Unmarshal(r.raw, &page); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page.Providers)
		if page.NextCursor == "" {
			return pages
		}
		if len(page.Providers) != limit {
			t.Fatalf("%s: a page of %d, not %d, before the last", path, len(page.Providers), limit)
		}
		cursor = page.NextCursor
	}
	t.Fatalf("%s: the listing does not end", query)
	return nil
}

// settle waits until none of the providers changes for two seconds (the
// workflow sends the invitations, a cancel stops the execution), so that
// a listing's walk sees them still.
func (e *env) settle(t *testing.T, admins map[string]string, owners map[string]string) {
	t.Helper()
	versions := func() map[string]float64 {
		out := map[string]float64{}
		for id, acct := range owners {
			r := e.call(t, "GET", "/providers/"+id, admins[acct], nil)
			wantAPIOK(t, r, 200)
			out[id], _ = r.json["version"].(float64)
		}
		return out
	}
	before := versions()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		time.Sleep(2 * time.Second)
		now := versions()
		if fmt.Sprint(now) == fmt.Sprint(before) {
			return
		}
		before = now
	}
	t.Fatal("the providers keep changing")
}

// TestOperatorProviders: an operator lists the providers of two accounts
// together, newest change first, filtered by status, paged across the
// status partitions; every provider says whether it is stuck and, while
// open, since when it waits; others are refused.
func TestOperatorProviders(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	op := e.operatorToken(t)
	accounts := []string{e.freshAccount(t), e.freshAccount(t)}
	admins := map[string]string{}
	for _, a := range accounts {
		admins[a] = e.token(t, a, "admin")
	}
	owners := map[string]string{} // provider id → account
	var cancelled []string
	for i := range 5 {
		acct := accounts[i%2]
		id := e.create(t, admins[acct], migrate(fmt.Sprintf("Operator view %d %s", i, apiSuffix()), ownedSub))
		owners[id] = acct
		if i%2 == 0 {
			r := e.call(t, "POST", "/providers/"+id+"/cancel", admins[acct], nil)
			wantAPIOK(t, r, 200)
			cancelled = append(cancelled, id)
		} else {
			e.cancelLater(t, admins[acct], id)
		}
	}
	e.settle(t, admins, owners)

	// mine keeps the test's providers of a walk, in order, each once.
	mine := func(pages [][]operatorListed) []operatorListed {
		var out []operatorListed
		seen := map[string]bool{}
		for _, page := range pages {
			for _, p := range page {
				acct, ok := owners[p.ID]
				if !ok {
					continue
				}
				if seen[p.ID] || p.AccountID != acct {
					t.Fatalf("%s listed twice, or under account %s, not %s", p.ID, p.AccountID, acct)
				}
				seen[p.ID] = true
				out = append(out, p)
			}
		}
		return out
	}

	// Every status, two at a time: all five, newest change first, across
	// both accounts and the status partitions.
	all := mine(e.operatorPages(t, op, "", 2))
	if len(all) != 5 {
		t.Fatalf("listed %d of the 5 providers: %+v", len(all), all)
	}
	accountsSeen := map[string]bool{}
	for i, p := range all {
		accountsSeen[p.AccountID] = true
		if i > 0 && p.UpdatedAt > all[i-1].UpdatedAt {
			t.Errorf("%s (changed %s) after %s (changed %s): not newest change first", p.ID, p.UpdatedAt, all[i-1].ID, all[i-1].UpdatedAt)
		}
		open := !slices.Contains(cancelled, p.ID)
		if p.Stuck == nil || *p.Stuck || (p.WaitingSince != nil) != open {
			t.Errorf("%s (%s): stuck %v, waitingSince %v", p.ID, p.Status, p.Stuck, p.WaitingSince)
		}
	}
	if len(accountsSeen) != 2 {
		t.Errorf("accounts %v", accountsSeen)
	}

	// One status, one at a time.
	for _, tc := range []struct {
		status string
		want   int
	}{{"cancelled", 3}, {"pending_consent", 2}, {"active", 0}} {
		pages := e.operatorPages(t, op, "&status="+tc.status, 1)
		for _, page := range pages {
			for _, p := range page {
				if p.Status != tc.status {
					t.Errorf("status=%s listed %s in %s", tc.status, p.ID, p.Status)
				}
			}
		}
		if got := mine(pages); len(got) != tc.want {
			t.Errorf("status=%s: %d of the test's providers, want %d", tc.status, len(got), tc.want)
		}
	}
	// No provider has a health check yet: a health filter keeps none of them.
	if got := mine(e.operatorPages(t, op, "&health=attention", 50)); len(got) != 0 {
		t.Errorf("health=attention listed %+v", got)
	}
	// Stuck first: no stuck provider after one that is not, on any page.
	notStuck := false
	for _, page := range e.operatorPages(t, op, "&stuck=true", 3) {
		for _, p := range page {
			if p.Stuck == nil || *p.Stuck && notStuck {
				t.Fatalf("stuck=true: %s stuck %v after one that is not", p.ID, p.Stuck)
			}
			notStuck = notStuck || !*p.Stuck
		}
	}

	// Refusals.
	r := e.call(t, "GET", "/operator/providers?status=cancelled&limit=1", op, nil)
	wantAPIOK(t, r, 200)
	cancelledCursor, _ := r.json["nextCursor"].(string)
	if cancelledCursor == "" {
		t.Fatalf("no next page of cancelled providers: %s", r.raw)
	}
	for _, tc := range []struct {
		name, query, token string
		status             int
		code, field        string
	}{
		{"an administrator", "", admins[accounts[0]], 403, "operator_required", ""},
		{"a member", "", e.token(t, accounts[0]), 403, "operator_required", ""},
		{"no token", "", "", 401, "unauthenticated", ""},
		{"an unknown status", "?status=stuck", op, 400, "invalid_request", "status"},
		{"an unknown health", "?health=bad", op, 400, "invalid_request", "health"},
		{"stuck not a boolean", "?stuck=yes", op, 400, "invalid_request", "stuck"},
		{"limit 0", "?limit=0", op, 400, "invalid_request", "limit"},
		{"a garbage cursor", "?cursor=garbage", op, 400, "invalid_request", "cursor"},
		{"another status's cursor", "?status=pending_consent&cursor=" + apiQueryEscape(cancelledCursor), op, 400, "invalid_request", "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(t, "GET", "/operator/providers"+tc.query, tc.token, nil)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("%d %s, want %d %s: %s", r.status, r.errorCode(), tc.status, tc.code, r.raw)
			}
			if tc.field == "" {
				return
			}
			details, _ := r.json["error"].(map[string]any)["details"].([]any)
			if len(details) != 1 || details[0].(map[string]any)["field"] != tc.field {
				t.Fatalf("details %v, want one on %s", details, tc.field)
			}
		})
	}
}
