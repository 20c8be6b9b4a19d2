package sts

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/awscli"
)

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

// awscliSuite is `aws sts get-caller-identity`, and what it prints.
var awscliSuite = awscli.Suite{
	Fixture:  "testdata/awscli.json",
	Commands: [][]string{{"sts", "get-caller-identity"}},
	Handler:  func(testing.TB) http.Handler { return handler() },
	Check: func(t testing.TB, out awscli.Output) {
		if out.JSON["Account"] != "000000000000" || out.JSON["Arn"] != "arn:aws:iam::000000000000:root" {
			t.Errorf("%v: %s", out.Args, out.Raw)
		}
	},
}

// TestAWSCLI runs the AWS CLI itself against the local STS (skipped when it
// is not installed); -update-awscli records the fixture.
func TestAWSCLI(t *testing.T) {
	awscliSuite.RunCLI(t)
}

// TestAWSCLIFixtures replays the recorded call, CLI or not.
func TestAWSCLIFixtures(t *testing.T) {
	awscliSuite.Replay(t)
}
