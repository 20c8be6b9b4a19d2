package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStopCommand(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, ".local")
	var out bytes.Buffer
	if err := stop([]string{"-root", root}, &out); err != nil || !strings.Contains(out.String(), "no local cloud") {
		t.Fatalf("no pid file: %v %q", err, out.String())
	}

	// A process standing for the cloud: stop signals it and waits for it.
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, PIDFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A second cloud refuses to start beside it.
	if _, err := writePIDFile(state); err == nil || !strings.Contains(err.Error(), "make stop") {
		t.Errorf("second cloud: %v", err)
	}
	out.Reset()
	if err := stop([]string{"-root", root}, &out); err != nil || !strings.Contains(out.String(), "stopped") {
		t.Fatalf("stop: %v %q", err, out.String())
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("the process ended with %v, want SIGTERM", err)
	}
	// Its pid file is stale now: stop says nothing runs and removes it.
	out.Reset()
	if err := stop([]string{"-root", root}, &out); err != nil || !strings.Contains(out.String(), "no local cloud") {
		t.Errorf("stale pid file: %v %q", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(state, PIDFile)); !os.IsNotExist(err) {
		t.Errorf("stale pid file kept: %v", err)
	}
}
