package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions"
)

// lambdaError is a function error as the Lambda host reports it.
type lambdaError struct{ typ, msg string }

func (e *lambdaError) Error() string           { return e.msg }
func (e *lambdaError) LambdaErrorType() string { return e.typ }

// flowLambdas plays the task functions of the migration definition. The
// customer's relationships are confirmed once relatedAfter has passed since
// the start (the relationship check ends its wait itself then, as the real
// one does with its task token), ownership is missing until ownedAfter has
// passed; both deadlines are 30 days, as configured in template.yaml.
type flowLambdas struct {
	engine       *stepfunctions.Engine
	start        time.Time
	relatedAfter time.Duration
	ownedAfter   time.Duration
	mu           sync.Mutex
	calls        map[string]int
}

func (f *flowLambdas) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	name := fn[strings.LastIndex(fn, ":")+1:]
	f.mu.Lock()
	f.calls[name]++
	f.mu.Unlock()
	var in map[string]any
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, err
	}
	switch name {
	case "ConsentInviteFunction":
		token, _ := in["taskToken"].(string)
		go f.engine.SendTaskSuccess(token, `{"tenantId":"20000000-0000-4000-8000-000000000001"}`)
		return []byte(`{"sent":"invitation"}`), nil
	case "RequestRelationshipFunction":
		return []byte(`{"relationshipId":"r1","status":"approvalPending"}`), nil
	case "CheckRelationshipsFunction":
		token, _ := in["taskToken"].(string)
		elapsed := time.Since(f.start)
		switch {
		case elapsed >= f.relatedAfter:
			go f.engine.SendTaskSuccess(token, `{"outcome":"confirmed","checkedAt":"2026-01-01T00:00:00Z"}`)
		case elapsed >= 30*24*time.Hour:
			go f.engine.SendTaskFailure(token, "RelationshipDeadlineExceeded", "deadline")
		}
		// Pending: the function keeps its token and returns; the wait
		// times out and the state is entered again.
		return []byte(`{"outcome":"pending"}`), nil
	case "CheckOwnershipFunction":
		elapsed := time.Since(f.start)
		switch {
		case elapsed >= f.ownedAfter:
			return []byte(`{"subscriptions":[{"id":"s","state":"owned"}],"checkedAt":"2026-01-01T00:00:00Z"}`), nil
		case elapsed >= 30*24*time.Hour:
			return nil, &lambdaError{"OwnershipDeadlineExceeded", "deadline"}
		}
		return nil, &lambdaError{"OwnershipPending", "missing"}
	case "RecordOutcomeFunction":
		return []byte(`{"status":"` + in["outcome"].(string) + `"}`), nil
	}
	return nil, &lambdaError{"Unexpected", name}
}

func migrationDefinition(t *testing.T) (name, def string) {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sm := range tpl.StateMachines {
		if sm.LogicalID != "MigrationStateMachine" {
			continue
		}
		raw, err := os.ReadFile(sm.DefinitionPath)
		if err != nil {
			t.Fatal(err)
		}
		def = string(raw)
		for k, v := range sm.DefinitionSubstitutions {
			def = strings.ReplaceAll(def, "${"+k+"}", v)
		}
		return sm.Name, def
	}
	t.Fatal("MigrationStateMachine not in template.yaml")
	return "", ""
}

// TestMigrationTransitionBudget runs the real definition and counts what
// Step Functions bills: state transitions, retries included (each check of
// the relationships is an entry of its wait state, each ownership check
// after the first a retry). The happy path must stay within 30 and a
// 30-day wait (for the relationships, or for Owner) within 80.
func TestMigrationTransitionBudget(t *testing.T) {
	name, def := migrationDefinition(t)
	const never = 365 * 24 * time.Hour
	tests := []struct {
		name                     string
		relatedAfter, ownedAfter time.Duration
		want                     string
		budget                   int
	}{
		{"happy path", 0, 0, stepfunctions.StatusSucceeded, 30},
		{"relationships after 2 days, owner after 3", 2 * 24 * time.Hour, 3 * 24 * time.Hour, stepfunctions.StatusSucceeded, 80},
		{"30-day relationship wait to the deadline", never, 0, stepfunctions.StatusFailed, 80},
		{"30-day ownership wait to the deadline", 0, never, stepfunctions.StatusFailed, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &flowLambdas{start: time.Now(), relatedAfter: tt.relatedAfter, ownedAfter: tt.ownedAfter, calls: map[string]int{}}
				e := stepfunctions.New(stepfunctions.Options{Lambda: f})
				defer e.Close()
				f.engine = e
				sm, err := e.CreateStateMachine(name, def, "arn:aws:iam::000000000000:role/local")
				if err != nil {
					t.Fatal(err)
				}
				arn, _, err := e.StartExecution(sm, "provider-prv_1", `{"accountId":"acct","providerId":"prv_1"}`)
				if err != nil {
					t.Fatal(err)
				}
				status, err := e.Wait(context.Background(), arn)
				if err != nil || status != tt.want {
					t.Fatalf("execution ended %s (%v), want %s", status, err, tt.want)
				}
				retries := max(f.calls["CheckOwnershipFunction"]-1, 0)
				billed := e.Transitions(arn) + retries
				t.Logf("%s: %d states entered + %d retries = %d billed transitions (%v of simulated time)", tt.name, e.Transitions(arn), retries, billed, time.Since(f.start).Round(time.Hour))
				if billed > tt.budget {
					t.Fatalf("%d billed transitions, budget is %d", billed, tt.budget)
				}
				if tt.want == stepfunctions.StatusFailed && time.Since(f.start) < 30*24*time.Hour {
					t.Fatalf("failed after %v, before the 30-day deadline", time.Since(f.start))
				}
			})
		})
	}
}
