package stepfunctions

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/asl"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// States whose QueryLanguage is JSONata. Their expressions see $states:
// "input" (the state's input, always the original one), "context" (the
// context object), "result" (the task's, branches' or iterations' result,
// in Output and Assign after success) and "errorOutput" (in a Catcher's
// Output and Assign). A state's Output and Assign are evaluated against the
// variables as they were before the state; Assign then sets its variables
// all at once.

// jenv builds what the state's expressions see; token is the task token
// of a callback task, if any.
func (r *stateRun) jenv(token string, extra map[string]any) asl.JEnv {
	states := map[string]any{"input": r.raw, "context": r.context(token)}
	maps.Copy(states, extra)
	return asl.JEnv{State: r.st.Name, EnteredEventID: r.enteredID, States: states, Variables: r.t.vars}
}

// outputAndAssign evaluates Output (def when absent) and Assign; the
// assignments are returned, not yet made. prefix locates the fields in
// error causes (e.g. "Catch[0]/").
func outputAndAssign(env asl.JEnv, output, assign *asl.JValue, def any, prefix string) (any, map[string]any, error) {
	out := def
	if output != nil {
		v, err := output.Eval(env, prefix+"Output")
		if err != nil {
			return nil, nil, err
		}
		out = v
	}
	var assigned map[string]any
	if assign != nil {
		v, err := assign.Eval(env, prefix+"Assign")
		if err != nil {
			return nil, nil, err
		}
		assigned, _ = v.(map[string]any)
	}
	return out, assigned, nil
}

// applyAssign sets the variables the state assigned.
func (r *stateRun) applyAssign() {
	maps.Copy(r.t.vars, r.assign)
	r.assign = nil
}

// runJSONata runs a JSONata state and returns its output and the next
// state's name ("" when the branch ends).
func (r *stateRun) runJSONata(ctx context.Context) (any, string, error) {
	st := r.st
	var out any
	next := st.Next
	var err error
	switch st.Type {
	case asl.TypePass, asl.TypeSucceed:
		out, r.assign, err = outputAndAssign(r.jenv("", nil), st.Output, st.Assign, r.raw, "")
	case asl.TypeWait:
		out, err = r.waitJSONata(ctx)
	case asl.TypeChoice:
		out, next, err = r.choiceJSONata()
	case asl.TypeFail:
		return nil, "", r.failJSONata()
	case asl.TypeTask, asl.TypeParallel, asl.TypeMap:
		return r.withRetryAndCatch(ctx)
	default:
		err = asl.Errorf(asl.ErrRuntime, "state type %s is not supported", st.Type)
	}
	if err != nil {
		return nil, "", err
	}
	r.applyAssign()
	r.t.emit(st.Type+"StateExited", &stateExitedDetails{Name: st.Name, Output: jsonpath.Encode(out), OutputDetails: notTruncated})
	return out, next, nil
}

// waitJSONata runs a JSONata Wait state.
func (r *stateRun) waitJSONata(ctx context.Context) (any, error) {
	st := r.st
	env := r.jenv("", nil)
	var d time.Duration
	switch {
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds) * time.Second
	case st.Timestamp != nil:
		d = st.Timestamp.Sub(r.t.e.now())
	case st.SecondsExpr != nil:
		n, err := st.SecondsExpr.EvalInteger(env, "Seconds", 0)
		if err != nil {
			return nil, err
		}
		d = time.Duration(n) * time.Second
	case st.TimestampExpr != nil:
		s, err := st.TimestampExpr.EvalString(env, "Timestamp")
		if err != nil {
			return nil, err
		}
		ts, ok := asl.ParseTimestamp(s)
		if !ok {
			return nil, asl.Errorf(asl.ErrQueryEvaluation, "An error occurred while executing the state '%s' (entered at the event id #%d). The JSONata expression specified for the field 'Timestamp' returned '%s', which is not an RFC 3339 timestamp", st.Name, r.enteredID, s)
		}
		d = ts.Sub(r.t.e.now())
	}
	if err := r.t.e.sleep(ctx, d); err != nil {
		return nil, err
	}
	var out any
	var err error
	out, r.assign, err = outputAndAssign(env, st.Output, st.Assign, r.raw, "")
	return out, err
}

// choiceJSONata runs a JSONata Choice state: the first rule whose
// Condition is true gives the next state, and its Output and Assign (else
// the state's) apply; with none, Default does.
func (r *stateRun) choiceJSONata() (any, string, error) {
	st := r.st
	env := r.jenv("", nil)
	for i, rule := range st.Choices {
		ok, err := rule.Condition.EvalBool(env, fmt.Sprintf("Choices[%d]/Condition", i))
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		output, assign, prefix := st.Output, st.Assign, ""
		if rule.Output != nil || rule.Assign != nil {
			output, assign, prefix = rule.Output, rule.Assign, fmt.Sprintf("Choices[%d]/", i)
		}
		out, assigned, err := outputAndAssign(env, output, assign, r.raw, prefix)
		r.assign = assigned
		return out, rule.Next, err
	}
	if st.Default == "" {
		return nil, "", asl.Errorf(asl.ErrNoChoiceMatched, "No Matches!")
	}
	out, assigned, err := outputAndAssign(env, st.Output, st.Assign, r.raw, "")
	r.assign = assigned
	return out, st.Default, err
}

// failJSONata returns a JSONata Fail state's error.
func (r *stateRun) failJSONata() error {
	st := r.st
	env := r.jenv("", nil)
	e := &asl.Error{Name: st.Error, Cause: st.Cause}
	if st.ErrorExpr != nil {
		s, err := st.ErrorExpr.EvalString(env, "Error")
		if err != nil {
			return err
		}
		e.Name = s
	}
	if st.CauseExpr != nil {
		s, err := st.CauseExpr.EvalString(env, "Cause")
		if err != nil {
			return err
		}
		e.Cause = s
	}
	return e
}

// attemptJSONata runs one attempt of a JSONata Task, Parallel or Map
// state, including its Output and Assign, whose errors are the state's to
// retry or catch. The assignments wait in r.assign until the state exits.
func (r *stateRun) attemptJSONata(ctx context.Context) (any, error) {
	r.assign = nil
	var result any
	var err error
	switch r.st.Type {
	case asl.TypeTask:
		result, err = r.taskJSONata(ctx)
	case asl.TypeParallel:
		result, err = r.parallelJSONata(ctx)
	case asl.TypeMap:
		result, err = r.mapJSONata(ctx)
	}
	if err != nil {
		return nil, err
	}
	env := r.jenv("", map[string]any{"result": result})
	out, assigned, err := outputAndAssign(env, r.st.Output, r.st.Assign, result, "")
	if err != nil {
		return nil, err
	}
	r.assign = assigned
	return out, nil
}

// catchJSONata gives the output of a JSONata state whose error the
// Catcher at index i caught, and makes the Catcher's assignments.
func (r *stateRun) catchJSONata(i int, c asl.Catcher, errOut map[string]any) (any, error) {
	env := r.jenv("", map[string]any{"errorOutput": errOut})
	out, assigned, err := outputAndAssign(env, c.Output, c.Assign, errOut, fmt.Sprintf("Catch[%d]/", i))
	if err != nil {
		return nil, err
	}
	r.assign = assigned
	r.applyAssign()
	return out, nil
}

// taskJSONata runs a JSONata Task state once and returns its result.
func (r *stateRun) taskJSONata(ctx context.Context) (any, error) {
	st := r.st
	to, err := r.timeoutsJSONata(r.jenv("", nil))
	if err != nil {
		return nil, err
	}
	token := ""
	var cb *callback
	if st.Kind == asl.LambdaInvokeCallback {
		token = newTaskToken()
		cb = r.t.e.registerCallback(r.t.x, token)
		defer r.t.e.releaseCallback(token)
	}
	args := jsonpath.DeepCopy(r.raw)
	if st.Arguments != nil {
		args, err = st.Arguments.Eval(r.jenv(token, nil), "Arguments")
		if err != nil {
			return nil, err
		}
	}
	switch st.Kind {
	case asl.LambdaFunction:
		return r.invokeFunction(ctx, args, to)
	default:
		return r.invokeIntegration(ctx, args, to, cb)
	}
}

// timeoutsJSONata resolves TimeoutSeconds and HeartbeatSeconds, literal or
// expressions.
func (r *stateRun) timeoutsJSONata(env asl.JEnv) (timeouts, error) {
	st := r.st
	to := timeouts{timeout: asl.DefaultTaskTimeoutSeconds, heartbeat: st.HeartbeatSeconds}
	if st.TimeoutSeconds > 0 {
		to.timeout, to.timeoutSet = st.TimeoutSeconds, true
	}
	if st.TimeoutSecondsExpr != nil {
		n, err := st.TimeoutSecondsExpr.EvalInteger(env, "TimeoutSeconds", 1)
		if err != nil {
			return to, err
		}
		to.timeout, to.timeoutSet = n, true
	}
	if st.HeartbeatSecondsExpr != nil {
		n, err := st.HeartbeatSecondsExpr.EvalInteger(env, "HeartbeatSeconds", 1)
		if err != nil {
			return to, err
		}
		to.heartbeat = n
	}
	if to.timeoutSet {
		to.timeoutEvent = &to.timeout
	}
	if to.heartbeat > 0 {
		to.heartbeatEvt = &to.heartbeat
	}
	return to, nil
}

// parallelJSONata runs a JSONata Parallel state's branches on its
// Arguments (default: its input); the result is their outputs.
func (r *stateRun) parallelJSONata(ctx context.Context) (any, error) {
	input := jsonpath.DeepCopy(r.raw)
	if r.st.Arguments != nil {
		var err error
		input, err = r.st.Arguments.Eval(r.jenv("", nil), "Arguments")
		if err != nil {
			return nil, err
		}
	}
	started := r.t.emit("ParallelStateStarted", nil)
	results, err := r.fanOut(ctx, len(r.st.Branches), 0, func(ctx context.Context, i int) (any, error) {
		th := &thread{e: r.t.e, x: r.t.x, prev: started, item: r.t.item, vars: maps.Clone(r.t.vars)}
		return th.runBranch(ctx, r.st.Branches[i], jsonpath.DeepCopy(input))
	})
	if err != nil {
		if ctx.Err() == nil {
			r.t.emit("ParallelStateFailed", nil)
		}
		return nil, err
	}
	r.t.emit("ParallelStateSucceeded", nil)
	return results, nil
}

// mapJSONata runs a JSONata Map state's item processor for every item of
// Items (default: its input); ItemSelector, if any, builds each
// iteration's input with $states.context.Map.Item.
func (r *stateRun) mapJSONata(ctx context.Context) (any, error) {
	st := r.st
	env := r.jenv("", nil)
	var v any = r.raw
	if st.Items != nil {
		var err error
		if v, err = st.Items.Eval(env, "Items"); err != nil {
			return nil, err
		}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, asl.Errorf(asl.ErrQueryEvaluation, "An error occurred while executing the state '%s' (entered at the event id #%d). The Items of the Map state must be an array, not %s", st.Name, r.enteredID, asl.JSONType(v))
	}
	limit := st.MaxConcurrency
	if st.MaxConcurrencyExpr != nil {
		n, err := st.MaxConcurrencyExpr.EvalInteger(env, "MaxConcurrency", 0)
		if err != nil {
			return nil, err
		}
		limit = n
	}
	started := r.t.emit("MapStateStarted", &mapStateStartedDetails{Length: len(items)})
	var mu sync.Mutex // orders the iteration events of concurrent items
	results, err := r.fanOut(ctx, len(items), int(limit), func(ctx context.Context, i int) (any, error) {
		th := &thread{e: r.t.e, x: r.t.x, prev: started, item: &mapItem{index: i, value: items[i]}, vars: maps.Clone(r.t.vars)}
		mu.Lock()
		th.emit("MapIterationStarted", &mapIterationDetails{Name: st.Name, Index: i})
		mu.Unlock()
		input := jsonpath.DeepCopy(items[i])
		if st.JItemSelector != nil {
			sel := &stateRun{t: th, st: st, raw: r.raw, entered: r.entered, enteredID: r.enteredID, retries: r.retries}
			var err error
			input, err = st.JItemSelector.Eval(sel.jenv("", nil), "ItemSelector")
			if err != nil {
				return nil, err
			}
		}
		out, err := th.runBranch(ctx, st.Processor, input)
		switch {
		case err == nil:
			th.emit("MapIterationSucceeded", &mapIterationDetails{Name: st.Name, Index: i})
		case ctx.Err() != nil:
			th.emit("MapIterationAborted", &mapIterationDetails{Name: st.Name, Index: i})
		default:
			th.emit("MapIterationFailed", &mapIterationDetails{Name: st.Name, Index: i})
		}
		return out, err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.t.emit("MapStateFailed", nil)
		}
		return nil, err
	}
	r.t.emit("MapStateSucceeded", nil)
	return results, nil
}
