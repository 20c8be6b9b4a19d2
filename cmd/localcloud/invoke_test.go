package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
)

// syncBuffer is a bytes.Buffer safe for the cloud's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCloud starts a local cloud of the repository on free ports, with its
// state in a temporary directory, as `localcloud run` does (functions.json
// included).
func startCloud(t *testing.T) (*cloud.Cloud, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a local cloud (builds every function)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	logs := &syncBuffer{}
	local := "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cloud.Start(ctx, cloud.Options{Root: root, StateDir: state, Log: logs, Console: io.Discard,
		APIAddr: local, DynamoAddr: local, StepFunctionsAddr: local, SESAddr: local, OutboxAddr: local, SecretsManagerAddr: local, MicrosoftAddr: local, EventsAddr: local})
	if err != nil {
		t.Fatalf("start the local cloud: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { c.Close() })
	if _, err := writeFunctionsFile(c); err != nil {
		t.Fatal(err)
	}
	return c, root
}

// TestLocalCloudCommands runs, against one local cloud: the ready screen's
// first migration, every event of events/ through its function (as make
// invoke does), and the invoke command itself.
func TestLocalCloudCommands(t *testing.T) {
	c, root := startCloud(t)
	fns := describeFunctions(c)

	// The ready screen's curl is the README's, and the API accepts its body.
	var providerID string
	t.Run("first migration", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(root, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		if want := cloud.FirstMigrationCurl("http://127.0.0.1:3000"); !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks the ready screen's curl:\n%s", want)
		}
		tok, err := c.Token("acct-eligible", []string{"admin"})
		if err != nil {
			t.Fatal(err)
		}
		var screen bytes.Buffer
		printScreen(&screen, c, "acct-eligible", tok)
		if want := indent(cloud.FirstMigrationCurl(c.APIURL()), "  "); !strings.Contains(screen.String(), want) {
			t.Errorf("the ready screen lacks the curl:\n%s\nscreen:\n%s", want, screen.String())
		}
		for _, want := range []string{"TIME_SCALE=100", "2000", "keep real time"} {
			if !strings.Contains(screen.String(), want) {
				t.Errorf("the ready screen does not say %q about time scales:\n%s", want, screen.String())
			}
		}
		req, _ := http.NewRequest("POST", c.APIURL()+"/providers", strings.NewReader(cloud.FirstMigrationBody))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", cloud.FirstMigrationKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct {
			ID            string `json:"id"`
			Status        string `json:"status"`
			Subscriptions []struct {
				ID string `json:"subscriptionId"`
			} `json:"subscriptions"`
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusAccepted || json.Unmarshal(body, &p) != nil || p.ID == "" {
			t.Fatalf("POST /providers with the ready screen's body: %d %s", resp.StatusCode, body)
		}
		if len(p.Subscriptions) != 2 {
			t.Errorf("the first migration names %d subscriptions, want 2: %s", len(p.Subscriptions), body)
		}
		providerID = p.ID
	})

	t.Run("every event with its function", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no events: %v", err)
		}
		if len(files) != len(fns.Functions) {
			t.Errorf("%d events for %d functions", len(files), len(fns.Functions))
		}
		for _, file := range files {
			folder := strings.TrimSuffix(filepath.Base(file), ".json")
			event, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fns.find(folder)
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			var ev struct {
				RouteKey       string `json:"routeKey"`
				RequestContext struct {
					RequestID string `json:"requestId"`
				} `json:"requestContext"`
			}
			if err := json.Unmarshal(event, &ev); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			resp, err := invokeOne(context.Background(), fns.HostEnv, f.Function, event, io.Discard)
			if ev.RouteKey != "" {
				// An API event: the function answers it (the example
				// provider does not exist: 404 is an answer) and its
				// request id is the event's.
				var r struct {
					StatusCode int               `json:"statusCode"`
					Headers    map[string]string `json:"headers"`
				}
				if err != nil || json.Unmarshal(resp, &r) != nil || r.StatusCode == 0 || r.StatusCode >= 500 ||
					r.Headers["X-Request-Id"] != ev.RequestContext.RequestID {
					t.Errorf("%s → %s: %v %s", folder, f.Name, err, resp)
				}
				continue
			}
			// A task input: the function reads it and answers, or names
			// the example provider unknown (as Step Functions sees it).
			var fe *lambdahost.FunctionError
			if err != nil && (!errors.As(err, &fe) || fe.ErrorType != "InvalidInput" || !strings.Contains(fe.ErrorMessage, "provider does not exist")) {
				t.Errorf("%s → %s: %v", folder, f.Name, err)
			}
		}
	})

	t.Run("a task event for a real provider", func(t *testing.T) {
		if providerID == "" {
			t.Skip("no provider")
		}
		var ev map[string]any
		data, _ := os.ReadFile(filepath.Join(root, "events", "consent-invite.json"))
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		ev["providerId"] = providerID
		event, _ := json.Marshal(ev)
		f, _ := fns.find("ConsentInviteFunction")
		if resp, err := invokeOne(context.Background(), fns.HostEnv, f.Function, event, io.Discard); err != nil {
			t.Errorf("consent-invite for %s: %v %s", providerID, err, resp)
		}
	})

	t.Run("invoke command", func(t *testing.T) {
		state := c.StateDir()
		var out, logs bytes.Buffer
		err := invoke([]string{"-root", root, "-state", state, "-fn", "ListProvidersFunction", "-event", filepath.Join(root, "events", "list-providers.json")}, &out, &logs)
		if err != nil || !strings.Contains(out.String(), `"statusCode":200`) || !strings.Contains(logs.String(), "[ListProvidersFunction]") {
			t.Errorf("list-providers: %v\nstdout %s\nstderr %s", err, out.String(), logs.String())
		}
		out.Reset()
		logs.Reset()
		// A function error: the error payload on stdout, and an error (the
		// exit status 1).
		err = invoke([]string{"-root", root, "-state", state, "-fn", "classify-subscriptions", "-event", filepath.Join(root, "events", "classify-subscriptions.json")}, &out, &logs)
		if err == nil || !strings.Contains(err.Error(), "InvalidInput") || !strings.Contains(out.String(), `"errorType":"InvalidInput"`) {
			t.Errorf("classify-subscriptions of an unknown provider: %v\nstdout %s", err, out.String())
		}
		if err := invoke([]string{"-root", root, "-state", state, "-fn", "NoSuchFunction"}, &out, &logs); err == nil || !strings.Contains(err.Error(), "ListProvidersFunction") {
			t.Errorf("an unknown function: %v", err)
		}
	})
}
