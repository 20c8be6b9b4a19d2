package config

import (
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
