package microsoft

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Resource groups, resources and moving resources, as Azure Resource
// Manager serves them (the paths and api-version 2021-04-01 of armresources'
// ResourceGroupsClient and Client):
//
//	GET  /subscriptions/{s}/resourcegroups                      list (paged)
//	GET  /subscriptions/{s}/resourcegroups/{rg}                 get; 404 ResourceGroupNotFound
//	HEAD /subscriptions/{s}/resourcegroups/{rg}                 204 or 404
//	PUT  /subscriptions/{s}/resourcegroups/{rg}                 createOrUpdate {"location", "tags"}: 201, or 200 when it exists
//	GET  /subscriptions/{s}/resourceGroups/{rg}/resources       resources of a group (paged)
//	GET  /subscriptions/{s}/resources                           resources of a subscription (paged)
//	POST /subscriptions/{s}/resourceGroups/{rg}/validateMoveResources
//	POST /subscriptions/{s}/resourceGroups/{rg}/moveResources
//	GET  /subscriptions/{s}/operationresults/{operation}        a move's long-running operation
//
// validateMoveResources and moveResources take {"resources": [ids],
// "targetResourceGroup": id} and answer 202 Accepted with a Location (the
// operation's URL, which armresources' poller follows) and Retry-After. The
// operation answers 202 (with Location and Retry-After) while it runs, for
// Options.OperationPolls polls or until that many Retry-After periods have
// passed on the double's clock, whichever comes first; then 204 No Content,
// or 409 Conflict with ResourceMoveValidationFailed and one detail per
// resource Resource Manager refuses to move (its code, message and target,
// the resource id; the scenario's moveError). A move that ends 204 has moved
// the resources: their ids now name the target subscription and group and
// the source no longer lists them; a move refused so (409
// ResourceMoveValidationFailed) moves nothing. A 409 fault of
// moveResources.operation makes the next move operation fail half-way
// instead, as Resource Manager documents a move can (failMove): 409 with
// ResourceMoveFailed or ResourceMoveTimedOut, some resources in the target
// and the rest still in the source.
//
// A move locks both its source and its target group until its operation
// ends (204 or 409), as Resource Manager does: writes are refused on them
// with 409 Conflict, code ScopeLocked (Resource Manager's code for a write
// on a locked scope), naming the locked group: another
// validateMoveResources or moveResources from or to either group, and a
// createOrUpdate of either. Reads stay allowed, and a validation locks
// nothing.
//
// Refused at once, as Resource Manager does before it starts an operation:
// a source or target group that does not exist (404 ResourceGroupNotFound),
// a resource not in the source group (404 ResourceNotFound: a move repeated
// after it finished is refused so), a target in another tenant, and a
// caller without write access. Write access is an Owner or Contributor
// assignment at or above the scope, held by the token's oid: the source
// group needs it (else 403 AuthorizationFailed naming the move action), the
// target group too (else 403 LinkedAuthorizationFailed naming
// Microsoft.Resources/subscriptions/resourceGroups/write on the linked
// scope). Reads need any role at or above the scope.

// Call kinds of resource groups, resources and moves.
const (
	CallResourceGroups         = "resourceGroups"
	CallResourceGroupsList     = "resourceGroups.list"
	CallResourceGroupsGet      = "resourceGroups.get"
	CallResourceGroupsCreate   = "resourceGroups.createOrUpdate"
	CallResources              = "resources"
	CallResourcesListByGroup   = "resources.listByResourceGroup"
	CallResourcesList          = "resources.list"
	CallValidateMoveResources  = "moveResources.validate"
	CallMoveResources          = "moveResources.move"
	CallMoveResourcesOperation = "moveResources.operation"
)

// movesAPIVersion is the api-version the operation URLs carry, the one
// armresources sends.
const movesAPIVersion = "2021-04-01"

// rgState is a resource group in the double's state.
type rgState struct {
	subscriptionID string // lower case
	name           string
	location       string
	tags           map[string]string
	resources      []*resourceState
}

// resourceState is a resource in the double's state.
type resourceState struct {
	name      string
	typ       string
	location  string
	moveError *ErrorInfo
}

func (g *rgState) id() string {
	return "/subscriptions/" + g.subscriptionID + "/resourceGroups/" + g.name
}

func (g *rgState) resourceID(r *resourceState) string {
	ns, rest, _ := strings.Cut(r.typ, "/")
	return g.id() + "/providers/" + ns + "/" + rest + "/" + r.name
}

// newGroups makes the run-time resource groups of a scenario subscription.
func newGroups(sub Subscription) []*rgState {
	var out []*rgState
	for _, rg := range sub.ResourceGroups {
		g := &rgState{subscriptionID: strings.ToLower(sub.ID), name: rg.Name, location: rg.Location}
		if g.location == "" {
			g.location = DefaultLocation
		}
		for _, r := range rg.Resources {
			rs := &resourceState{name: r.Name, typ: r.Type, location: r.Location}
			if rs.location == "" {
				rs.location = g.location
			}
			if r.MoveError != nil {
				e := *r.MoveError
				if e.Message == "" && e.Code == "ResourceMoveNotSupported" {
					e.Message = fmt.Sprintf("Resource move is not supported for resource types '%s'.", r.Type)
				}
				rs.moveError = &e
			}
			g.resources = append(g.resources, rs)
		}
		out = append(out, g)
	}
	return out
}

// group finds a resource group of a subscription. s.mu must be held.
func (t *tenantState) group(subscriptionID, name string) *rgState {
	for _, g := range t.groups {
		if strings.EqualFold(g.subscriptionID, subscriptionID) && strings.EqualFold(g.name, name) {
			return g
		}
	}
	return nil
}

// armOperation is a move's long-running operation.
type armOperation struct {
	id       string
	validate bool
	tenant   *tenantState
	source   *rgState
	target   *rgState
	ids      []string // the resource ids as requested
	started  time.Time
	// seq orders operations started at the same instant (the clock may be
	// coarse or injected): the state lists them oldest first.
	seq   int
	polls int
	done  bool
	// status and body are the final answer (204, or 409/404 with body).
	status int
	body   map[string]any
	// fail, for a move started under a 409 fault of
	// moveResources.operation, makes it end failed after moving fail.Moved
	// of its resources; moved are the ids (as requested) of those it moved.
	fail  *Fault
	moved []string
}

// writeRoles are the built-in roles that may write resources.
var writeRoles = map[string]bool{OwnerRoleID: true, ContributorRoleID: true}

// holdsRoleAt tells whether the caller holds one of roles at or above the
// scope. s.mu must be held.
func (s *Server) holdsRoleAt(info *scopeInfo, c *caller, roles map[string]bool) bool {
	if !info.tenant.active(c.objectID) {
		return false
	}
	for _, a := range info.tenant.assignments {
		if a.principalID != c.objectID || (roles != nil && !roles[a.roleID]) {
			continue
		}
		if above, _ := s.relation(info, a); above {
			return true
		}
	}
	return false
}

// armAccess checks the caller's access to a scope inside a subscription as
// Resource Manager does: a token of another tenant is 401
// InvalidAuthenticationTokenTenant, no role (or none that may write, when
// write) is 403 AuthorizationFailed for action. It answers the refusal
// itself. s.mu must be held.
func (s *Server) armAccess(w http.ResponseWriter, r *http.Request, c *caller, scope, action string, write bool) (*scopeInfo, bool) {
	info, status, code, msg := s.resolveScope(scope)
	if status != 0 {
		armError(w, status, code, msg)
		return nil, false
	}
	if !strings.EqualFold(info.tenant.ID, c.tenantID) {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+baseURL(r)+"/"+info.tenant.ID+`", error="invalid_token", error_description="The access token is from the wrong issuer."`)
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationTokenTenant", fmt.Sprintf("The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) '%s' to get the token.",
			issuer(r, c.tenantID), issuer(r, info.tenant.ID), baseURL(r)+"/"+info.tenant.ID))
		return nil, false
	}
	var roles map[string]bool
	if write {
		roles = writeRoles
	}
	if !s.holdsRoleAt(info, c, roles) {
		armError(w, http.StatusForbidden, "AuthorizationFailed", actionFailed(c, action, scope))
		return nil, false
	}
	return info, true
}

func actionFailed(c *caller, action, scope string) string {
	return fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", c.objectID, c.objectID, action, scope)
}

func resourceGroupNotFound(w http.ResponseWriter, name string) {
	armError(w, http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", name))
}

func resourceGroupJSON(g *rgState) map[string]any {
	out := map[string]any{
		"id":         g.id(),
		"name":       g.name,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   g.location,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
	if len(g.tags) > 0 {
		out["tags"] = g.tags
	}
	return out
}

func resourceJSON(g *rgState, r *resourceState) map[string]any {
	return map[string]any{
		"id":       g.resourceID(r),
		"name":     r.name,
		"type":     r.typ,
		"location": r.location,
	}
}

// writePage answers a paged list of items, as the subscriptions list does.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	page, next, ok := s.page(w, r, len(items))
	if !ok {
		return
	}
	body := map[string]any{"value": items[page[0]:page[1]]}
	if len(items) == 0 {
		body["value"] = []any{}
	}
	if next != "" {
		body["nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// serveSubscriptionPath routes the Resource Manager paths below
// /subscriptions/{s}/ that this file serves; it reports false for others.
func (s *Server) serveSubscriptionPath(w http.ResponseWriter, r *http.Request, segs []string) bool {
	n := len(segs)
	if n < 3 || !strings.EqualFold(segs[0], "subscriptions") {
		return false
	}
	sub := segs[1]
	is := func(i int, v string) bool { return strings.EqualFold(segs[i], v) }
	switch {
	case n == 3 && is(2, "resourcegroups"):
		s.serveARM(w, r, CallResourceGroupsList, func(w http.ResponseWriter, c *caller) { s.listResourceGroups(w, r, c, sub) })
	case n == 4 && is(2, "resourcegroups"):
		kind := CallResourceGroupsGet
		if r.Method == http.MethodPut {
			kind = CallResourceGroupsCreate
		}
		s.serveARMMethods(w, r, kind, []string{http.MethodGet, http.MethodHead, http.MethodPut}, func(w http.ResponseWriter, c *caller) {
			if r.Method == http.MethodPut {
				s.createResourceGroup(w, r, c, sub, segs[3])
				return
			}
			s.getResourceGroup(w, r, c, sub, segs[3])
		})
	case n == 3 && is(2, "resources"):
		s.serveARM(w, r, CallResourcesList, func(w http.ResponseWriter, c *caller) { s.listResources(w, r, c, sub, "") })
	case n == 5 && is(2, "resourcegroups") && is(4, "resources"):
		s.serveARM(w, r, CallResourcesListByGroup, func(w http.ResponseWriter, c *caller) { s.listResources(w, r, c, sub, segs[3]) })
	case n == 5 && is(2, "resourcegroups") && (is(4, "validateMoveResources") || is(4, "moveResources")):
		validate := is(4, "validateMoveResources")
		kind := CallMoveResources
		if validate {
			kind = CallValidateMoveResources
		}
		s.serveARMMethods(w, r, kind, []string{http.MethodPost}, func(w http.ResponseWriter, c *caller) { s.startMove(w, r, c, sub, segs[3], validate) })
	case n == 4 && is(2, "operationresults"):
		s.serveARM(w, r, CallMoveResourcesOperation, func(w http.ResponseWriter, c *caller) { s.pollOperation(w, r, c, sub, segs[3]) })
	default:
		return false
	}
	return true
}

func (s *Server) listResourceGroups(w http.ResponseWriter, r *http.Request, c *caller, sub string) {
	s.mu.Lock()
	info, ok := s.armAccess(w, r, c, "/subscriptions/"+sub, "Microsoft.Resources/subscriptions/resourceGroups/read", false)
	if !ok {
		s.mu.Unlock()
		return
	}
	s.refreshOperations()
	var items []map[string]any
	for _, g := range info.tenant.groups {
		if g.subscriptionID == info.subscriptionID {
			items = append(items, resourceGroupJSON(g))
		}
	}
	s.mu.Unlock()
	s.writePage(w, r, items)
}

func (s *Server) getResourceGroup(w http.ResponseWriter, r *http.Request, c *caller, sub, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	scope := "/subscriptions/" + sub + "/resourceGroups/" + name
	info, ok := s.armAccess(w, r, c, scope, "Microsoft.Resources/subscriptions/resourceGroups/read", false)
	if !ok {
		return
	}
	g := info.tenant.group(info.subscriptionID, name)
	if r.Method == http.MethodHead {
		if g == nil {
			w.WriteHeader(http.StatusNotFound)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	if g == nil {
		resourceGroupNotFound(w, name)
		return
	}
	writeJSON(w, http.StatusOK, resourceGroupJSON(g))
}

func (s *Server) createResourceGroup(w http.ResponseWriter, r *http.Request, c *caller, sub, name string) {
	var body struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
		return
	}
	if !resourceGroupNameRE.MatchString(name) || strings.HasSuffix(name, ".") {
		armError(w, http.StatusBadRequest, "InvalidResourceGroup", fmt.Sprintf("The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.", name, name))
		return
	}
	if body.Location == "" {
		armError(w, http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	scope := "/subscriptions/" + sub + "/resourceGroups/" + name
	info, ok := s.armAccess(w, r, c, scope, "Microsoft.Resources/subscriptions/resourceGroups/write", true)
	if !ok {
		return
	}
	s.refreshOperations()
	if g := info.tenant.group(info.subscriptionID, name); g != nil {
		if locked := s.moveLocked(g); len(locked) > 0 {
			scopeLocked(w, g.id(), locked)
			return
		}
		if !strings.EqualFold(strings.ReplaceAll(g.location, " ", ""), strings.ReplaceAll(body.Location, " ", "")) {
			armError(w, http.StatusConflict, "InvalidResourceGroupLocation", fmt.Sprintf("Invalid resource group location '%s'. The Resource group already exists in location '%s'.", body.Location, g.location))
			return
		}
		g.tags = body.Tags
		writeJSON(w, http.StatusOK, resourceGroupJSON(g))
		return
	}
	g := &rgState{subscriptionID: info.subscriptionID, name: name, location: strings.ToLower(strings.ReplaceAll(body.Location, " ", "")), tags: body.Tags}
	info.tenant.groups = append(info.tenant.groups, g)
	writeJSON(w, http.StatusCreated, resourceGroupJSON(g))
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request, c *caller, sub, group string) {
	s.mu.Lock()
	scope := "/subscriptions/" + sub
	if group != "" {
		scope += "/resourceGroups/" + group
	}
	info, ok := s.armAccess(w, r, c, scope, "Microsoft.Resources/subscriptions/resources/read", false)
	if !ok {
		s.mu.Unlock()
		return
	}
	s.refreshOperations()
	if group != "" && info.tenant.group(info.subscriptionID, group) == nil {
		s.mu.Unlock()
		resourceGroupNotFound(w, group)
		return
	}
	var items []map[string]any
	for _, g := range info.tenant.groups {
		if g.subscriptionID != info.subscriptionID || (group != "" && !strings.EqualFold(g.name, group)) {
			continue
		}
		for _, res := range g.resources {
			items = append(items, resourceJSON(g, res))
		}
	}
	s.mu.Unlock()
	s.writePage(w, r, items)
}

// parseGroupID reads "/subscriptions/{s}/resourceGroups/{rg}".
func parseGroupID(id string) (sub, group string, ok bool) {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) != 4 || !strings.EqualFold(segs[0], "subscriptions") || !strings.EqualFold(segs[2], "resourceGroups") {
		return "", "", false
	}
	if _, err := uuid.Parse(segs[1]); err != nil {
		return "", "", false
	}
	return segs[1], segs[3], true
}

// startMove serves validateMoveResources and moveResources.
func (s *Server) startMove(w http.ResponseWriter, r *http.Request, c *caller, sub, group string, validate bool) {
	var body struct {
		Resources           []string `json:"resources"`
		TargetResourceGroup string   `json:"targetResourceGroup"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
		return
	}
	if len(body.Resources) == 0 {
		armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid: the 'resources' list is empty.")
		return
	}
	targetSub, targetGroup, ok := parseGroupID(body.TargetResourceGroup)
	if !ok {
		armError(w, http.StatusBadRequest, "InvalidTargetResourceGroup", fmt.Sprintf("The target resource group '%s' is not a valid resource group id: use /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}.", body.TargetResourceGroup))
		return
	}
	action := "Microsoft.Resources/subscriptions/resourceGroups/moveResources/action"
	if validate {
		action = "Microsoft.Resources/subscriptions/resourceGroups/validateMoveResources/action"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sourceScope := "/subscriptions/" + sub + "/resourceGroups/" + group
	info, ok := s.armAccess(w, r, c, sourceScope, action, true)
	if !ok {
		return
	}
	s.refreshOperations()
	source := info.tenant.group(info.subscriptionID, group)
	if source == nil {
		resourceGroupNotFound(w, group)
		return
	}
	targetScope := canonicalScope("/subscriptions/" + targetSub + "/resourceGroups/" + targetGroup)
	tinfo, status, code, msg := s.resolveScope(targetScope)
	if status != 0 {
		armError(w, status, code, msg)
		return
	}
	// A target in another tenant is one where the caller holds no role.
	if tinfo.tenant != info.tenant || !s.holdsRoleAt(tinfo, c, writeRoles) {
		armError(w, http.StatusForbidden, "LinkedAuthorizationFailed", fmt.Sprintf("The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action 'Microsoft.Resources/subscriptions/resourceGroups/write' on the linked scope(s) '%s' or the linked scope(s) are invalid.", c.objectID, c.objectID, action, sourceScope, targetScope))
		return
	}
	target := tinfo.tenant.group(tinfo.subscriptionID, targetGroup)
	if target == nil {
		resourceGroupNotFound(w, targetGroup)
		return
	}
	if target == source {
		armError(w, http.StatusBadRequest, "InvalidResourceMoveRequest", "The source and target resource groups are the same. A move needs a different target resource group.")
		return
	}
	if locked := s.moveLocked(source, target); len(locked) > 0 {
		scopeLocked(w, source.id(), locked)
		return
	}
	for _, id := range body.Resources {
		if findResource(source, id) == nil {
			armError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", resourceTypeAndName(id), group))
			return
		}
	}
	op := &armOperation{
		id: operationToken(source.location), validate: validate, tenant: info.tenant,
		source: source, target: target, ids: body.Resources, started: s.now(), seq: len(s.operations),
	}
	if !validate {
		op.fail = s.takeMoveFailure()
	}
	s.operations[op.id] = op
	s.answerRunning(w, r, op)
}

// moveLocked returns those of groups that a running move (not a
// validation) locks, its source or its target. Call refreshOperations first,
// so that the operations whose time has come have ended. s.mu must be held.
func (s *Server) moveLocked(groups ...*rgState) []*rgState {
	var out []*rgState
	for _, g := range groups {
		for _, op := range s.operations {
			if !op.validate && !op.done && (op.source == g || op.target == g) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// scopeLocked refuses a write on scope because of the locked groups, in
// the shape Resource Manager gives a write on a locked scope.
func scopeLocked(w http.ResponseWriter, scope string, locked []*rgState) {
	ids := make([]string, len(locked))
	for i, g := range locked {
		ids[i] = g.id()
	}
	armError(w, http.StatusConflict, "ScopeLocked", fmt.Sprintf("The scope '%s' cannot perform write operation because following scope(s) are locked: '%s'. A move of resources locks its source and target resource groups until it completes; try again when the move operation has completed.",
		scope, strings.Join(ids, "', '")))
}

// findResource finds a resource of a group by its id (case-insensitive).
func findResource(g *rgState, id string) *resourceState {
	for _, r := range g.resources {
		if strings.EqualFold(g.resourceID(r), canonicalScope(id)) {
			return r
		}
	}
	return nil
}

// resourceTypeAndName is "{namespace}/{type}/{name}" of a resource id, as
// ResourceNotFound names it.
func resourceTypeAndName(id string) string {
	_, after, ok := strings.Cut(id, "/providers/")
	if !ok {
		return id
	}
	return after
}

// operationToken makes an operation id in the form Resource Manager's move
// jobs have: base64 of {"jobId": "ResourceGroupMoveJob-...", "jobLocation"}.
func operationToken(location string) string {
	job := fmt.Sprintf(`{"jobId":"ResourceGroupMoveJob-%s-%s","jobLocation":"%s"}`,
		strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", "")[:16]), strings.ToUpper(location), location)
	return base64.RawURLEncoding.EncodeToString([]byte(job))
}

func (s *Server) operationURL(r *http.Request, op *armOperation) string {
	return baseURL(r) + "/subscriptions/" + op.source.subscriptionID + "/operationresults/" + op.id + "?api-version=" + url.QueryEscape(movesAPIVersion)
}

func (s *Server) answerRunning(w http.ResponseWriter, r *http.Request, op *armOperation) {
	w.Header().Set("Location", s.operationURL(r, op))
	w.Header().Set("Retry-After", strconv.Itoa(int(s.opRetryAfter/time.Second)))
	w.WriteHeader(http.StatusAccepted)
}

// pollOperation serves GET /subscriptions/{s}/operationresults/{id}.
func (s *Server) pollOperation(w http.ResponseWriter, r *http.Request, c *caller, sub, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.operations[id]
	if op == nil || !strings.EqualFold(op.source.subscriptionID, sub) {
		armError(w, http.StatusNotFound, "OperationNotFound", fmt.Sprintf("The operation '%s' could not be found.", id))
		return
	}
	if !strings.EqualFold(op.tenant.ID, c.tenantID) {
		armError(w, http.StatusForbidden, "AuthorizationFailed", actionFailed(c, "Microsoft.Resources/subscriptions/operationresults/read", "/subscriptions/"+sub))
		return
	}
	op.polls++
	s.refreshOperations()
	if !op.done {
		s.answerRunning(w, r, op)
		return
	}
	if op.status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, op.status, op.body)
}

// refreshOperations ends the operations whose time has come: after
// OperationPolls polls, or OperationPolls Retry-After periods on the clock.
// s.mu must be held.
func (s *Server) refreshOperations() {
	now := s.now()
	ids := make([]string, 0, len(s.operations))
	for id := range s.operations {
		ids = append(ids, id)
	}
	// Oldest first, so that moves of the same resources end in order.
	sort.Slice(ids, func(i, j int) bool { return s.operations[ids[i]].started.Before(s.operations[ids[j]].started) })
	for _, id := range ids {
		op := s.operations[id]
		if op.done {
			continue
		}
		if op.polls < s.opPolls && now.Before(op.started.Add(time.Duration(s.opPolls)*s.opRetryAfter)) {
			continue
		}
		s.finishOperation(op)
	}
}

// finishOperation decides an operation's outcome and, for a move that
// succeeds, moves the resources. s.mu must be held.
func (s *Server) finishOperation(op *armOperation) {
	op.done = true
	var moving []*resourceState
	var details []any
	for _, id := range op.ids {
		res := findResource(op.source, id)
		if res == nil {
			op.status = http.StatusNotFound
			op.body = map[string]any{"error": map[string]any{"code": "ResourceNotFound", "message": fmt.Sprintf("The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", resourceTypeAndName(id), op.source.name)}}
			return
		}
		if res.moveError != nil {
			details = append(details, map[string]any{"code": res.moveError.Code, "target": op.source.resourceID(res), "message": res.moveError.Message})
			continue
		}
		moving = append(moving, res)
	}
	if len(details) > 0 {
		op.status = http.StatusConflict
		op.body = map[string]any{"error": map[string]any{
			"code": "ResourceMoveValidationFailed",
			"message": fmt.Sprintf("The resource batch move request has '%d' validation errors. Diagnostic information: timestamp '%s', tracking Id '%s', request correlation Id '%s'.",
				len(details), s.now().UTC().Format("20060102T150405Z"), uuid.NewString(), uuid.NewString()),
			"details": details,
		}}
		return
	}
	if op.fail != nil && !op.validate {
		s.failMove(op, moving)
		return
	}
	op.status = http.StatusNoContent
	if op.validate {
		return
	}
	op.moveResources(moving)
}

// moveResources moves resources of the operation's source group into its
// target group. s.mu must be held.
func (op *armOperation) moveResources(moving []*resourceState) {
	for _, res := range moving {
		for i, r := range op.source.resources {
			if r == res {
				op.source.resources = append(op.source.resources[:i], op.source.resources[i+1:]...)
				break
			}
		}
		op.target.resources = append(op.target.resources, res)
	}
}

// failMove ends a validated move that fails half-way (a 409 fault of
// moveResources.operation), as Resource Manager documents it: the move is
// not all or nothing. Its FAQ on moving resources ("Why is my resource
// group locked for four hours during resource move?"): "If a resource
// can't be moved within four hours, Resource Manager unlocks both resource
// groups. Resources that were successfully moved are in the destination
// resource group. Resources that failed to move are left the source
// resource group." The operation then ends 409 Conflict with the error
// body; ResourceMoveTimedOut with Microsoft's message ("Moving resources
// did not finish within allowed time '04:00:00'. Provisioning state of the
// resource groups will be rolled back.": the groups' provisioning state,
// not the resources, whose troubleshooting page says "Even after a timeout
// error, the underlying resources might move successfully" and to look in
// both groups), or ResourceMoveFailed, which Microsoft's troubleshooting
// gives even when every provider moved its resources ("All move in
// provider succeeded. However, the batch move job failed. The correlation
// id is '…'."). The first fail.Moved resources move; the others stay in
// the source, each named in a detail. The locks end with the operation.
// s.mu must be held.
func (s *Server) failMove(op *armOperation, moving []*resourceState) {
	n := min(op.fail.Moved, len(moving))
	op.moveResources(moving[:n])
	for _, id := range op.ids[:n] {
		op.moved = append(op.moved, id)
	}
	correlation := uuid.NewString()
	details := []any{}
	for _, res := range moving[n:] {
		details = append(details, map[string]any{
			"code":    op.fail.Code,
			"target":  op.source.resourceID(res),
			"message": fmt.Sprintf("The resource '%s/%s' was not moved: the move did not complete and the resource stays in resource group '%s' (fault injected by the local Microsoft double).", res.typ, res.name, op.source.name),
		})
	}
	var msg string
	switch {
	case op.fail.Code == CodeResourceMoveTimedOut:
		msg = "Moving resources did not finish within allowed time '04:00:00'. Provisioning state of the resource groups will be rolled back."
	case n == len(moving):
		msg = fmt.Sprintf("All move in provider succeeded. However, the batch move job failed. The correlation id is '%s'.", correlation)
	default:
		msg = fmt.Sprintf("The batch move job failed: %d of the %d resources were not moved. Resources that were moved are in the target resource group; resources that failed to move are left in the source resource group. The correlation id is '%s'.", len(moving)-n, len(moving), correlation)
	}
	op.status = http.StatusConflict
	op.body = map[string]any{"error": map[string]any{"code": op.fail.Code, "message": msg, "details": details}}
}

// ResourceGroupState describes a resource group and its resources (with
// their current ids) for GET /_control/state.
type ResourceGroupState struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Location  string          `json:"location"`
	Resources []ResourceState `json:"resources"`
}

// ResourceState describes a resource.
type ResourceState struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Type      string     `json:"type"`
	MoveError *ErrorInfo `json:"moveError,omitempty"`
}

// OperationState describes a move's long-running operation.
type OperationState struct {
	ID                  string   `json:"id"`
	Kind                string   `json:"kind"` // validateMoveResources or moveResources
	SourceResourceGroup string   `json:"sourceResourceGroup"`
	TargetResourceGroup string   `json:"targetResourceGroup"`
	Resources           []string `json:"resources"`
	Polls               int      `json:"polls"`
	Status              string   `json:"status"` // Running, Succeeded, Failed
	HTTPStatus          int      `json:"httpStatus,omitempty"`
	Error               any      `json:"error,omitempty"`
	// Moved are the resources (as requested) a failed move moved before it
	// failed (a 409 fault of moveResources.operation).
	Moved []string `json:"moved,omitempty"`
}

// groupsState lists a subscription's resource groups. s.mu must be held.
func groupsState(t *tenantState, subscriptionID string) []ResourceGroupState {
	out := []ResourceGroupState{}
	for _, g := range t.groups {
		if !strings.EqualFold(g.subscriptionID, subscriptionID) {
			continue
		}
		gs := ResourceGroupState{ID: g.id(), Name: g.name, Location: g.location, Resources: []ResourceState{}}
		for _, r := range g.resources {
			gs.Resources = append(gs.Resources, ResourceState{ID: g.resourceID(r), Name: r.name, Type: r.typ, MoveError: r.moveError})
		}
		out = append(out, gs)
	}
	return out
}

// operationsState lists the move operations, oldest first. s.mu must be held.
func (s *Server) operationsState() []OperationState {
	out := []OperationState{}
	var ops []*armOperation
	for _, op := range s.operations {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if !ops[i].started.Equal(ops[j].started) {
			return ops[i].started.Before(ops[j].started)
		}
		return ops[i].seq < ops[j].seq
	})
	for _, op := range ops {
		st := OperationState{ID: op.id, Kind: "moveResources", SourceResourceGroup: op.source.id(), TargetResourceGroup: op.target.id(),
			Resources: append([]string{}, op.ids...), Polls: op.polls, Status: "Running", Moved: op.moved}
		if op.validate {
			st.Kind = "validateMoveResources"
		}
		if op.done {
			st.HTTPStatus = op.status
			st.Status = "Succeeded"
			if op.status != http.StatusNoContent {
				st.Status, st.Error = "Failed", op.body["error"]
			}
		}
		out = append(out, st)
	}
	return out
}
