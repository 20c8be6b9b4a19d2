package microsoft

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The partner's relationships with a customer tenant, as Microsoft keeps
// them:
//
//   - the reseller relationship: no object of its own; once the customer's
//     Global Administrator accepts the partner's invitation, the tenant is
//     among the partner's Partner Center customers with
//     relationshipToPartner "reseller" (tenantState.reseller);
//   - granular delegated admin (GDAP) relationships, Microsoft Graph's
//     delegatedAdminRelationship, with their requests and access
//     assignments (gdapRelationship, served by graph.go).
//
// Statuses move with the double's clock and what the customer does on the
// admin center pages (admincenter.go) or through the control API:
//
//	created --lockForApproval--> approvalPending --customer approves--> active
//	approvalPending --90 days without approval--> expired
//	active --endDateTime reached, no auto-extend--> expired
//	active --endDateTime reached, autoExtendDuration P180D--> active, endDateTime + 180 days
//	active --terminate request--> terminated
//
// The Microsoft 365 admin center has no way for a customer to refuse a GDAP
// request: a customer who does not want it closes the page, and the request
// stays approvalPending until it expires. So the approval page's decline
// button changes nothing. The control API's decline stands for a refusal
// the product can observe: the relationship becomes terminated, as when
// the request is withdrawn (the product treats terminated as final).
//
// Access assignments start pending and become active once
// AccessAssignmentDelay has passed on the double's clock or on the read
// after AccessAssignmentReads reads, whichever comes first; they become
// deleted when their relationship ends.

const (
	// GraphResource is Microsoft Graph's token audience.
	GraphResource = "https://graph.microsoft.com"
	// GDAPApprovalWindow is how long a locked relationship waits for the
	// customer's approval before it expires.
	GDAPApprovalWindow = 90 * 24 * time.Hour
	// AccessAssignmentDelay is when a pending access assignment becomes
	// active at the latest.
	AccessAssignmentDelay = time.Minute
	// AccessAssignmentReads is the number of reads that still show a new
	// access assignment pending.
	AccessAssignmentReads = 1
	// maxRelationshipName is the longest displayName Graph accepts.
	maxRelationshipName = 50
)

// Statuses of a delegatedAdminRelationship.
const (
	GDAPCreated         = "created"
	GDAPApprovalPending = "approvalPending"
	GDAPActive          = "active"
	GDAPExpired         = "expired"
	GDAPTerminated      = "terminated"
)

// gdapRelationship is a delegatedAdminRelationship of the partner.
type gdapRelationship struct {
	id                  string
	displayName         string
	duration            string
	autoExtend          string
	customerTenantID    string
	customerDisplayName string
	roles               []string
	status              string
	created, modified   time.Time
	locked              time.Time
	activated           time.Time
	end                 time.Time
	requests            []*gdapRequest
	assignments         []*gdapAssignment
}

// gdapRequest is a delegatedAdminRelationshipRequest.
type gdapRequest struct {
	id, action, status string
	created, modified  time.Time
}

// gdapAssignment is a delegatedAdminAccessAssignment.
type gdapAssignment struct {
	id, groupID       string
	roles             []string
	status            string
	created, modified time.Time
	reads             int
}

// ended reports whether the relationship can no longer change.
func (g *gdapRelationship) ended() bool {
	return g.status == GDAPExpired || g.status == GDAPTerminated
}

// refresh applies what the clock has done since the last look: a locked
// request not approved in time expires; an active relationship past its end
// is extended (auto-extend) or expires.
func (g *gdapRelationship) refresh(now time.Time) {
	switch g.status {
	case GDAPApprovalPending:
		if deadline := g.locked.Add(GDAPApprovalWindow); !now.Before(deadline) {
			g.finish(GDAPExpired, deadline)
		}
	case GDAPActive:
		for !now.Before(g.end) {
			if g.autoExtend != "P180D" {
				g.finish(GDAPExpired, g.end)
				return
			}
			g.end = g.end.AddDate(0, 0, 180)
			g.modified = g.end.AddDate(0, 0, -180)
		}
	}
}

// finish ends the relationship (expired or terminated) at a time; its
// access assignments are deleted.
func (g *gdapRelationship) finish(status string, at time.Time) {
	g.status = status
	g.modified = at
	if g.status == GDAPTerminated || g.end.After(at) {
		g.end = at
	}
	for _, a := range g.assignments {
		if a.status != "deleted" {
			a.status = "deleted"
			a.modified = at
		}
	}
}

// approve makes the relationship active for a customer tenant.
func (g *gdapRelationship) approve(now time.Time, tenantID, tenantName string) {
	g.status = GDAPActive
	g.activated = now
	g.modified = now
	g.end = addISODuration(now, g.duration)
	if g.customerTenantID == "" {
		g.customerTenantID = tenantID
	}
	if g.customerDisplayName == "" {
		g.customerDisplayName = tenantName
	}
}

// read counts a read of an access assignment and activates it when due.
func (a *gdapAssignment) read(now time.Time) {
	a.reads++
	a.refresh(now)
}

func (a *gdapAssignment) refresh(now time.Time) {
	if a.status == "pending" && (a.reads > AccessAssignmentReads || !now.Before(a.created.Add(AccessAssignmentDelay))) {
		a.status = "active"
		a.modified = now
	}
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseISODuration reads an ISO 8601 duration into years, months, days and
// a clock part; ok is false when it is not one.
func parseISODuration(s string) (y, m, d int, clock time.Duration, ok bool) {
	p := isoDurationRE.FindStringSubmatch(s)
	if p == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, 0, 0, 0, false
	}
	n := func(i int) int {
		v, _ := strconv.Atoi(p[i])
		return v
	}
	return n(1), n(2), n(3)*7 + n(4), time.Duration(n(5))*time.Hour + time.Duration(n(6))*time.Minute + time.Duration(n(7))*time.Second, true
}

// addISODuration adds a (valid) ISO 8601 duration to a time.
func addISODuration(t time.Time, s string) time.Time {
	y, m, d, clock, _ := parseISODuration(s)
	return t.AddDate(y, m, d).Add(clock)
}

// relationshipDuration checks a relationship duration: between P1D and
// P2Y inclusive, measured from a fixed date so that years count as 365 or
// 366 days the same way every time.
func relationshipDuration(s string) error {
	if _, _, _, _, ok := parseISODuration(s); !ok {
		return fmt.Errorf("The duration '%s' is not a valid ISO 8601 duration.", s)
	}
	base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	end := addISODuration(base, s)
	if end.Before(base.AddDate(0, 0, 1)) || end.After(base.AddDate(0, 0, 730)) {
		return fmt.Errorf("The duration '%s' is not supported. The duration must be between P1D and P2Y (P730D) inclusive.", s)
	}
	return nil
}

// relationshipByID finds a relationship. s.mu must be held.
func (s *Server) relationshipByID(id string) *gdapRelationship {
	for _, g := range s.relationships {
		if strings.EqualFold(g.id, id) {
			return g
		}
	}
	return nil
}

// refreshRelationships applies the clock to every relationship. s.mu must be held.
func (s *Server) refreshRelationships() {
	now := s.now().UTC()
	for _, g := range s.relationships {
		g.refresh(now)
		for _, a := range g.assignments {
			a.refresh(now)
		}
	}
}

// pendingRelationshipsFor returns the approvalPending relationships a
// customer tenant can approve: those made for it and those made for no
// tenant in particular, newest first. s.mu must be held.
func (s *Server) pendingRelationshipsFor(tenantID string) []*gdapRelationship {
	var out []*gdapRelationship
	for _, g := range s.relationships {
		if g.status == GDAPApprovalPending && (g.customerTenantID == "" || strings.EqualFold(g.customerTenantID, tenantID)) {
			out = append(out, g)
		}
	}
	slices.Reverse(out)
	return out
}

// GDAPChange is the body of POST /_control/gdap.
type GDAPChange struct {
	// Tenant (id, name or domain) chooses the tenant's relationships;
	// RelationshipID chooses one.
	Tenant         string `json:"tenant,omitempty"`
	RelationshipID string `json:"relationshipId,omitempty"`
	// Action is approve (approvalPending → active, as the customer's
	// Global Administrator does), decline (approvalPending → terminated: a
	// refusal the product can observe), expire (→ expired) or terminate
	// (→ terminated).
	Action string `json:"action"`
}

// errNotFound marks a control request naming nothing the double knows.
type errNotFound struct{ msg string }

func (e *errNotFound) Error() string { return e.msg }

// ChangeGDAP applies a GDAP control action and returns the changed
// relationships in Graph's shape, newest first. A relationship id or tenant
// the double does not know is an *errNotFound; so is a tenant with no
// relationship the action applies to.
func (s *Server) ChangeGDAP(ch GDAPChange, base string) ([]map[string]any, error) {
	switch ch.Action {
	case "approve", "decline", "expire", "terminate":
	default:
		return nil, fmt.Errorf("unknown action %q (want approve, decline, expire or terminate)", ch.Action)
	}
	if (ch.Tenant == "") == (ch.RelationshipID == "") {
		return nil, fmt.Errorf("name either tenant or relationshipId")
	}
	s.mu.Lock()
	s.refreshRelationships()
	now := s.now().UTC()
	var targets []*gdapRelationship
	var tenant *tenantState
	if ch.RelationshipID != "" {
		g := s.relationshipByID(ch.RelationshipID)
		if g == nil {
			s.mu.Unlock()
			return nil, &errNotFound{fmt.Sprintf("no delegated admin relationship %q", ch.RelationshipID)}
		}
		targets = []*gdapRelationship{g}
		tenant = s.tenant(g.customerTenantID)
	} else {
		if tenant = s.tenant(ch.Tenant); tenant == nil {
			s.mu.Unlock()
			return nil, &errNotFound{fmt.Sprintf("unknown tenant %q", ch.Tenant)}
		}
		for _, g := range s.relationships {
			if strings.EqualFold(g.customerTenantID, tenant.ID) || (g.customerTenantID == "" && g.status == GDAPApprovalPending) {
				targets = append(targets, g)
			}
		}
	}
	var changed []*gdapRelationship
	var approved []string
	for _, g := range targets {
		switch {
		case ch.Action == "approve" && g.status == GDAPApprovalPending:
			if tenant == nil {
				continue // made for no tenant: name the tenant that approves
			}
			g.approve(now, tenant.ID, tenant.DisplayName)
			approved = append(approved, g.id)
		case ch.Action == "decline" && g.status == GDAPApprovalPending:
			g.finish(GDAPTerminated, now)
		case (ch.Action == "expire" || ch.Action == "terminate") && !g.ended():
			status := GDAPExpired
			if ch.Action == "terminate" {
				status = GDAPTerminated
			}
			g.finish(status, now)
		default:
			continue
		}
		changed = append(changed, g)
	}
	slices.Reverse(changed)
	out := make([]map[string]any, 0, len(changed))
	for _, g := range changed {
		out = append(out, relationshipJSON(g, base, false))
	}
	s.mu.Unlock()
	if len(changed) == 0 {
		what := ch.RelationshipID
		if what == "" {
			what = "tenant " + ch.Tenant
		}
		return nil, &errNotFound{fmt.Sprintf("%s has no delegated admin relationship that %s applies to", what, ch.Action)}
	}
	for _, id := range approved {
		s.gdapApproved(id, base)
	}
	return out, nil
}

// ResellerChange is the body of POST /_control/reseller.
type ResellerChange struct {
	Tenant string `json:"tenant"`
	// Accept accepts the partner's reseller relationship, as the
	// invitation page does; false removes it.
	Accept bool `json:"accept"`
}

// SetReseller accepts or removes a tenant's reseller relationship with the
// partner and returns the tenant as Partner Center's customer view shows
// it. An unknown tenant is an *errNotFound. Accepting sends the
// reseller-relationship-accepted-by-customer webhook event (once per
// acceptance).
func (s *Server) SetReseller(ch ResellerChange, base string) (map[string]any, error) {
	s.mu.Lock()
	t := s.tenant(ch.Tenant)
	if t == nil || strings.EqualFold(t.ID, s.scenario.Partner.TenantID) {
		s.mu.Unlock()
		return nil, &errNotFound{fmt.Sprintf("unknown customer tenant %q", ch.Tenant)}
	}
	newly := ch.Accept && !t.reseller
	t.reseller = ch.Accept
	if newly {
		t.resellerSince = s.now().UTC()
	}
	out := s.resellerView(t)
	s.mu.Unlock()
	if newly {
		s.resellerAccepted(t.ID, base)
	}
	return out, nil
}

// resellerView is a tenant's reseller relationship for the control API.
// s.mu must be held.
func (s *Server) resellerView(t *tenantState) map[string]any {
	out := map[string]any{"tenant": t.Name, "tenantId": t.ID, "relationshipToPartner": "none"}
	if t.reseller {
		out["relationshipToPartner"] = "reseller"
		out["acceptedDateTime"] = graphTime(t.resellerSince)
	}
	return out
}

// newRelationshipID makes an id shaped as Graph's: two GUIDs joined.
func newRelationshipID() string {
	return uuid.NewString() + "-" + uuid.NewString()
}

// AccessAssignmentChange is the body of POST /_control/accessassignment:
// what the partner does to a GDAP relationship's access assignments in
// Partner Center (Customers, Admin relationships).
type AccessAssignmentChange struct {
	// Tenant (id, name or domain) chooses the tenant's active
	// relationships; RelationshipID chooses one.
	Tenant         string `json:"tenant,omitempty"`
	RelationshipID string `json:"relationshipId,omitempty"`
	// GroupID narrows delete to the security group's assignment; for
	// create it is the group, by default each group whose assignment was
	// deleted and has no pending or active one.
	GroupID string `json:"groupId,omitempty"`
	// Action is delete (the assignments become deleted, as after Graph's
	// DELETE .../accessAssignments/{id} has run) or create (a new
	// assignment with all the relationship's roles, pending and then
	// active as one the partner posts).
	Action string `json:"action"`
}

// ChangeAccessAssignments applies an access assignment control action to
// active relationships and returns the changed or created assignments in
// Graph's shape. Nothing to change is an *errNotFound.
func (s *Server) ChangeAccessAssignments(ch AccessAssignmentChange) ([]map[string]any, error) {
	if ch.Action != "delete" && ch.Action != "create" {
		return nil, fmt.Errorf("unknown action %q (want delete or create)", ch.Action)
	}
	if (ch.Tenant == "") == (ch.RelationshipID == "") {
		return nil, fmt.Errorf("name either tenant or relationshipId")
	}
	group := strings.ToLower(ch.GroupID)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshRelationships()
	now := s.now().UTC()
	var targets []*gdapRelationship
	if ch.RelationshipID != "" {
		if g := s.relationshipByID(ch.RelationshipID); g != nil && g.status == GDAPActive {
			targets = append(targets, g)
		}
	} else {
		t := s.tenant(ch.Tenant)
		if t == nil {
			return nil, &errNotFound{fmt.Sprintf("unknown tenant %q", ch.Tenant)}
		}
		for _, g := range s.relationships {
			if strings.EqualFold(g.customerTenantID, t.ID) && g.status == GDAPActive {
				targets = append(targets, g)
			}
		}
	}
	out := []map[string]any{}
	for _, g := range targets {
		live := func(groupID string) bool {
			return slices.ContainsFunc(g.assignments, func(a *gdapAssignment) bool {
				return a.groupID == groupID && (a.status == "pending" || a.status == "active")
			})
		}
		switch ch.Action {
		case "delete":
			for _, a := range g.assignments {
				if (a.status == "pending" || a.status == "active") && (group == "" || a.groupID == group) {
					a.status, a.modified = "deleted", now
					out = append(out, accessAssignmentJSON(a))
				}
			}
		case "create":
			var groups []string
			if group != "" {
				groups = []string{group}
			} else {
				for _, a := range g.assignments {
					if a.status == "deleted" && !slices.Contains(groups, a.groupID) {
						groups = append(groups, a.groupID)
					}
				}
			}
			for _, gid := range groups {
				if live(gid) {
					continue
				}
				a := &gdapAssignment{id: uuid.NewString(), groupID: gid, roles: slices.Clone(g.roles), status: "pending", created: now, modified: now}
				g.assignments = append(g.assignments, a)
				out = append(out, accessAssignmentJSON(a))
			}
		}
	}
	if len(out) == 0 {
		return nil, &errNotFound{fmt.Sprintf("no active delegated admin relationship with an access assignment to %s", ch.Action)}
	}
	return out, nil
}
