package microsoft

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Microsoft Graph v1.0, the granular delegated admin (GDAP) API, served
// under /v1.0 with app-only tokens of the partner application in the
// partner tenant (audience GraphResource, scope
// https://graph.microsoft.com/.default):
//
//	POST /v1.0/tenantRelationships/delegatedAdminRelationships                      → 201 the relationship (created)
//	GET  /v1.0/tenantRelationships/delegatedAdminRelationships[?$filter=...]         → {"value": [...], "@odata.nextLink"}
//	GET  /v1.0/tenantRelationships/delegatedAdminRelationships/{id}                 → the relationship
//	POST /v1.0/tenantRelationships/delegatedAdminRelationships/{id}/requests        → 201 the request (lockForApproval, terminate)
//	GET  /v1.0/tenantRelationships/delegatedAdminRelationships/{id}/requests[/{rid}]
//	POST /v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments → 201 the access assignment (pending)
//	GET  /v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments[/{aid}]
//
// $filter takes eq comparisons of displayName, status, customer/tenantId
// and id joined by "and"; lists are paged by the scenario's page size with
// @odata.nextLink ($skiptoken). Errors have Graph's shape, {"error":
// {"code", "message", "innerError": {"date", "request-id",
// "client-request-id"}}}. Microsoft documents the rules but not the
// status and code of each refusal; the double answers:
//
//	displayName already used by another relationship of the partner   409 conflict
//	autoExtendDuration P180D with Global Administrator among the roles 400 badRequest
//	duration outside P1D–P2Y, missing roles, bad displayName          400 badRequest
//	lockForApproval of a relationship that is not created (locked twice) 400 badRequest
//	access assignment on a relationship that is not active             400 badRequest
//	access assignment for a group that already has one (pending/active) 409 conflict
//	unknown relationship, request or assignment                         404 notFound
//
// Faults aim at "graph" or one of the call kinds below; a dropReply fault
// on a creation performs it and loses the reply (a retry then meets the
// displayName conflict, as at Microsoft).

// Call kinds of Microsoft Graph; the fault call "graph" covers them all.
const (
	CallGraph                       = "graph"
	CallGraphCreateRelationship     = "graph.createRelationship"
	CallGraphListRelationships      = "graph.listRelationships"
	CallGraphGetRelationship        = "graph.getRelationship"
	CallGraphLock                   = "graph.lock"
	CallGraphListRequests           = "graph.listRequests"
	CallGraphGetRequest             = "graph.getRequest"
	CallGraphCreateAccessAssignment = "graph.createAccessAssignment"
	CallGraphListAccessAssignments  = "graph.listAccessAssignments"
	CallGraphGetAccessAssignment    = "graph.getAccessAssignment"
)

// graphCall reports whether a fault call aims at Graph calls only.
func graphCall(call string) bool {
	return call == CallGraph || strings.HasPrefix(call, CallGraph+".")
}

const graphJSONType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// graphTime writes a time as Graph does (UTC, seven fractional digits).
func graphTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// graphError answers with Graph's error shape.
func (s *Server) graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	inner := map[string]any{
		"date":       s.now().UTC().Format("2006-01-02T15:04:05"),
		"request-id": w.Header().Get("request-id"),
	}
	if c := r.Header.Get("client-request-id"); c != "" {
		inner["client-request-id"] = c
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": inner}})
}

func writeGraph(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", graphJSONType)
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// graphKind classifies a Graph request: the call kind, the relationship,
// request or assignment ids in the path. kind is "" for a path the double
// does not serve.
func graphKind(method string, segs []string) (kind, relID, subID string) {
	// segs: v1.0, tenantRelationships, delegatedAdminRelationships, {id}, requests|accessAssignments, {sub}
	if len(segs) < 3 || !strings.EqualFold(segs[1], "tenantRelationships") || !strings.EqualFold(segs[2], "delegatedAdminRelationships") {
		return "", "", ""
	}
	get := method == http.MethodGet
	switch n := len(segs); {
	case n == 3 && get:
		return CallGraphListRelationships, "", ""
	case n == 3:
		return CallGraphCreateRelationship, "", ""
	case n == 4:
		return CallGraphGetRelationship, segs[3], ""
	case n == 5 && strings.EqualFold(segs[4], "requests") && get:
		return CallGraphListRequests, segs[3], ""
	case n == 5 && strings.EqualFold(segs[4], "requests"):
		return CallGraphLock, segs[3], ""
	case n == 6 && strings.EqualFold(segs[4], "requests"):
		return CallGraphGetRequest, segs[3], segs[5]
	case n == 5 && strings.EqualFold(segs[4], "accessAssignments") && get:
		return CallGraphListAccessAssignments, segs[3], ""
	case n == 5 && strings.EqualFold(segs[4], "accessAssignments"):
		return CallGraphCreateAccessAssignment, segs[3], ""
	case n == 6 && strings.EqualFold(segs[4], "accessAssignments"):
		return CallGraphGetAccessAssignment, segs[3], segs[5]
	}
	return "", "", ""
}

// serveGraph routes /v1.0/... after checking the token.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, segs []string) {
	kind, relID, subID := graphKind(r.Method, segs)
	counted := kind
	if counted == "" {
		counted = CallGraph
	}
	s.count(counted)
	w.Header().Set("request-id", uuid.NewString())
	if c := r.Header.Get("client-request-id"); c != "" {
		w.Header().Set("client-request-id", c)
	}
	if f := s.takeFault(counted); f != nil {
		if !f.DropReply {
			s.answerFault(w, r, counted, f)
			return
		}
		// Performed below; the reply is lost on the way back.
		client := w
		w = &pcRecorder{header: client.Header()}
		defer func() {
			if f.Status == 0 {
				panic(http.ErrAbortHandler) // the connection is cut
			}
			s.answerFault(client, r, counted, f)
		}()
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	claims, err := s.verifyToken(strings.TrimSpace(raw))
	if err != nil {
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
		return
	}
	if !strings.EqualFold(strings.TrimSuffix(claims.Audience, "/"), GraphResource) {
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return
	}
	if !strings.EqualFold(claims.TenantID, s.scenario.Partner.TenantID) || !strings.EqualFold(claims.AppID, s.scenario.Partner.AppID) {
		s.graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation: only the partner's application in the partner tenant manages its delegated admin relationships.")
		return
	}
	if kind == "" {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s' (the local Microsoft double serves tenantRelationships/delegatedAdminRelationships only).", strings.Join(segs[1:], "/")))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		s.graphError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", fmt.Sprintf("Method %s is not supported here.", r.Method))
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(b, &body); err != nil || body == nil {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
			return
		}
	}
	base := baseURL(r)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshRelationships()
	var g *gdapRelationship
	if relID != "" {
		if g = s.relationshipByID(relID); g == nil {
			s.graphError(w, r, http.StatusNotFound, "notFound", fmt.Sprintf("The delegated admin relationship with id '%s' was not found.", relID))
			return
		}
	}
	now := s.now().UTC()
	switch kind {
	case CallGraphCreateRelationship:
		s.graphCreateRelationship(w, r, base, body, now)
	case CallGraphListRelationships:
		s.graphListRelationships(w, r, base)
	case CallGraphGetRelationship:
		writeGraph(w, http.StatusOK, relationshipJSON(g, base, true))
	case CallGraphLock:
		s.graphCreateRequest(w, r, base, g, body, now)
	case CallGraphListRequests:
		items := make([]any, 0, len(g.requests))
		for _, q := range g.requests {
			items = append(items, requestJSON(q, now))
		}
		s.graphList(w, r, base, "requests", items)
	case CallGraphGetRequest:
		for _, q := range g.requests {
			if strings.EqualFold(q.id, subID) {
				writeGraph(w, http.StatusOK, withContext(requestJSON(q, now), base, "requests/$entity"))
				return
			}
		}
		s.graphError(w, r, http.StatusNotFound, "notFound", fmt.Sprintf("The request with id '%s' was not found.", subID))
	case CallGraphCreateAccessAssignment:
		s.graphCreateAssignment(w, r, base, g, body, now)
	case CallGraphListAccessAssignments:
		items := make([]any, 0, len(g.assignments))
		for _, a := range g.assignments {
			a.read(now)
			items = append(items, accessAssignmentJSON(a))
		}
		s.graphList(w, r, base, "accessAssignments", items)
	case CallGraphGetAccessAssignment:
		for _, a := range g.assignments {
			if strings.EqualFold(a.id, subID) {
				a.read(now)
				writeGraph(w, http.StatusOK, withContext(accessAssignmentJSON(a), base, "accessAssignments/$entity"))
				return
			}
		}
		s.graphError(w, r, http.StatusNotFound, "notFound", fmt.Sprintf("The access assignment with id '%s' was not found.", subID))
	}
}

func withContext(m map[string]any, base, what string) map[string]any {
	m["@odata.context"] = base + "/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships/" + what
	return m
}

// relationshipJSON is a relationship in Graph's shape.
func relationshipJSON(g *gdapRelationship, base string, context bool) map[string]any {
	roles := make([]any, 0, len(g.roles))
	for _, id := range g.roles {
		roles = append(roles, map[string]any{"roleDefinitionId": id})
	}
	var customer any
	if g.customerTenantID != "" || g.customerDisplayName != "" {
		customer = map[string]any{"tenantId": g.customerTenantID, "displayName": g.customerDisplayName}
	}
	m := map[string]any{
		"@odata.type":          "#microsoft.graph.delegatedAdminRelationship",
		"@odata.etag":          etag(g.id, g.modified),
		"id":                   g.id,
		"displayName":          g.displayName,
		"duration":             g.duration,
		"customer":             customer,
		"accessDetails":        map[string]any{"unifiedRoles": roles},
		"status":               g.status,
		"autoExtendDuration":   g.autoExtend,
		"createdDateTime":      graphTime(g.created),
		"lastModifiedDateTime": graphTime(g.modified),
		"activatedDateTime":    nil,
		"endDateTime":          graphTime(g.end),
	}
	if !g.activated.IsZero() {
		m["activatedDateTime"] = graphTime(g.activated)
	}
	if context {
		m["@odata.context"] = base + "/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships/$entity"
	}
	return m
}

// requestJSON is a request in Graph's shape: created when made, succeeded
// afterwards (the double carries a request out at once).
func requestJSON(q *gdapRequest, now time.Time) map[string]any {
	status := q.status
	if status == "created" && now.After(q.created) {
		status = "succeeded"
	}
	return map[string]any{
		"@odata.type":          "#microsoft.graph.delegatedAdminRelationshipRequest",
		"id":                   q.id,
		"action":               q.action,
		"status":               status,
		"createdDateTime":      graphTime(q.created),
		"lastModifiedDateTime": graphTime(q.modified),
	}
}

func accessAssignmentJSON(a *gdapAssignment) map[string]any {
	roles := make([]any, 0, len(a.roles))
	for _, id := range a.roles {
		roles = append(roles, map[string]any{"roleDefinitionId": id})
	}
	return map[string]any{
		"@odata.type":          "#microsoft.graph.delegatedAdminAccessAssignment",
		"@odata.etag":          etag(a.id, a.modified),
		"id":                   a.id,
		"status":               a.status,
		"createdDateTime":      graphTime(a.created),
		"lastModifiedDateTime": graphTime(a.modified),
		"accessContainer":      map[string]any{"accessContainerId": a.groupID, "accessContainerType": "securityGroup"},
		"accessDetails":        map[string]any{"unifiedRoles": roles},
	}
}

func etag(id string, t time.Time) string {
	return `W/"` + base64.StdEncoding.EncodeToString([]byte(`"`+uuid.NewSHA1(uuid.NameSpaceOID, []byte(id+graphTime(t))).String()+`"`)) + `"`
}

// unifiedRoles reads accessDetails.unifiedRoles[].roleDefinitionId.
func unifiedRoles(body map[string]any) ([]string, error) {
	details, _ := body["accessDetails"].(map[string]any)
	list, _ := details["unifiedRoles"].([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("accessDetails.unifiedRoles must name at least one role.")
	}
	var out []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["roleDefinitionId"].(string)
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return nil, fmt.Errorf("The roleDefinitionId '%s' is not a valid role template id.", id)
		}
		if id = strings.ToLower(id); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// graphCreateRelationship creates a relationship. s.mu is held.
func (s *Server) graphCreateRelationship(w http.ResponseWriter, r *http.Request, base string, body map[string]any, now time.Time) {
	bad := func(msg string) { s.graphError(w, r, http.StatusBadRequest, "badRequest", msg) }
	name, _ := body["displayName"].(string)
	duration, _ := body["duration"].(string)
	autoExtend, _ := body["autoExtendDuration"].(string)
	if autoExtend == "" {
		autoExtend = "PT0S"
	}
	switch {
	case strings.TrimSpace(name) == "":
		bad("The displayName is required.")
		return
	case len([]rune(name)) > maxRelationshipName:
		bad(fmt.Sprintf("The displayName must be %d characters or fewer.", maxRelationshipName))
		return
	case duration == "":
		bad("The duration is required.")
		return
	}
	if err := relationshipDuration(duration); err != nil {
		bad(err.Error())
		return
	}
	if autoExtend != "PT0S" && autoExtend != "P0D" && autoExtend != "P180D" {
		bad(fmt.Sprintf("The autoExtendDuration '%s' is not supported. Supported values are P0D, PT0S and P180D.", autoExtend))
		return
	}
	roles, err := unifiedRoles(body)
	if err != nil {
		bad(err.Error())
		return
	}
	if autoExtend == "P180D" && slices.Contains(roles, GlobalAdministratorRoleID) {
		bad("Auto extend is not supported for relationships that include the Global Administrator role. Remove the Global Administrator role or set autoExtendDuration to PT0S.")
		return
	}
	for _, g := range s.relationships {
		if strings.EqualFold(g.displayName, name) {
			s.graphError(w, r, http.StatusConflict, "conflict", fmt.Sprintf("A delegated admin relationship with the display name '%s' already exists. The display name must be unique across all of the partner's delegated admin relationships.", name))
			return
		}
	}
	g := &gdapRelationship{
		id: newRelationshipID(), displayName: name, duration: duration, autoExtend: autoExtend,
		roles: roles, status: GDAPCreated, created: now, modified: now, end: addISODuration(now, duration),
	}
	if c, ok := body["customer"].(map[string]any); ok {
		g.customerTenantID, _ = c["tenantId"].(string)
		g.customerDisplayName, _ = c["displayName"].(string)
		if g.customerTenantID != "" {
			if _, err := uuid.Parse(g.customerTenantID); err != nil {
				bad(fmt.Sprintf("The customer tenantId '%s' is not a valid tenant id.", g.customerTenantID))
				return
			}
			g.customerTenantID = strings.ToLower(g.customerTenantID)
			if t := s.tenant(g.customerTenantID); t != nil && g.customerDisplayName == "" {
				g.customerDisplayName = t.DisplayName
			}
		}
	}
	s.relationships = append(s.relationships, g)
	w.Header().Set("Location", base+"/v1.0/tenantRelationships/delegatedAdminRelationships/"+g.id)
	m := relationshipJSON(g, base, false)
	m["@odata.context"] = base + "/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships/$entity"
	writeGraph(w, http.StatusCreated, m)
}

// graphCreateRequest locks a relationship for approval or terminates it. s.mu is held.
func (s *Server) graphCreateRequest(w http.ResponseWriter, r *http.Request, base string, g *gdapRelationship, body map[string]any, now time.Time) {
	action, _ := body["action"].(string)
	switch action {
	case "lockForApproval":
		if g.status != GDAPCreated {
			s.graphError(w, r, http.StatusBadRequest, "badRequest", fmt.Sprintf("The delegated admin relationship is in the '%s' status; only a relationship in the 'created' status can be locked for approval.", g.status))
			return
		}
		g.status, g.locked, g.modified = GDAPApprovalPending, now, now
	case "terminate":
		if g.status != GDAPActive {
			s.graphError(w, r, http.StatusBadRequest, "badRequest", fmt.Sprintf("The delegated admin relationship is in the '%s' status; only an active relationship can be terminated.", g.status))
			return
		}
		g.finish(GDAPTerminated, now)
	case "":
		s.graphError(w, r, http.StatusBadRequest, "badRequest", "The action is required (lockForApproval or terminate).")
		return
	default:
		s.graphError(w, r, http.StatusBadRequest, "badRequest", fmt.Sprintf("The action '%s' is not supported for a partner (use lockForApproval or terminate).", action))
		return
	}
	q := &gdapRequest{id: uuid.NewString(), action: action, status: "created", created: now, modified: now}
	g.requests = append(g.requests, q)
	w.Header().Set("Location", base+"/v1.0/tenantRelationships/delegatedAdminRelationships/"+g.id+"/requests/"+q.id)
	writeGraph(w, http.StatusCreated, withContext(requestJSON(q, now), base, "requests/$entity"))
}

// graphCreateAssignment creates an access assignment. s.mu is held.
func (s *Server) graphCreateAssignment(w http.ResponseWriter, r *http.Request, base string, g *gdapRelationship, body map[string]any, now time.Time) {
	bad := func(msg string) { s.graphError(w, r, http.StatusBadRequest, "badRequest", msg) }
	if g.status != GDAPActive {
		bad(fmt.Sprintf("The delegated admin relationship is in the '%s' status; access assignments can be created only for an active relationship.", g.status))
		return
	}
	container, _ := body["accessContainer"].(map[string]any)
	groupID, _ := container["accessContainerId"].(string)
	kind, _ := container["accessContainerType"].(string)
	if _, err := uuid.Parse(groupID); err != nil || kind != "securityGroup" {
		bad("accessContainer needs an accessContainerId (a security group's object id) and accessContainerType 'securityGroup'.")
		return
	}
	roles, err := unifiedRoles(body)
	if err != nil {
		bad(err.Error())
		return
	}
	for _, id := range roles {
		if !slices.Contains(g.roles, id) {
			bad(fmt.Sprintf("The role '%s' is not part of the delegated admin relationship's roles.", id))
			return
		}
	}
	groupID = strings.ToLower(groupID)
	for _, a := range g.assignments {
		if a.groupID == groupID && (a.status == "pending" || a.status == "active") {
			s.graphError(w, r, http.StatusConflict, "conflict", fmt.Sprintf("The security group '%s' already has an access assignment (%s) in this relationship.", groupID, a.id))
			return
		}
	}
	a := &gdapAssignment{id: uuid.NewString(), groupID: groupID, roles: roles, status: "pending", created: now, modified: now}
	g.assignments = append(g.assignments, a)
	w.Header().Set("Location", base+"/v1.0/tenantRelationships/delegatedAdminRelationships/"+g.id+"/accessAssignments/"+a.id)
	writeGraph(w, http.StatusCreated, withContext(accessAssignmentJSON(a), base, "accessAssignments/$entity"))
}

// graphListRelationships lists the partner's relationships, filtered. s.mu is held.
func (s *Server) graphListRelationships(w http.ResponseWriter, r *http.Request, base string) {
	conds, err := parseGraphFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	var items []any
	for _, g := range s.relationships {
		m := relationshipJSON(g, base, false)
		if matchesFilter(m, conds) {
			items = append(items, m)
		}
	}
	s.graphList(w, r, base, "", items)
}

// graphList answers one page of a collection with @odata.nextLink.
func (s *Server) graphList(w http.ResponseWriter, r *http.Request, base, what string, items []any) {
	offset := 0
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", "The $skiptoken is not valid.")
			return
		}
		offset = n
	}
	size := s.pageSize
	if top, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	context := base + "/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships"
	if what != "" {
		context += "('" + strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/tenantRelationships/delegatedAdminRelationships/"), "/")[0] + "')/" + what
	}
	page := []any{}
	if offset < len(items) {
		page = items[offset:min(offset+size, len(items))]
	}
	out := map[string]any{"@odata.context": context, "value": page}
	if offset+size < len(items) {
		q := r.URL.Query()
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset+size))))
		out["@odata.nextLink"] = base + r.URL.Path + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	writeGraph(w, http.StatusOK, out)
}

// graphCond is one `property eq 'value'` comparison of a $filter.
type graphCond struct{ path, value string }

// parseGraphFilter reads the $filter forms the double supports: eq
// comparisons of displayName, status, id and customer/tenantId with string
// literals (quotes doubled inside), joined by "and".
func parseGraphFilter(f string) ([]graphCond, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return nil, nil
	}
	var out []graphCond
	rest := f
	for {
		rest = strings.TrimSpace(rest)
		i := strings.Index(rest, " ")
		if i < 0 {
			return nil, fmt.Errorf("Invalid filter clause: %s", f)
		}
		prop := rest[:i]
		switch strings.ToLower(prop) {
		case "displayname", "status", "id", "customer/tenantid":
		default:
			return nil, fmt.Errorf("Invalid filter clause: the property '%s' is not supported in $filter (the local Microsoft double filters on displayName, status, id and customer/tenantId).", prop)
		}
		rest = strings.TrimSpace(rest[i:])
		if !strings.HasPrefix(strings.ToLower(rest), "eq ") {
			return nil, fmt.Errorf("Invalid filter clause: only the eq operator is supported: %s", f)
		}
		rest = strings.TrimSpace(rest[3:])
		if !strings.HasPrefix(rest, "'") {
			return nil, fmt.Errorf("Invalid filter clause: a string literal in single quotes is expected: %s", f)
		}
		var val strings.Builder
		j := 1
		closed := false
		for j < len(rest) {
			if rest[j] == '\'' {
				if j+1 < len(rest) && rest[j+1] == '\'' {
					val.WriteByte('\'')
					j += 2
					continue
				}
				closed = true
				j++
				break
			}
			val.WriteByte(rest[j])
			j++
		}
		if !closed {
			return nil, fmt.Errorf("Invalid filter clause: unterminated string literal: %s", f)
		}
		out = append(out, graphCond{path: strings.ToLower(prop), value: val.String()})
		rest = strings.TrimSpace(rest[j:])
		if rest == "" {
			return out, nil
		}
		if !strings.HasPrefix(strings.ToLower(rest), "and ") {
			return nil, fmt.Errorf("Invalid filter clause: %s", f)
		}
		rest = rest[4:]
	}
}

// matchesFilter tells whether a relationship (in Graph's shape) passes
// every condition; string comparisons ignore case, as Graph's do.
func matchesFilter(m map[string]any, conds []graphCond) bool {
	for _, c := range conds {
		var v string
		switch c.path {
		case "displayname":
			v, _ = m["displayName"].(string)
		case "status":
			v, _ = m["status"].(string)
		case "id":
			v, _ = m["id"].(string)
		case "customer/tenantid":
			if cust, ok := m["customer"].(map[string]any); ok {
				v, _ = cust["tenantId"].(string)
			}
		}
		if !strings.EqualFold(v, c.value) {
			return false
		}
	}
	return true
}

// GDAPApprovalURL is the admin center link where a customer approves a
// relationship, on an admin center base URL (production
// https://admin.microsoft.com; the double serves it itself).
func GDAPApprovalURL(adminCenter, relationshipID string) string {
	return strings.TrimSuffix(adminCenter, "/") + "/AdminPortal/Home#/partners/invitation/granularAdminRelationships/" + url.PathEscape(relationshipID)
}
