package workflow

import (
	"context"
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
	"github.com/partnercloud/azure/shared/provider"
)

func TestNamedStoreErrors(t *testing.T) {
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
			got := Named(tt.err)
			if name := ErrorName(got); name != tt.want {
				t.Errorf("Named(%v) is %s, want %s", tt.err, name, tt.want)
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

// TestNamedCodes: each neutral code the state machines act on reaches them
// under the name their definitions match, with its safe message as the
// reason; a named error passes through, wrapped or not.
func TestNamedCodes(t *testing.T) {
	for code, want := range map[apperr.Code]string{
		apperr.Unavailable:                  "TransientError",
		apperr.AzureUnavailable:             "TransientError",
		apperr.ConsentDeclined:              "ConsentDeclined",
		apperr.InvitationExpired:            "InvitationExpired",
		apperr.ConsentRevoked:               "ConsentRevoked",
		apperr.OwnershipPending:             "OwnershipPending",
		apperr.OwnershipDeadlineExceeded:    "OwnershipDeadlineExceeded",
		apperr.EmailRejected:                "EmailRejected",
		apperr.TenantAlreadyConnected:       "TenantAlreadyConnected",
		apperr.MigrationInProgress:          "MigrationInProgress",
		apperr.SubscriptionPending:          "SubscriptionPending",
		apperr.DomainTaken:                  "DomainTaken",
		apperr.AddressInvalid:               "AddressInvalid",
		apperr.Rejected:                     "PartnerCenterRejected",
		apperr.RelationshipPending:          "RelationshipPending",
		apperr.RelationshipExpired:          "RelationshipExpired",
		apperr.RelationshipTerminated:       "RelationshipTerminated",
		apperr.RelationshipRejected:         "RelationshipRejected",
		apperr.RelationshipDeadlineExceeded: "RelationshipDeadlineExceeded",
		apperr.InvalidState:                 "InvalidInput",
	} {
		err := fmt.Errorf("context: %w", apperr.New(code, "a safe reason"))
		if got := ErrorName(err); got != want {
			t.Errorf("%s is named %s, want %s", code, got, want)
		}
		if name, cause := Failure(err); name != want || cause != "a safe reason" {
			t.Errorf("Failure(%s) = %q, %q", code, name, cause)
		}
		if want != "TransientError" && want != "InvalidInput" && CodeOf(want) != code {
			t.Errorf("CodeOf(%s) = %q, want %s", want, CodeOf(want), code)
		}
	}
	if got := Named(fmt.Errorf("x: %w", &OwnershipPending{Reason: "r"})); ErrorName(got) != "OwnershipPending" || got.Error() != "r" {
		t.Errorf("a wrapped named error became %T %v", got, got)
	}
	if CodeOf("States.Timeout") != apperr.Timeout || CodeOf("Lambda.Unknown") != "" {
		t.Error("CodeOf of the built-in names")
	}
	if Named(nil) != nil {
		t.Error("Named(nil) is not nil")
	}
}

type inputStore struct{ err error }

func (s inputStore) GetProvider(_ context.Context, accountID, providerID string) (*provider.Provider, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &provider.Provider{AccountID: accountID, ID: providerID}, nil
}

// TestRun: the wrapper validates, reads the provider and names errors.
func TestRun(t *testing.T) {
	ctx := context.Background()
	in := OwnershipInput{Input: Input{AccountID: "acct-1", ProviderID: "prv_1"}, ExecutionARN: "arn"}
	step := func(_ context.Context, p *provider.Provider) (string, error) {
		if p == nil || p.ID != "prv_1" {
			return "", errors.New("no provider")
		}
		return "done", nil
	}
	if out, err := Run(ctx, in, inputStore{}, step); err != nil || out != "done" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if _, err := Run(ctx, OwnershipInput{}, inputStore{}, step); ErrorName(err) != "InvalidInput" {
		t.Fatalf("no reference: %v", err)
	}
	if _, err := Run(ctx, in, inputStore{err: apperr.New(apperr.NotFound, "The provider does not exist.")}, step); ErrorName(err) != "InvalidInput" {
		t.Fatalf("unknown provider: %v", err)
	}
	if _, err := Run(ctx, in, nil, step); ErrorName(err) != "TransientError" {
		t.Fatalf("a step's fault: %v", err)
	}
	for _, tt := range []struct {
		in   Task
		want string
	}{
		{InviteInput{Input: in.Input}, "InvalidInput"},
		{InviteInput{Input: in.Input, TaskToken: "t"}, ""},
		{OutcomeInput{Input: in.Input, Outcome: provider.StatusPendingConsent}, "InvalidInput"},
		{OutcomeInput{Input: in.Input, Outcome: provider.StatusExpired}, ""},
		{NewCustomerInput{Input: in.Input, Step: "dance"}, "InvalidInput"},
		{NewCustomerInput{Input: in.Input, Step: StepOrder}, ""},
	} {
		if err := tt.in.Validate(); (err == nil && tt.want != "") || (err != nil && ErrorName(err) != tt.want) {
			t.Errorf("%+v: Validate = %v, want %q", tt.in, err, tt.want)
		}
	}
}
