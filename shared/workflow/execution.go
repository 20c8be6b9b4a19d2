package workflow

import (
	"errors"
	"strings"
)

// ErrTaskGone means the task token no longer waits: the task timed out, was
// already completed, or the execution ended. Callers treat it as "someone
// else resumed or the wait moved on", not as a fault.
var ErrTaskGone = errors.New("workflow: the task token is no longer waiting")

// ExecutionARN derives a provider's execution ARN from the state machine's:
// arn:aws:states:region:account:stateMachine:Name → …:execution:Name:provider-<id>.
func ExecutionARN(stateMachineARN, providerID string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + ExecutionName(providerID)
}
