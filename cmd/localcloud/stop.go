package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
)

// PIDFile is the file in the state directory holding the process id of the
// running `localcloud run`, so that `make stop` can stop a cloud started in
// the background (make run &, or in another terminal).
const PIDFile = "localcloud.pid"

// writePIDFile writes this process's id to <state>/localcloud.pid. A file left
// by a cloud that still runs is an error: two clouds would fight over the
// ports and endpoints.json (a busy port is reported before this, so this
// mostly guards against a cloud on other ports).
func writePIDFile(state string) (string, error) {
	path := filepath.Join(state, PIDFile)
	if pid, err := readPID(path); err == nil && pid != os.Getpid() && alive(pid) {
		return "", fmt.Errorf("another local cloud (process %d) runs from %s; stop it with make stop", pid, state)
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s does not hold a process id", path)
	}
	return pid, nil
}

// alive tells whether a process with that id exists (signal 0 checks
// without delivering anything).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// stop sends SIGTERM to the cloud named by the pid file (the same as Ctrl-C:
// every function process and service stops) and waits until it has exited.
func stop(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stop", flag.ContinueOnError)
	root := fs.String("root", "", "repository root (default: the directory holding go.mod)")
	wait := fs.Duration("wait", 15*time.Second, "how long to wait for it to exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		r, err := cloud.FindRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	path := filepath.Join(*root, ".local", PIDFile)
	pid, err := readPID(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !alive(pid)) {
		_ = os.Remove(path)
		fmt.Fprintln(stdout, "no local cloud is running")
		return nil
	}
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop process %d: %w", pid, err)
	}
	deadline := time.Now().Add(*wait)
	for alive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d did not stop within %v", pid, *wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(stdout, "stopped the local cloud (process %d)\n", pid)
	return nil
}
