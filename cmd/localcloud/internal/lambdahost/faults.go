package lambdahost

import (
	"syscall"
)

// KillNext makes the next n invocations of a function crash: its process is
// killed right after it takes the event, as if the sandbox died
// mid-invocation. The caller gets Runtime.ExitError and the next invocation
// starts a new process. Fault injection for tests; nothing is crashed unless
// this is called.
func (h *Host) KillNext(function string, n int) error {
	fn, err := h.lookup(function)
	if err != nil {
		return err
	}
	fn.crashNext.Add(int64(n))
	return nil
}

// takeCrash reports whether this invocation is one to crash.
func (fn *function) takeCrash() bool {
	for {
		n := fn.crashNext.Load()
		if n <= 0 {
			return false
		}
		if fn.crashNext.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// crash kills the instance's process group without marking it as killed by
// the host, so its exit is handled as a crash (Runtime.ExitError).
func crash(inst *instance) {
	if p := inst.cmd.Process; p != nil {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
}

// KillsPending is how many of the crashes KillNext asked for are still to
// come (0 for an unknown function): a test reads it to know its crashes
// happened.
func (h *Host) KillsPending(function string) int {
	fn, err := h.lookup(function)
	if err != nil {
		return 0
	}
	return int(fn.crashNext.Load())
}
