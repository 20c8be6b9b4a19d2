// Package gdap is a client of Microsoft Graph's granular delegated admin
// privileges (v1.0 tenantRelationships/delegatedAdminRelationships): the
// admin relationship the partner asks a customer for, its lock for
// approval, its status, and the access assignments that give the partner's
// security group its roles once the customer approved.
//
// It is hand-written REST on azcore's pipeline (shared/msrest), with an
// app-only token of the partner's application in the partner tenant for
// https://graph.microsoft.com/.default: Microsoft's generated Graph SDK
// would more than double a function's size and cold start.
//
// Every call that creates something first looks for what an earlier call
// (a retry whose reply was lost, a task that ran twice) may have created,
// and looks again when the creation is refused: a relationship by its
// display name (unique per partner), an access assignment by its security
// group. So nothing is ever created twice.
package gdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/msrest"
)

// DefaultEndpoint is Microsoft Graph; GRAPH_ENDPOINT overrides it.
const DefaultEndpoint = "https://graph.microsoft.com"

// Scope is the token scope of Microsoft Graph.
const Scope = "https://graph.microsoft.com/.default"

const relationshipsPath = "/v1.0/tenantRelationships/delegatedAdminRelationships"

// Errors callers tell apart (with errors.Is); neutral codes the workflow
// adapter names for the state machine.
var (
	// ErrPending: the relationship awaits the customer's approval or
	// Microsoft's provisioning, or an access assignment is not active yet.
	ErrPending = apperr.New(apperr.RelationshipPending, "The admin relationship is waiting for the customer's approval.")
	// ErrExpired: the relationship (or its unapproved request) expired.
	ErrExpired = apperr.New(apperr.RelationshipExpired, "The admin relationship expired before it was approved or renewed.")
	// ErrTerminated: the relationship was terminated (by the customer, the
	// partner or Microsoft).
	ErrTerminated = apperr.New(apperr.RelationshipTerminated, "The admin relationship was terminated.")
	// ErrRejected: Graph refused the request for good (a 4xx other than 429).
	ErrRejected = apperr.New(apperr.RelationshipRejected, "Microsoft Graph refused the admin relationship request.")
	// ErrUnavailable: Graph throttled or failed beyond the retries, or was
	// not reached; worth retrying later.
	ErrUnavailable = apperr.New(apperr.Unavailable, "Microsoft Graph is unavailable.")
	// ErrNotFound: no relationship (or assignment) with that id.
	ErrNotFound = apperr.New(apperr.NotFound, "The admin relationship does not exist.")
)

// Relationship statuses (delegatedAdminRelationshipStatus).
const (
	StatusCreated              = "created"
	StatusApprovalPending      = "approvalPending"
	StatusApproved             = "approved"
	StatusActivating           = "activating"
	StatusActive               = "active"
	StatusExpiring             = "expiring"
	StatusExpired              = "expired"
	StatusTerminationRequested = "terminationRequested"
	StatusTerminating          = "terminating"
	StatusTerminated           = "terminated"
)

// Access assignment statuses (delegatedAdminAccessAssignmentStatus).
const (
	AssignmentPending  = "pending"
	AssignmentActive   = "active"
	AssignmentDeleting = "deleting"
	AssignmentDeleted  = "deleted"
	AssignmentError    = "error"
)

// Client calls Microsoft Graph.
type Client struct {
	// Credential is the partner app's credential in the partner tenant.
	Credential azcore.TokenCredential
	// Endpoint is Graph's base URL; default DefaultEndpoint.
	Endpoint string
	// Config is the relationship asked for (roles, duration, auto-extend).
	Config Config
	// HTTP sends the requests; default azcore's HTTP client.
	HTTP policy.Transporter
	// MaxRetries, MaxRetryAfter and Sleep bound and make the waits
	// between attempts (msrest.Options); defaults 4, 30 s, a timer.
	MaxRetries    int
	MaxRetryAfter time.Duration
	Sleep         func(ctx context.Context, d time.Duration) error

	once     sync.Once
	pipeline *msrest.Client
}

// FromEnv makes a client for the partner's own tenant: PARTNER_TENANT_ID,
// GRAPH_ENDPOINT (default DefaultEndpoint, an absolute https URL) and the
// relationship configuration (ConfigFromEnv), with cred, the partner app's
// credential in that tenant. Problems are recorded in env.
func FromEnv(env *config.Env, cred azcore.TokenCredential) *Client {
	endpoint := env.Check("GRAPH_ENDPOINT", DefaultEndpoint, func(v string) string {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
			return "must be an absolute https URL"
		}
		return ""
	})
	return &Client{Credential: cred, Endpoint: endpoint, Config: ConfigFromEnv(env), HTTP: &http.Client{Timeout: 20 * time.Second}}
}

// Relationship is a delegated admin relationship as Graph reports it.
type Relationship struct {
	ID          string
	DisplayName string
	Status      string
	// CustomerTenantID is set when the partner named the customer, or once
	// the customer approved.
	CustomerTenantID string
	Duration         string
	AutoExtend       string
	Roles            []string
	CreatedAt        time.Time
	// ActivatedAt and EndAt are zero until the relationship is active.
	ActivatedAt time.Time
	EndAt       time.Time
}

// Err is the neutral meaning of the relationship's status: nil when it is
// active; ErrPending while it waits (created, approvalPending, approved,
// activating, or a status Graph adds later); ErrExpired (expiring,
// expired); ErrTerminated (terminationRequested, terminating, terminated).
func (r Relationship) Err() error {
	switch r.Status {
	case StatusActive:
		return nil
	case StatusExpiring, StatusExpired:
		return ErrExpired
	case StatusTerminationRequested, StatusTerminating, StatusTerminated:
		return ErrTerminated
	default:
		return ErrPending
	}
}

// Request is the relationship Ensure asks for; the roles, duration and
// auto-extend are the client's Config.
type Request struct {
	// DisplayName identifies the relationship (DisplayName(providerID)).
	DisplayName string
	// CustomerTenantID optionally ties the request to the customer's tenant
	// (only that tenant can then approve it).
	CustomerTenantID string
	// CustomerName optionally names the customer on the request.
	CustomerName string
}

// Ensure returns the relationship named req.DisplayName, creating it only
// when the partner has none by that name. A creation refused because the
// name is taken (an earlier attempt's creation whose reply was lost) is
// answered with the relationship found by a second look.
func (c *Client) Ensure(ctx context.Context, req Request) (Relationship, error) {
	if req.DisplayName == "" || len(req.DisplayName) > MaxDisplayName {
		return Relationship{}, fmt.Errorf("%w: display name %q", ErrRejected, req.DisplayName)
	}
	if err := c.Config.Validate(); err != nil {
		return Relationship{}, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if r, ok, err := c.find(ctx, req.DisplayName); err != nil || ok {
		return r, err
	}
	body := map[string]any{
		"displayName":        req.DisplayName,
		"duration":           c.Config.Duration,
		"autoExtendDuration": c.Config.AutoExtend,
		"accessDetails":      accessDetails(c.Config.Roles),
	}
	if req.CustomerTenantID != "" {
		customer := map[string]string{"tenantId": req.CustomerTenantID}
		if req.CustomerName != "" {
			customer["displayName"] = req.CustomerName
		}
		body["customer"] = customer
	}
	var out wireRelationship
	createErr := c.do(ctx, requestIDs(), http.MethodPost, relationshipsPath, body, &out)
	if createErr == nil {
		return out.relationship(), nil
	}
	// Refused (the name is taken) or no answer at all: the creation may
	// have happened. Look again before reporting the error.
	if r, ok, err := c.find(ctx, req.DisplayName); err == nil && ok {
		return r, nil
	}
	return Relationship{}, createErr
}

// find looks up the partner's relationship by display name. Graph's
// $filter is exact; the names are compared again here, and a relationship
// still in force is preferred to an ended one of the same name.
func (c *Client) find(ctx context.Context, name string) (Relationship, bool, error) {
	q := url.Values{"$filter": {"displayName eq " + odataString(name)}}
	var found []Relationship
	err := c.list(ctx, relationshipsPath+"?"+q.Encode(), func(raw json.RawMessage) error {
		var w wireRelationship
		if err := json.Unmarshal(raw, &w); err != nil {
			return err
		}
		if w.DisplayName == name {
			found = append(found, w.relationship())
		}
		return nil
	})
	if err != nil || len(found) == 0 {
		return Relationship{}, false, err
	}
	for _, r := range found {
		if !errors.Is(r.Err(), ErrExpired) && !errors.Is(r.Err(), ErrTerminated) {
			return r, true, nil
		}
	}
	return found[0], true, nil
}

// odataString quotes s as an OData string literal: in single quotes, each
// single quote doubled.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Get reads the relationship (GET …/delegatedAdminRelationships/{id}); an
// unknown id is ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (Relationship, error) {
	var out wireRelationship
	if err := c.do(ctx, requestIDs(), http.MethodGet, relationshipsPath+"/"+url.PathEscape(id), nil, &out); err != nil {
		return Relationship{}, err
	}
	return out.relationship(), nil
}

// Lock locks the relationship for approval (POST …/{id}/requests
// {"action":"lockForApproval"}) when it is still created. One already
// locked, approved or active is success; one expired or terminated is
// ErrExpired or ErrTerminated. A refused lock is looked at again: a retry
// of a lock whose reply was lost is refused because the first one worked.
func (c *Client) Lock(ctx context.Context, id string) error {
	r, err := c.Get(ctx, id)
	if err != nil {
		return err
	}
	if r.Status != StatusCreated {
		return lockedErr(r)
	}
	lockErr := c.do(ctx, requestIDs(), http.MethodPost, relationshipsPath+"/"+url.PathEscape(id)+"/requests", map[string]string{"action": "lockForApproval"}, nil)
	if lockErr == nil {
		return nil
	}
	if r, err := c.Get(ctx, id); err == nil && r.Status != StatusCreated {
		return lockedErr(r)
	}
	return lockErr
}

// lockedErr is the result of locking r, which is past created.
func lockedErr(r Relationship) error {
	if err := r.Err(); errors.Is(err, ErrExpired) || errors.Is(err, ErrTerminated) {
		return err
	}
	return nil
}

// AccessAssignment is a delegatedAdminAccessAssignment: a partner security
// group given roles in the customer's tenant.
type AccessAssignment struct {
	ID        string
	GroupID   string
	Roles     []string
	Status    string
	CreatedAt time.Time
}

// Err is the neutral meaning of the assignment's status: nil when active,
// ErrPending while pending, ErrRejected when Graph reports an error or the
// assignment is being deleted or is deleted.
func (a AccessAssignment) Err() error {
	switch a.Status {
	case AssignmentActive:
		return nil
	case AssignmentError, AssignmentDeleting, AssignmentDeleted:
		return fmt.Errorf("%w: access assignment %s is %s", ErrRejected, a.ID, a.Status)
	default:
		return ErrPending
	}
}

// AccessAssignments lists the relationship's access assignments
// (GET …/{id}/accessAssignments, every page).
func (c *Client) AccessAssignments(ctx context.Context, relationshipID string) ([]AccessAssignment, error) {
	var out []AccessAssignment
	err := c.list(ctx, relationshipsPath+"/"+url.PathEscape(relationshipID)+"/accessAssignments", func(raw json.RawMessage) error {
		var w wireAssignment
		if err := json.Unmarshal(raw, &w); err != nil {
			return err
		}
		out = append(out, w.assignment())
		return nil
	})
	return out, err
}

// EnsureAccessAssignment returns the relationship's access assignment for
// groupID, creating it with roles (POST …/{id}/accessAssignments) only when
// the group has none that is in force (pending or active). The relationship
// must be active. A refused creation is looked at again, as in Ensure.
func (c *Client) EnsureAccessAssignment(ctx context.Context, relationshipID, groupID string, roles []string) (AccessAssignment, error) {
	if a, ok, err := c.findAssignment(ctx, relationshipID, groupID); err != nil || ok {
		return a, err
	}
	body := map[string]any{
		"accessContainer": map[string]string{"accessContainerId": groupID, "accessContainerType": "securityGroup"},
		"accessDetails":   accessDetails(roles),
	}
	var out wireAssignment
	createErr := c.do(ctx, requestIDs(), http.MethodPost, relationshipsPath+"/"+url.PathEscape(relationshipID)+"/accessAssignments", body, &out)
	if createErr == nil {
		return out.assignment(), nil
	}
	if a, ok, err := c.findAssignment(ctx, relationshipID, groupID); err == nil && ok {
		return a, nil
	}
	return AccessAssignment{}, createErr
}

func (c *Client) findAssignment(ctx context.Context, relationshipID, groupID string) (AccessAssignment, bool, error) {
	all, err := c.AccessAssignments(ctx, relationshipID)
	if err != nil {
		return AccessAssignment{}, false, err
	}
	for _, a := range all {
		if strings.EqualFold(a.GroupID, groupID) && (a.Status == AssignmentPending || a.Status == AssignmentActive) {
			return a, true, nil
		}
	}
	return AccessAssignment{}, false, nil
}

func accessDetails(roles []string) map[string]any {
	unified := make([]map[string]string, 0, len(roles))
	for _, r := range roles {
		unified = append(unified, map[string]string{"roleDefinitionId": r})
	}
	return map[string]any{"unifiedRoles": unified}
}

// wireRelationship is Graph's delegatedAdminRelationship. Its times are
// strings: Graph answers "" or null for a time not reached yet.
type wireRelationship struct {
	ID                 string `json:"id"`
	DisplayName        string `json:"displayName"`
	Status             string `json:"status"`
	Duration           string `json:"duration"`
	AutoExtendDuration string `json:"autoExtendDuration"`
	Customer           struct {
		TenantID string `json:"tenantId"`
	} `json:"customer"`
	AccessDetails     wireAccessDetails `json:"accessDetails"`
	CreatedDateTime   *string           `json:"createdDateTime"`
	ActivatedDateTime *string           `json:"activatedDateTime"`
	EndDateTime       *string           `json:"endDateTime"`
}

type wireAccessDetails struct {
	UnifiedRoles []struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
	} `json:"unifiedRoles"`
}

func (d wireAccessDetails) roles() []string {
	out := make([]string, 0, len(d.UnifiedRoles))
	for _, r := range d.UnifiedRoles {
		out = append(out, r.RoleDefinitionID)
	}
	return out
}

func (w wireRelationship) relationship() Relationship {
	return Relationship{
		ID: w.ID, DisplayName: w.DisplayName, Status: w.Status,
		CustomerTenantID: w.Customer.TenantID,
		Duration:         w.Duration, AutoExtend: w.AutoExtendDuration,
		Roles:     w.AccessDetails.roles(),
		CreatedAt: parseTime(w.CreatedDateTime), ActivatedAt: parseTime(w.ActivatedDateTime), EndAt: parseTime(w.EndDateTime),
	}
}

type wireAssignment struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	AccessContainer struct {
		ID   string `json:"accessContainerId"`
		Type string `json:"accessContainerType"`
	} `json:"accessContainer"`
	AccessDetails   wireAccessDetails `json:"accessDetails"`
	CreatedDateTime *string           `json:"createdDateTime"`
}

func (w wireAssignment) assignment() AccessAssignment {
	return AccessAssignment{ID: w.ID, GroupID: w.AccessContainer.ID, Roles: w.AccessDetails.roles(), Status: w.Status, CreatedAt: parseTime(w.CreatedDateTime)}
}

// parseTime reads a Graph DateTimeOffset; empty, null or unreadable is zero.
func parseTime(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// maxPages bounds a listing; the partner's relationships of one display
// name, or one relationship's assignments, fit in one page.
const maxPages = 20

// list reads a collection ({"value": [...], "@odata.nextLink": …}) page by
// page, calling each for every item.
func (c *Client) list(ctx context.Context, path string, each func(json.RawMessage) error) error {
	for page := 0; path != ""; page++ {
		if page == maxPages {
			return fmt.Errorf("%w: more than %d pages at %s", ErrUnavailable, maxPages, pathOnly(path))
		}
		var out struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, requestIDs(), http.MethodGet, path, nil, &out); err != nil {
			return err
		}
		for _, v := range out.Value {
			if err := each(v); err != nil {
				return fmt.Errorf("%w: malformed item: %v", ErrUnavailable, err)
			}
		}
		path = out.NextLink
	}
	return nil
}

func pathOnly(p string) string {
	before, _, _ := strings.Cut(p, "?")
	return before
}

// Error is an error answer of Graph ({"error": {"code", "message"}}).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph: HTTP %d: %s %s", e.Status, e.Code, e.Message)
}

// Unwrap classifies the error: ErrUnavailable for 429 and 5xx, ErrNotFound
// for 404, else ErrRejected.
func (e *Error) Unwrap() error {
	switch {
	case msrest.Retryable(e.Status):
		return ErrUnavailable
	case e.Status == http.StatusNotFound:
		return ErrNotFound
	default:
		return ErrRejected
	}
}

// requestIDs is the client-request-id every attempt of one call carries
// (Graph echoes it, for a support case). It is random per call: Graph has
// no idempotency by request id; the look-before-create stands for it.
func requestIDs() map[string]string {
	return map[string]string{"client-request-id": uuid.NewString()}
}

// do sends a call and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, ids map[string]string, method, path string, in, out any) error {
	resp, err := c.rest().Do(ctx, msrest.Call{Method: method, Path: path, Body: in, Headers: ids})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !resp.OK() {
		ge := &Error{Status: resp.Status}
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(resp.Body, &e) == nil {
			ge.Code, ge.Message = e.Error.Code, e.Error.Message
		}
		return ge
	}
	if err := resp.Decode(out); err != nil {
		return fmt.Errorf("%w: malformed answer: %v", ErrUnavailable, err)
	}
	return nil
}

func (c *Client) rest() *msrest.Client {
	c.once.Do(func() {
		endpoint := c.Endpoint
		if endpoint == "" {
			endpoint = DefaultEndpoint
		}
		c.pipeline = msrest.New(msrest.Options{
			Service:       "graph",
			Credential:    c.Credential,
			Scope:         Scope,
			Endpoint:      endpoint,
			Transport:     c.HTTP,
			MaxRetries:    c.MaxRetries,
			MaxRetryAfter: c.MaxRetryAfter,
			Sleep:         c.Sleep,
		})
	})
	return c.pipeline
}

// HasRoles reports whether have holds every role of want.
func HasRoles(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}
