package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"all set", map[string]string{"TABLE_NAME": "t", "EXPIRY": "336h", "N": "3"}, nil},
		{"missing required", map[string]string{"EXPIRY": "1h"}, []string{"TABLE_NAME is required"}},
		{"bad duration and int", map[string]string{"TABLE_NAME": "t", "EXPIRY": "two weeks", "N": "-1"}, []string{"EXPIRY must be a positive duration", "N must be a positive integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := FromMap(tt.env)
			e.Required("TABLE_NAME")
			d := e.Duration("EXPIRY", 2*time.Hour)
			e.Int("N", 1)
			if tt.wantErr == nil {
				if err := e.Err(); err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if d != 336*time.Hour {
					t.Fatalf("duration = %v", d)
				}
				return
			}
			err := e.Err()
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	e := FromMap(map[string]string{"KIND": "token"})
	e.Invalid("KIND", "must be secret or certificate", e.Optional("KIND", ""))
	err := e.Err()
	if err == nil || err.Error() != `environment variable KIND must be secret or certificate, got "token"` {
		t.Fatalf("Err() = %v", err)
	}
}

func TestCheckAndAdd(t *testing.T) {
	e := FromMap(map[string]string{"CONTACT_EMAIL": "not an address"})
	check := func(v string) string {
		if v == "ok@example.com" {
			return ""
		}
		return "must be a single address"
	}
	if got := e.Check("CONTACT_EMAIL", "ok@example.com", check); got != "not an address" {
		t.Errorf("Check = %q", got)
	}
	if got := e.Check("OTHER_EMAIL", "ok@example.com", check); got != "ok@example.com" {
		t.Errorf("Check of an unset variable = %q, want the default", got)
	}
	e.Add(nil)
	e.Add(errors.New("environment variable AZURE_AUTHORITY_HOST must be an https URL"))
	want := "environment variable CONTACT_EMAIL must be a single address, got \"not an address\"\nenvironment variable AZURE_AUTHORITY_HOST must be an https URL"
	if err := e.Err(); err == nil || err.Error() != want {
		t.Fatalf("Err() = %v", err)
	}
}
