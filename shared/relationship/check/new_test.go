package check

import (
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/gdap"
)

func TestNewReadsTheDeadlineAndTheWantedAssignment(t *testing.T) {
	graph := &gdap.Client{Config: gdap.Config{SecurityGroupID: "7a1d2c3b-0000-4000-8000-0000000000a9", Roles: []string{"r1", "r2"}, AccessRoles: []string{"r2"}}}
	for _, tc := range []struct {
		env  map[string]string
		want time.Duration
	}{
		{map[string]string{}, 30 * 24 * time.Hour},
		{map[string]string{"OWNERSHIP_DEADLINE": "48h"}, 48 * time.Hour},
	} {
		env := config.FromMap(tc.env)
		c := New(env, nil, nil, graph, nil)
		if err := env.Err(); err != nil {
			t.Fatal(err)
		}
		if c.Deadline != tc.want {
			t.Errorf("Deadline = %v, want %v", c.Deadline, tc.want)
		}
		if c.Want.GroupID != graph.Config.SecurityGroupID || len(c.Want.Roles) != 1 || c.Want.Roles[0] != "r2" {
			t.Errorf("Want = %+v, want the configured group with its access roles", c.Want)
		}
		if now := c.Now(); now.Location() != time.UTC {
			t.Errorf("Now is not UTC: %v", now)
		}
	}
}
