package sts

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

var updateAWSCLI = flag.Bool("update-awscli", false, "record the AWS CLI's requests into testdata/awscli.json (needs the aws command)")

const awscliFixture = "testdata/awscli.json"

var awscliCommands = [][]string{{"sts", "get-caller-identity"}}

func handler() http.Handler { return Handler(Options{AccountID: "000000000000"}) }

func TestGetCallerIdentity(t *testing.T) {
	tests := []struct {
		name, method, body string
		status             int
		code               string
	}{
		{"query protocol", http.MethodPost, "Action=GetCallerIdentity&Version=2011-06-15", 200, ""},
		{"another action", http.MethodPost, "Action=AssumeRole&Version=2011-06-15", 400, "InvalidAction"},
		{"no action", http.MethodPost, "Version=2011-06-15", 400, "MissingAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			rec := httptest.NewRecorder()
			handler().ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "text/xml" {
				t.Fatalf("%d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if tt.code != "" {
				var e errorResponse
				if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != tt.code || e.Error.Type != "Sender" {
					t.Errorf("error %+v (%v): %s", e, err, rec.Body)
				}
				return
			}
			var out callerIdentityResponse
			if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if out.Result.Account != "000000000000" || out.Result.Arn != "arn:aws:iam::000000000000:root" || out.RequestID == "" {
				t.Errorf("%+v", out)
			}
		})
	}
}

func TestBesideRoutesBySigningService(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Beside(next, Options{AccountID: "000000000000"})
	tests := []struct {
		name    string
		header  map[string]string
		wantSTS bool
	}{
		{"signed for sts", map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x",
			"Content-Type": "application/x-www-form-urlencoded"}, true},
		{"signed for secretsmanager", map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x",
			"X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"}, false},
		{"unsigned form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, true},
		{"unsigned JSON", map[string]string{"X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"}, false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if gotSTS := rec.Code == http.StatusOK; gotSTS != tt.wantSTS {
			t.Errorf("%s: status %d", tt.name, rec.Code)
		}
	}
}

// TestAWSCLI runs `aws sts get-caller-identity` against the local STS
// (skipped when the CLI is not installed); with -update-awscli it records
// the call as the fixture TestAWSCLIFixtures replays.
func TestAWSCLI(t *testing.T) {
	if !awscli.Installed() {
		t.Skip("the aws command is not installed")
	}
	ctx := context.Background()
	fx := awscli.Fixture{}
	var err error
	if fx.CLI, err = awscli.Version(ctx); err != nil {
		t.Fatal(err)
	}
	for _, args := range awscliCommands {
		out, call, err := awscli.Run(ctx, handler(), args...)
		if err != nil {
			t.Fatal(err)
		}
		fx.Calls = append(fx.Calls, call)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil || got["Account"] != "000000000000" || got["Arn"] != "arn:aws:iam::000000000000:root" {
			t.Errorf("%v: %s (%v)", args, out, err)
		}
	}
	if *updateAWSCLI {
		if err := awscli.WriteFixture(awscliFixture, fx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAWSCLIFixtures(t *testing.T) {
	fx, err := awscli.ReadFixture(awscliFixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Calls) != len(awscliCommands) {
		t.Fatalf("%d recorded calls for %d commands: record again with -update-awscli", len(fx.Calls), len(awscliCommands))
	}
	for i, call := range fx.Calls {
		if !reflect.DeepEqual(call.Args, awscliCommands[i]) {
			t.Fatalf("call %d recorded %v, the test runs %v", i, call.Args, awscliCommands[i])
		}
		for _, ex := range call.Exchanges {
			if err := awscli.Check(handler(), ex); err != nil {
				t.Errorf("%v: %v", call.Args, err)
			}
		}
	}
}
