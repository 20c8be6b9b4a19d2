package asl

import "fmt"

// Predefined error names of the States Language.
const (
	ErrAll                  = "States.ALL"
	ErrTaskFailed           = "States.TaskFailed"
	ErrTimeout              = "States.Timeout"
	ErrHeartbeatTimeout     = "States.HeartbeatTimeout"
	ErrRuntime              = "States.Runtime"
	ErrNoChoiceMatched      = "States.NoChoiceMatched"
	ErrResultPathMatch      = "States.ResultPathMatchFailure"
	ErrParameterPathFailure = "States.ParameterPathFailure"
	ErrIntrinsicFailure     = "States.IntrinsicFailure"
	ErrBranchFailed         = "States.BranchFailed"
	ErrPermissions          = "States.Permissions"
	ErrQueryEvaluation      = "States.QueryEvaluationError"
)

// Error is a States Language error: a name that Retry and Catch match and a
// human-readable cause.
type Error struct {
	Name  string
	Cause string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Name, e.Cause) }

// Errorf builds an *Error with a formatted cause.
func Errorf(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// Matches reports whether the error name is matched by one ErrorEquals
// entry, with the wildcard rules of the specification: States.ALL matches
// every error but States.Runtime (which is never retried or caught), and
// States.TaskFailed matches every error but States.Timeout and
// States.Runtime.
func Matches(pattern, name string) bool {
	if name == ErrRuntime {
		return false
	}
	switch pattern {
	case name:
		return true
	case ErrAll:
		return true
	case ErrTaskFailed:
		return name != ErrTimeout
	}
	return false
}

// MatchesAny reports whether any entry of errorEquals matches name.
func MatchesAny(errorEquals []string, name string) bool {
	for _, p := range errorEquals {
		if Matches(p, name) {
			return true
		}
	}
	return false
}
