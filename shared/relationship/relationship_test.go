package relationship

import (
	"reflect"
	"testing"
	"time"
)

const (
	tenant = "8f6e3c1a-0000-4000-8000-00000000c0c0"
	other  = "8f6e3c1a-0000-4000-8000-0000000000ff"
	group  = "7a1d2c3b-0000-4000-8000-0000000000a9"
)

func TestEvaluate(t *testing.T) {
	active := GDAP{ID: "r1", Status: GDAPActive, CustomerTenantID: tenant}
	want := Want{GroupID: group, Roles: []string{"role"}}
	for _, tc := range []struct {
		name string
		obs  Observation
		want Want
		dec  Decision
	}{
		{"nothing done yet", Observation{GDAP: GDAP{Status: GDAPApprovalPending}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingReseller, MissingGDAP}}},
		{"reseller accepted, GDAP pending", Observation{Reseller: "reseller", GDAP: GDAP{Status: GDAPApprovalPending}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingGDAP}}},
		{"an advisor relationship is not a reseller one", Observation{Reseller: "advisor", GDAP: active, Assignments: []Assignment{{GroupID: group, Status: AssignmentActive}}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingReseller}}},
		{"GDAP approved first (out of order), no assignment yet", Observation{GDAP: active}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingReseller, MissingAssignment}, CreateAssignment: true}},
		{"Microsoft still activating", Observation{Reseller: "reseller", GDAP: GDAP{Status: GDAPActivating}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingGDAP}}},
		{"assignment pending", Observation{Reseller: "reseller", GDAP: active, Assignments: []Assignment{{GroupID: group, Status: AssignmentPending}}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingAssignment}}},
		{"a deleted assignment is made again", Observation{Reseller: "reseller", GDAP: active, Assignments: []Assignment{{GroupID: group, Status: AssignmentDeleted}}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingAssignment}, CreateAssignment: true}},
		{"another group's assignment does not count", Observation{Reseller: "reseller", GDAP: active, Assignments: []Assignment{{GroupID: "g2", Status: AssignmentActive}}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingAssignment}, CreateAssignment: true}},
		{"everything confirmed", Observation{Reseller: "reseller", GDAP: active, Assignments: []Assignment{{GroupID: group, Status: AssignmentDeleted}, {GroupID: group, Status: AssignmentActive}}}, want,
			Decision{Outcome: Confirmed}},
		{"no group configured: the relationship alone", Observation{Reseller: "reseller", GDAP: active}, Want{},
			Decision{Outcome: Confirmed}},
		{"expiring still grants access", Observation{Reseller: "reseller", GDAP: GDAP{Status: GDAPExpiring, CustomerTenantID: tenant}}, Want{},
			Decision{Outcome: Confirmed}},
		{"expired", Observation{Reseller: "reseller", GDAP: GDAP{Status: GDAPExpired}}, want,
			Decision{Outcome: Failed, Reason: ReasonExpired}},
		{"terminated", Observation{GDAP: GDAP{Status: GDAPTerminated}}, want,
			Decision{Outcome: Failed, Reason: ReasonTerminated}},
		{"termination requested", Observation{GDAP: GDAP{Status: GDAPTerminationRequested}}, want,
			Decision{Outcome: Failed, Reason: ReasonTerminated}},
		{"approved by another tenant", Observation{Reseller: "reseller", GDAP: GDAP{Status: GDAPActive, CustomerTenantID: other}}, want,
			Decision{Outcome: Failed, Reason: ReasonWrongTenant}},
		{"assignment in error", Observation{Reseller: "reseller", GDAP: active, Assignments: []Assignment{{GroupID: group, Status: AssignmentError}}}, want,
			Decision{Outcome: Failed, Reason: ReasonAssignment}},
		{"a status Graph adds later waits", Observation{Reseller: "reseller", GDAP: GDAP{Status: "somethingNew"}}, want,
			Decision{Outcome: Pending, Missing: []Missing{MissingGDAP}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Evaluate(tc.obs, tenant, tc.want); !reflect.DeepEqual(got, tc.dec) {
				t.Errorf("Evaluate = %+v, want %+v", got, tc.dec)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	first, max := 15*time.Minute, 24*time.Hour
	for _, tc := range []struct {
		checks int
		want   time.Duration
	}{{0, 15 * time.Minute}, {1, 30 * time.Minute}, {3, 2 * time.Hour}, {6, 16 * time.Hour}, {7, 24 * time.Hour}, {100, 24 * time.Hour}} {
		if got := Backoff(tc.checks, first, max); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.checks, got, tc.want)
		}
	}
	// Over a 30-day wait the checks stay few: the budget of the workflow's
	// billed transitions depends on it.
	n, waited := 0, time.Duration(0)
	for waited < 30*24*time.Hour {
		waited += Backoff(n, first, max)
		n++
	}
	if n > 40 {
		t.Errorf("%d checks in 30 days, want at most 40", n)
	}
}
