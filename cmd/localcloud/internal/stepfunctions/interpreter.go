package stepfunctions

import (
	"context"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/asl"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions/jsonpath"
)

// contextTime is the format of timestamps in the context object.
const contextTime = "2006-01-02T15:04:05.000Z"

// thread is one line of execution: the execution itself, a Parallel branch
// or a Map iteration. It remembers its last event, which the next event
// names as its previousEventId.
type thread struct {
	e    *Engine
	x    *execution
	prev int64
	item *mapItem // set inside a Map iteration
	// vars are the workflow variables this thread sees: the execution's,
	// or in a Parallel branch or Map iteration a copy of the enclosing
	// thread's, so that what a branch assigns stays in the branch.
	vars map[string]any
}

// mapItem is the context object's $$.Map.Item.
type mapItem struct {
	index int
	value any
}

// emit appends an event to the history and makes it the thread's last.
func (t *thread) emit(eventType string, details any) int64 {
	t.e.mu.Lock()
	defer t.e.mu.Unlock()
	id := t.x.emitLocked(t.e, t.prev, eventType, details)
	t.prev = id
	return id
}

// stateRun is what one entry into a state knows.
type stateRun struct {
	t         *thread
	st        *asl.State
	raw       any // the state's raw input
	entered   time.Time
	enteredID int64 // the id of the StateEntered event
	retries   int
	// assign holds, in a JSONata state, the variables that the attempt
	// that succeeded assigns; they are set when the state exits.
	assign map[string]any
}

// context builds the context object ("$$") for the state; token is the
// task token of a callback task, if any.
func (r *stateRun) context(token string) map[string]any {
	x := r.t.x
	c := map[string]any{
		"Execution": map[string]any{
			"Id":           x.arn,
			"Name":         x.name,
			"Input":        jsonpath.DeepCopy(x.doc),
			"StartTime":    x.start.UTC().Format(contextTime),
			"RoleArn":      x.machine.roleArn,
			"RedriveCount": 0,
		},
		"StateMachine": map[string]any{"Id": x.machine.arn, "Name": x.machine.name},
		"State": map[string]any{
			"Name":        r.st.Name,
			"EnteredTime": r.entered.UTC().Format(contextTime),
			"RetryCount":  r.retries,
		},
	}
	if token != "" {
		c["Task"] = map[string]any{"Token": token}
	}
	if it := r.t.item; it != nil {
		c["Map"] = map[string]any{"Item": map[string]any{"Index": it.index, "Value": jsonpath.DeepCopy(it.value)}}
	}
	return c
}

// runBranch runs states from b.StartAt until one ends the branch, and
// returns the branch's output. Errors are *asl.Error, or the context's
// error when the execution was stopped.
func (t *thread) runBranch(ctx context.Context, b *asl.Branch, input any) (any, error) {
	name := b.StartAt
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := b.States[name]
		out, next, err := t.runState(ctx, st, input)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

// runState runs one state and returns its output and the next state's
// name ("" when the branch ends).
func (t *thread) runState(ctx context.Context, st *asl.State, raw any) (any, string, error) {
	r := &stateRun{t: t, st: st, raw: raw, entered: t.e.now()}
	r.enteredID = t.emit(st.Type+"StateEntered", &stateEnteredDetails{Name: st.Name, Input: jsonpath.Encode(raw), InputDetails: notTruncated})
	if st.QueryLanguage == asl.JSONata {
		return r.runJSONata(ctx)
	}

	var out any
	var next string
	var err error
	switch st.Type {
	case asl.TypePass:
		out, err = r.pass()
	case asl.TypeChoice:
		out, next, err = r.choice()
	case asl.TypeWait:
		out, err = r.wait(ctx)
	case asl.TypeSucceed:
		out, err = r.succeed()
	case asl.TypeFail:
		return nil, "", r.fail()
	case asl.TypeTask, asl.TypeParallel, asl.TypeMap:
		return r.withRetryAndCatch(ctx)
	default:
		err = asl.Errorf(asl.ErrRuntime, "state type %s is not supported", st.Type)
	}
	if err != nil {
		return nil, "", err
	}
	if st.Type != asl.TypeChoice {
		next = st.Next
	}
	t.emit(st.Type+"StateExited", &stateExitedDetails{Name: st.Name, Output: jsonpath.Encode(out), OutputDetails: notTruncated})
	return out, next, nil
}

// inputPath applies InputPath to the raw input.
func (r *stateRun) inputPath() (any, error) {
	if r.st.InputPath == nil {
		return map[string]any{}, nil
	}
	v, err := r.st.InputPath.Get(r.raw)
	if err != nil {
		return nil, asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. Invalid path '%s' : No results for path: %s", r.st.Name, r.st.InputPath, r.st.InputPath)
	}
	return jsonpath.DeepCopy(v), nil
}

// outputPath applies OutputPath to v.
func (r *stateRun) outputPath(v any) (any, error) {
	if r.st.OutputPath == nil {
		return map[string]any{}, nil
	}
	out, err := r.st.OutputPath.Get(v)
	if err != nil {
		return nil, asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. Invalid path '%s' : No results for path: %s", r.st.Name, r.st.OutputPath, r.st.OutputPath)
	}
	return out, nil
}

// parameters applies Parameters (if any) to the effective input.
func (r *stateRun) parameters(tmpl *asl.Template, effective any, token string) (any, error) {
	if tmpl == nil {
		return effective, nil
	}
	return tmpl.Eval(asl.Env{Input: effective, Context: r.context(token)})
}

// resultPath places result into the raw input as ResultPath says.
// A nil path is ResultPath null: the result is discarded.
func (r *stateRun) resultPath(path *jsonpath.Path, result any) (any, error) {
	if path == nil {
		return jsonpath.DeepCopy(r.raw), nil
	}
	out, err := path.Set(r.raw, result)
	if err != nil {
		return nil, asl.Errorf(asl.ErrResultPathMatch, "Unable to apply ResultPath \"%s\" to input \"%s\": %v", path.String(), jsonpath.Encode(r.raw), err)
	}
	return out, nil
}

// finish applies ResultSelector, ResultPath and OutputPath to a result.
func (r *stateRun) finish(result any) (any, error) {
	if r.st.ResultSelector != nil {
		v, err := r.st.ResultSelector.Eval(asl.Env{Input: result, Context: r.context("")})
		if err != nil {
			return nil, err
		}
		result = v
	}
	combined, err := r.resultPath(r.st.ResultPath, result)
	if err != nil {
		return nil, err
	}
	return r.outputPath(combined)
}

// pass runs a Pass state.
func (r *stateRun) pass() (any, error) {
	eff, err := r.inputPath()
	if err != nil {
		return nil, err
	}
	eff, err = r.parameters(r.st.Parameters, eff, "")
	if err != nil {
		return nil, err
	}
	result := eff
	if r.st.HasResult {
		result = jsonpath.DeepCopy(r.st.Result)
	}
	combined, err := r.resultPath(r.st.ResultPath, result)
	if err != nil {
		return nil, err
	}
	return r.outputPath(combined)
}

// choice runs a Choice state.
func (r *stateRun) choice() (any, string, error) {
	eff, err := r.inputPath()
	if err != nil {
		return nil, "", err
	}
	env := asl.Env{Input: eff, Context: r.context("")}
	next := ""
	for _, rule := range r.st.Choices {
		ok, err := rule.Eval(env)
		if err != nil {
			return nil, "", err
		}
		if ok {
			next = rule.Next
			break
		}
	}
	if next == "" {
		next = r.st.Default
	}
	if next == "" {
		return nil, "", asl.Errorf(asl.ErrNoChoiceMatched, "No Matches!")
	}
	out, err := r.outputPath(eff)
	return out, next, err
}

// wait runs a Wait state.
func (r *stateRun) wait(ctx context.Context) (any, error) {
	eff, err := r.inputPath()
	if err != nil {
		return nil, err
	}
	env := asl.Env{Input: eff, Context: r.context("")}
	var d time.Duration
	st := r.st
	switch {
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds) * time.Second
	case st.Timestamp != nil:
		d = st.Timestamp.Sub(r.t.e.now())
	case st.SecondsPath != nil:
		v, err := st.SecondsPath.Eval(env)
		n, ok := toInt(v)
		if err != nil || !ok || n < 0 {
			return nil, asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. The SecondsPath parameter does not reference a valid non-negative integer: '%s'", st.Name, st.SecondsPath)
		}
		d = time.Duration(n) * time.Second
	case st.TimestampPath != nil:
		v, err := st.TimestampPath.Eval(env)
		s, _ := v.(string)
		ts, ok := asl.ParseTimestamp(s)
		if err != nil || !ok {
			return nil, asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: '%s'", st.Name, st.TimestampPath)
		}
		d = ts.Sub(r.t.e.now())
	}
	if err := r.t.e.sleep(ctx, d); err != nil {
		return nil, err
	}
	return r.outputPath(eff)
}

// succeed runs a Succeed state.
func (r *stateRun) succeed() (any, error) {
	eff, err := r.inputPath()
	if err != nil {
		return nil, err
	}
	return r.outputPath(eff)
}

// fail runs a Fail state and returns its error.
func (r *stateRun) fail() error {
	env := asl.Env{Input: r.raw, Context: r.context("")}
	e := &asl.Error{Name: r.st.Error, Cause: r.st.Cause}
	for _, f := range []struct {
		expr asl.Expr
		dst  *string
		name string
	}{{r.st.ErrorPath, &e.Name, "ErrorPath"}, {r.st.CausePath, &e.Cause, "CausePath"}} {
		if f.expr == nil {
			continue
		}
		v, err := f.expr.Eval(env)
		var se *asl.Error
		if errors.As(err, &se) {
			return se
		}
		s, ok := v.(string)
		if err != nil || !ok {
			return asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. The %s '%s' does not reference a string", r.st.Name, f.name, f.expr)
		}
		*f.dst = s
	}
	return e
}

// withRetryAndCatch runs a Task, Parallel or Map state, applying its Retry
// and Catch fields to the errors it reports.
func (r *stateRun) withRetryAndCatch(ctx context.Context) (any, string, error) {
	st := r.st
	attempts := make([]int64, len(st.Retry))
	for {
		var out any
		var err error
		jsonata := st.QueryLanguage == asl.JSONata
		switch {
		case jsonata:
			out, err = r.attemptJSONata(ctx)
		case st.Type == asl.TypeTask:
			out, err = r.task(ctx)
		case st.Type == asl.TypeParallel:
			out, err = r.parallel(ctx)
		case st.Type == asl.TypeMap:
			out, err = r.mapState(ctx)
		}
		if err == nil {
			r.applyAssign()
			r.t.emit(st.Type+"StateExited", &stateExitedDetails{Name: st.Name, Output: jsonpath.Encode(out), OutputDetails: notTruncated})
			return out, st.Next, nil
		}
		var se *asl.Error
		if !errors.As(err, &se) {
			return nil, "", err // stopped
		}
		if delay, ok := r.retryDelay(se, attempts); ok {
			if err := r.t.e.sleep(ctx, delay); err != nil {
				return nil, "", err
			}
			r.retries++
			continue
		}
		for i, c := range st.Catch {
			if !asl.MatchesAny(c.ErrorEquals, se.Name) {
				continue
			}
			errOut := map[string]any{"Error": se.Name, "Cause": se.Cause}
			var out any
			var perr error
			if jsonata {
				out, perr = r.catchJSONata(i, c, errOut)
			} else {
				out, perr = r.resultPath(c.ResultPath, errOut)
			}
			if perr != nil {
				return nil, "", perr
			}
			r.t.emit(st.Type+"StateExited", &stateExitedDetails{Name: st.Name, Output: jsonpath.Encode(out), OutputDetails: notTruncated})
			return out, c.Next, nil
		}
		return nil, "", se
	}
}

// retryDelay finds the first Retrier whose ErrorEquals matches the error
// and, if it has attempts left, counts one and returns the delay before
// the next attempt: IntervalSeconds × BackoffRate^(attempts so far), capped
// by MaxDelaySeconds, and with FULL jitter a random duration up to that.
func (r *stateRun) retryDelay(se *asl.Error, attempts []int64) (time.Duration, bool) {
	for i, rt := range r.st.Retry {
		if !asl.MatchesAny(rt.ErrorEquals, se.Name) {
			continue
		}
		if attempts[i] >= rt.MaxAttempts {
			return 0, false
		}
		secs := float64(rt.IntervalSeconds) * math.Pow(rt.BackoffRate, float64(attempts[i]))
		if rt.MaxDelaySeconds > 0 {
			secs = math.Min(secs, float64(rt.MaxDelaySeconds))
		}
		if rt.JitterStrategy == "FULL" {
			secs *= rand.Float64()
		}
		attempts[i]++
		return time.Duration(secs * float64(time.Second)), true
	}
	return 0, false
}

// parallel runs a Parallel state's branches concurrently; the result is
// the array of their outputs. The first branch to fail fails the state and
// stops the others.
func (r *stateRun) parallel(ctx context.Context) (any, error) {
	eff, err := r.inputPath()
	if err != nil {
		return nil, err
	}
	eff, err = r.parameters(r.st.Parameters, eff, "")
	if err != nil {
		return nil, err
	}
	started := r.t.emit("ParallelStateStarted", nil)
	results, err := r.fanOut(ctx, len(r.st.Branches), 0, func(ctx context.Context, i int) (any, error) {
		th := &thread{e: r.t.e, x: r.t.x, prev: started, item: r.t.item, vars: maps.Clone(r.t.vars)}
		return th.runBranch(ctx, r.st.Branches[i], jsonpath.DeepCopy(eff))
	})
	if err != nil {
		if ctx.Err() == nil {
			r.t.emit("ParallelStateFailed", nil)
		}
		return nil, err
	}
	r.t.emit("ParallelStateSucceeded", nil)
	return r.finish(results)
}

// mapState runs a Map state's item processor for every item.
func (r *stateRun) mapState(ctx context.Context) (any, error) {
	eff, err := r.inputPath()
	if err != nil {
		return nil, err
	}
	v, err := r.st.ItemsPath.Get(eff)
	items, ok := v.([]any)
	if err != nil || !ok {
		return nil, asl.Errorf(asl.ErrRuntime, "An error occurred while executing the state '%s'. The ItemsPath '%s' does not reference an array", r.st.Name, r.st.ItemsPath)
	}
	started := r.t.emit("MapStateStarted", &mapStateStartedDetails{Length: len(items)})
	var mu sync.Mutex // orders the iteration events of concurrent items
	results, err := r.fanOut(ctx, len(items), int(r.st.MaxConcurrency), func(ctx context.Context, i int) (any, error) {
		th := &thread{e: r.t.e, x: r.t.x, prev: started, item: &mapItem{index: i, value: items[i]}, vars: maps.Clone(r.t.vars)}
		mu.Lock()
		th.emit("MapIterationStarted", &mapIterationDetails{Name: r.st.Name, Index: i})
		mu.Unlock()
		input := jsonpath.DeepCopy(items[i])
		if r.st.ItemSelector != nil {
			sel := &stateRun{t: th, st: r.st, raw: r.raw, entered: r.entered, retries: r.retries}
			var err error
			input, err = r.st.ItemSelector.Eval(asl.Env{Input: eff, Context: sel.context("")})
			if err != nil {
				return nil, err
			}
		}
		out, err := th.runBranch(ctx, r.st.Processor, input)
		switch {
		case err == nil:
			th.emit("MapIterationSucceeded", &mapIterationDetails{Name: r.st.Name, Index: i})
		case ctx.Err() != nil:
			th.emit("MapIterationAborted", &mapIterationDetails{Name: r.st.Name, Index: i})
		default:
			th.emit("MapIterationFailed", &mapIterationDetails{Name: r.st.Name, Index: i})
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
	return r.finish(results)
}

// fanOut runs n jobs, at most limit at once (0: no limit), and returns
// their results in order. The first *asl.Error cancels the other jobs and
// is returned.
func (r *stateRun) fanOut(ctx context.Context, n, limit int, job func(context.Context, int) (any, error)) ([]any, error) {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	if limit <= 0 || limit > n {
		limit = n
	}
	sem := make(chan struct{}, max(limit, 1))
	results := make([]any, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-sub.Done():
		}
		if sub.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := job(sub, i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var se *asl.Error
				if firstErr == nil && errors.As(err, &se) {
					firstErr = se
					cancel()
				}
				return
			}
			results[i] = out
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return results, nil
}

// toInt returns a JSON number's value if it is an integer.
func toInt(v any) (int64, bool) {
	var n int64
	switch x := v.(type) {
	case interface{ Int64() (int64, error) }:
		i, err := x.Int64()
		if err != nil {
			return 0, false
		}
		n = i
	case int:
		n = int64(x)
	default:
		return 0, false
	}
	return n, true
}
