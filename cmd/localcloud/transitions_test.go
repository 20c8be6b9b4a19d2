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

// flowLambdas plays the task functions of the migration definition, with
// the default scenario's four subscriptions. The customer's relationships
// are confirmed once relatedAfter has passed since the start (the
// relationship check ends its wait itself then, as the real one does with
// its task token). Then ClassifySubscriptions routes them: "transfer" (its
// request accepted a day after it was made), "owned" (moved: its report is
// approved an hour after it is shown, the moves take ten minutes),
// "missing" (Owner granted once ownedAfter has passed, then as "owned"),
// and a fourth that is not movable (not followed). Every deadline is 30
// days, as configured in template.yaml.
type flowLambdas struct {
	engine       *stepfunctions.Engine
	start        time.Time
	relatedAfter time.Duration
	ownedAfter   time.Duration
	mu           sync.Mutex
	calls        map[string]int
	// per subscription: when its report was shown (approval an hour
	// later, through its kept token), and when its approval came.
	shown, approved map[string]time.Time
	transferAt      time.Time
}

// advance plays one AdvanceSubscription run for sub at elapsed: it ends the
// wait when the route ended (as the real one does with SendTaskSuccess),
// else keeps the token; the approval of a shown report resumes the kept
// token an hour later, as the outbox relay does.
func (f *flowLambdas) advance(sub, token string, elapsed time.Duration) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	final := elapsed >= 30*24*time.Hour // the deadline ends what still waits
	switch sub {
	case "transfer":
		if f.transferAt.IsZero() {
			f.transferAt = now
		}
		final = final || now.Sub(f.transferAt) >= 24*time.Hour
	case "owned", "missing":
		if sub == "missing" && elapsed < f.ownedAfter {
			break
		}
		if at, ok := f.approved[sub]; ok {
			final = final || now.Sub(at) >= 10*time.Minute
			break
		}
		if _, ok := f.shown[sub]; !ok {
			f.shown[sub] = now
			go func() {
				time.Sleep(time.Hour)
				f.mu.Lock()
				f.approved[sub] = time.Now()
				f.mu.Unlock()
				f.engine.SendTaskSuccess(token, `{"final":false}`)
			}()
		}
	}
	if final {
		go f.engine.SendTaskSuccess(token, `{"final":true}`)
	}
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
	case "ClassifySubscriptionsFunction":
		return []byte(`{"subscriptions":["transfer","owned","missing"]}`), nil
	case "AdvanceSubscriptionFunction":
		token, _ := in["taskToken"].(string)
		sub, _ := in["subscriptionId"].(string)
		f.advance(sub, token, time.Since(f.start))
		return []byte(`{"final":false}`), nil
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
// Step Functions bills: state transitions (each check of the relationships
// and of a subscription is an entry of its wait state). The happy path of
// the four subscriptions must stay within 60, and a 30-day wait (for the
// relationships, or for Owner) within 120.
func TestMigrationTransitionBudget(t *testing.T) {
	name, def := migrationDefinition(t)
	const never = 365 * 24 * time.Hour
	tests := []struct {
		name                     string
		relatedAfter, ownedAfter time.Duration
		want                     string
		budget                   int
	}{
		{"happy path", 0, 0, stepfunctions.StatusSucceeded, 60},
		{"relationships after 2 days, owner after 3", 2 * 24 * time.Hour, 3 * 24 * time.Hour, stepfunctions.StatusSucceeded, 120},
		{"30-day relationship wait to the deadline", never, 0, stepfunctions.StatusFailed, 120},
		{"30-day ownership wait to the deadline", 0, never, stepfunctions.StatusSucceeded, 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &flowLambdas{start: time.Now(), relatedAfter: tt.relatedAfter, ownedAfter: tt.ownedAfter, calls: map[string]int{},
					shown: map[string]time.Time{}, approved: map[string]time.Time{}}
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
				billed := e.Transitions(arn)
				t.Logf("%s: %d billed transitions, %d subscription runs (%v of simulated time)", tt.name, billed, f.calls["AdvanceSubscriptionFunction"], time.Since(f.start).Round(time.Hour))
				if billed > tt.budget {
					t.Fatalf("%d billed transitions, budget is %d", billed, tt.budget)
				}
				if (tt.want == stepfunctions.StatusFailed || tt.ownedAfter == never) && time.Since(f.start) < 30*24*time.Hour {
					t.Fatalf("failed after %v, before the 30-day deadline", time.Since(f.start))
				}
			})
		})
	}
}
