package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

func TestStoreError(t *testing.T) {
	decode := errors.New("unmarshal failed, cannot unmarshal string into Go value type []provider.Subscription")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"undecodable item", apperr.Undecodable(decode, "decode provider"), "UndecodableData"},
		{"undecodable item, wrapped again", fmt.Errorf("consent invite: %w", apperr.Undecodable(decode, "decode provider")), "UndecodableData"},
		{"storage fault", apperr.Wrap(errors.New("ThrottlingException"), "get provider"), "TransientError"},
		{"plain error", errors.New("connection reset"), "TransientError"},
		{"product error", apperr.New(apperr.NotFound, "The provider does not exist."), "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StoreError(tt.err)
			if name := ErrorName(got); name != tt.want {
				t.Errorf("StoreError(%v) is %s, want %s", tt.err, name, tt.want)
			}
			var transient *TransientError
			if tt.want == "UndecodableData" && errors.As(got, &transient) {
				t.Error("a decode failure is classified as transient")
			}
			if tt.want == "UndecodableData" && strings.Contains(got.Error(), "Subscription") {
				t.Errorf("reason %q shows the decoder's text", got.Error())
			}
		})
	}
}

// TestUndecodableDataIsNeverRetried reads the state machine definitions: no
// Retry may retry UndecodableData, and a task state with a Catch must send it
// to RecordFailed (the failure path).
func TestUndecodableDataIsNeverRetried(t *testing.T) {
	const name = "UndecodableData"
	files, err := filepath.Glob("../../statemachine/*.asl.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no definitions: %v", err)
	}
	placeholder := regexp.MustCompile(`\$\{[A-Za-z0-9]+\}`)
	matches := func(errorEquals []string) bool {
		return slices.Contains(errorEquals, name) || slices.Contains(errorEquals, "States.ALL") || slices.Contains(errorEquals, "States.TaskFailed")
	}
	type retrier struct {
		ErrorEquals []string
		MaxAttempts *int
	}
	type catcher struct {
		ErrorEquals []string
		Next        string
	}
	type state struct {
		Type  string
		Retry []retrier
		Catch []catcher
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var def struct{ States map[string]state }
		if err := json.Unmarshal(placeholder.ReplaceAll(raw, []byte("1")), &def); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		tasks := 0
		for n, st := range def.States {
			if st.Type != "Task" {
				continue
			}
			tasks++
			for _, r := range st.Retry {
				if !matches(r.ErrorEquals) {
					continue
				}
				// The first matching retrier decides; it must not retry.
				if r.MaxAttempts == nil || *r.MaxAttempts != 0 {
					t.Errorf("%s: state %s retries %s (retrier %v)", filepath.Base(f), n, name, r.ErrorEquals)
				}
				break
			}
			for _, c := range st.Catch {
				if !matches(c.ErrorEquals) {
					continue
				}
				if c.Next != "RecordFailed" {
					t.Errorf("%s: state %s sends %s to %s, not to the failure path", filepath.Base(f), n, name, c.Next)
				}
				break
			}
		}
		if tasks == 0 {
			t.Errorf("%s: no task states read", f)
		}
	}
}
