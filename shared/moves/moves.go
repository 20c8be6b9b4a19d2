// Package moves moves a customer's resources, resource group by resource
// group, from a subscription the partner cannot bill (pay-as-you-go,
// MCA-individual) to the customer's Azure plan subscription under the
// partner, in the same tenant: Microsoft's only path for those agreements.
//
// It works in the customer's tenant with the partner application's
// credential (azidentity, as shared/ownership makes it) through the Azure
// SDK's armresources clients: it lists what there is, makes the target
// resource group, asks Resource Manager which resources can move
// (validateMoveResources) and moves them (moveResources). Both are
// long-running operations: 202 Accepted with a Location to poll and a
// Retry-After, then 204 No Content when done, or an error (409 Conflict
// with the resources that cannot move and why). A move outlives a function
// invocation, so Move hands back the poller's resume token and Follow
// resumes it later; Locate tells where the resources are now, so that a
// retried or crashed step never moves anything twice, and so that a move
// that ended failed is read rather than assumed: Resource Manager
// documents that one may have moved part of its resources (those moved are
// in the target, the others left in the source).
//
// Errors are neutral (apperr codes): the tenant's trust withdrawn is
// ownership.ErrConsentRevoked, Azure throttling or failing beyond the
// pipeline's retries (429 and 5xx honour Retry-After) is
// ownership.ErrUnavailable, a missing write access is ErrNoAccess.
package moves

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/ownership"
)

// Errors of the adapter besides ownership.ErrConsentRevoked and
// ownership.ErrUnavailable; test for them with errors.Is.
var (
	// ErrNoAccess: Resource Manager refused the partner principal (403):
	// it lacks Owner (or Contributor) on the source or target subscription.
	ErrNoAccess = apperr.New(apperr.OwnershipPending, "The partner may not move these resources: it needs Owner on both the source and the target subscription.")
	// ErrNotFound: the subscription or resource group is not there (or not
	// visible to the partner).
	ErrNotFound = apperr.New(apperr.NotFound, "The subscription or resource group was not found.")
	// ErrRejected: Resource Manager refused the request for good (an
	// invalid move request); the details carry Microsoft's code and message.
	ErrRejected = apperr.New(apperr.Rejected, "Azure Resource Manager refused the request.")
)

// Defaults of Azure.
const (
	DefaultPollWait    = 15 * time.Second // when an answer names no Retry-After
	DefaultMaxPollWait = 60 * time.Second
	DefaultMaxPolls    = 60
	DefaultMaxRounds   = 4
)

// Azure moves resources through Azure Resource Manager. Safe for concurrent
// use; it holds one credential per tenant (azidentity caches its tokens)
// and builds clients per call, which costs nothing but a struct.
type Azure struct {
	// NewCredential makes the partner application's credential in a
	// customer tenant.
	NewCredential ownership.CredentialFactory
	// Options carry the Resource Manager endpoint, the retries (429 and
	// 5xx, honouring Retry-After) and the transport.
	Options arm.ClientOptions
	// Sleep waits between the polls of a validation; default a timer that
	// stops with the context (tests record the waits instead).
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxPollWait caps one wait between polls; default DefaultMaxPollWait.
	MaxPollWait time.Duration
	// MaxPolls bounds the polls of one validation; default DefaultMaxPolls.
	MaxPolls int
	// MaxRounds bounds the validations of one report (each round drops
	// the resources the previous one found unmovable); default
	// DefaultMaxRounds.
	MaxRounds int

	mu    sync.Mutex
	creds map[string]azcore.TokenCredential
}

// FromPartner is the adapter with the partner application's credentials
// and Resource Manager settings (AZURE_RESOURCE_MANAGER_ENDPOINT); it
// reads nothing until the first call.
func FromPartner(p *ownership.Partner) *Azure {
	return &Azure{NewCredential: p.NewCredential, Options: p.Settings.ARMOptions(nil)}
}

// maxTenants bounds the credential cache; past it, the cache starts over.
const maxTenants = 64

func (a *Azure) credential(tenantID string) (azcore.TokenCredential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.creds[tenantID]; ok {
		return c, nil
	}
	c, err := a.NewCredential(tenantID)
	if err != nil {
		return nil, fmt.Errorf("%w: credential for the tenant: %v", ownership.ErrUnavailable, err)
	}
	if a.creds == nil || len(a.creds) >= maxTenants {
		a.creds = map[string]azcore.TokenCredential{}
	}
	a.creds[tenantID] = c
	return c, nil
}

// options are a.Options with the policy that records each answer's
// Retry-After for the call's context.
func (a *Azure) options() *arm.ClientOptions {
	o := a.Options
	o.PerCallPolicies = append(append([]policy.Policy(nil), o.PerCallPolicies...), retryAfterPolicy{})
	return &o
}

func (a *Azure) resources(tenantID, subscriptionID string) (*armresources.Client, error) {
	cred, err := a.credential(tenantID)
	if err != nil {
		return nil, err
	}
	return armresources.NewClient(subscriptionID, cred, a.options())
}

func (a *Azure) groups(tenantID, subscriptionID string) (*armresources.ResourceGroupsClient, error) {
	cred, err := a.credential(tenantID)
	if err != nil {
		return nil, err
	}
	return armresources.NewResourceGroupsClient(subscriptionID, cred, a.options())
}

// Resource is one resource of a resource group.
type Resource struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Location string `json:"location,omitempty"`
}

// Group is a resource group and its resources.
type Group struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	// ManagedBy is set on a group another resource manages (a cluster's
	// node group): it moves with that resource, never on its own.
	ManagedBy string     `json:"managedBy,omitempty"`
	Resources []Resource `json:"resources"`
}

// Inventory lists the subscription's resource groups and their resources.
func (a *Azure) Inventory(ctx context.Context, tenantID, subscriptionID string) ([]Group, error) {
	gc, err := a.groups(tenantID, subscriptionID)
	if err != nil {
		return nil, err
	}
	var out []Group
	pager := gc.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(err, "list resource groups")
		}
		for _, g := range page.Value {
			if g == nil || g.Name == nil {
				continue
			}
			out = append(out, Group{ID: str(g.ID), Name: *g.Name, Location: str(g.Location), ManagedBy: str(g.ManagedBy)})
		}
	}
	for i := range out {
		res, err := a.list(ctx, tenantID, subscriptionID, out[i].Name)
		if err != nil {
			return nil, err
		}
		out[i].Resources = res
	}
	return out, nil
}

// list lists a resource group's resources; ErrNotFound when the group is
// not there.
func (a *Azure) list(ctx context.Context, tenantID, subscriptionID, group string) ([]Resource, error) {
	rc, err := a.resources(tenantID, subscriptionID)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	pager := rc.NewListByResourceGroupPager(group, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(err, "list the resources of a resource group")
		}
		for _, r := range page.Value {
			if r == nil || r.ID == nil {
				continue
			}
			out = append(out, Resource{ID: *r.ID, Name: str(r.Name), Type: str(r.Type), Location: str(r.Location)})
		}
	}
	return out, nil
}

// EnsureGroup returns the id of the resource group named group in the
// target subscription, creating it in the source group's location, with its
// tags, when there is none (an idempotent PUT by name). An existing target
// group is used as it is.
func (a *Azure) EnsureGroup(ctx context.Context, tenantID, sourceSubscription, group, targetSubscription string) (string, error) {
	tc, err := a.groups(tenantID, targetSubscription)
	if err != nil {
		return "", err
	}
	got, err := tc.Get(ctx, group, nil)
	if err == nil {
		return str(got.ID), nil
	}
	if !errors.Is(classify(err, ""), ErrNotFound) {
		return "", classify(err, "read the target resource group")
	}
	sc, err := a.groups(tenantID, sourceSubscription)
	if err != nil {
		return "", err
	}
	src, err := sc.Get(ctx, group, nil)
	if err != nil {
		return "", classify(err, "read the source resource group")
	}
	created, err := tc.CreateOrUpdate(ctx, group, armresources.ResourceGroup{Location: src.Location, Tags: src.Tags}, nil)
	if err != nil {
		return "", classify(err, "create the target resource group")
	}
	return str(created.ID), nil
}

// Blocked is a resource that cannot move, with Microsoft's reason.
type Blocked struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Report is what a validation found for one resource group: the resources
// that move and those that cannot. Moving changes every moved resource's
// id (its subscription part).
type Report struct {
	Moves   []string  `json:"moves"`
	Blocked []Blocked `json:"blocked"`
	// Confirmed: Resource Manager validated Moves as one move (204). False
	// when Moves is empty, or the rounds ran out before a clean validation.
	Confirmed bool `json:"confirmed"`
}

// Validate asks Resource Manager whether resourceIDs (all in the source
// subscription's group) can move to the target group (its full id), and
// waits for the answer, honouring Retry-After between polls. Validation is
// all or nothing: when it fails, the resources named in Microsoft's error
// are blocked with its code and message, and the rest are validated again,
// up to MaxRounds times, so that Moves is a set Microsoft accepted. When
// the error names no resource, every resource is blocked with it.
func (a *Azure) Validate(ctx context.Context, tenantID, sourceSubscription, group string, resourceIDs []string, targetGroupID string) (Report, error) {
	rc, err := a.resources(tenantID, sourceSubscription)
	if err != nil {
		return Report{}, err
	}
	rounds := a.MaxRounds
	if rounds <= 0 {
		rounds = DefaultMaxRounds
	}
	rep := Report{Blocked: []Blocked{}}
	remaining := append([]string(nil), resourceIDs...)
	for round := 0; round < rounds && len(remaining) > 0; round++ {
		fail, err := a.validateOnce(ctx, rc, group, remaining, targetGroupID)
		if err != nil {
			return Report{}, err
		}
		if fail == nil {
			rep.Moves, rep.Confirmed = remaining, true
			return rep, nil
		}
		blocked := BlockedBy(*fail, remaining)
		rep.Blocked = append(rep.Blocked, blocked...)
		remaining = without(remaining, blocked)
	}
	rep.Moves = remaining
	if rep.Moves == nil {
		rep.Moves = []string{}
	}
	return rep, nil
}

// validateOnce runs one validation to its end: nil when it succeeded, the
// error Microsoft answered when the resources cannot move as asked.
func (a *Azure) validateOnce(ctx context.Context, rc *armresources.Client, group string, ids []string, target string) (*ARMError, error) {
	ctx, wait := withRetryAfter(ctx)
	poller, err := rc.BeginValidateMoveResources(ctx, group, moveInfo(ids, target), nil)
	if err != nil {
		return moveRefusal(err, "validate the move")
	}
	max := a.MaxPolls
	if max <= 0 {
		max = DefaultMaxPolls
	}
	for polls := 0; !poller.Done(); polls++ {
		if polls >= max {
			return nil, fmt.Errorf("%w: the move validation did not finish after %d polls", ownership.ErrUnavailable, polls)
		}
		if err := a.sleep(ctx, a.pollWait(wait.get())); err != nil {
			return nil, fmt.Errorf("%w: %v", ownership.ErrUnavailable, err)
		}
		if _, err := poller.Poll(ctx); err != nil {
			return nil, classify(err, "poll the move validation")
		}
	}
	if _, err := poller.Result(ctx); err != nil {
		return moveRefusal(err, "validate the move")
	}
	return nil, nil
}

// moveRefusal tells Microsoft's refusal of a move (a 409 or 400 with an
// ARM error: the resources cannot move as asked) from a failure of the
// call.
func moveRefusal(err error, what string) (*ARMError, error) {
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode == http.StatusConflict || re.StatusCode == http.StatusBadRequest) {
		e := responseError(re)
		return &e, nil
	}
	return nil, classify(err, what)
}

func moveInfo(ids []string, target string) armresources.MoveInfo {
	rs := make([]*string, len(ids))
	for i := range ids {
		rs[i] = &ids[i]
	}
	return armresources.MoveInfo{Resources: rs, TargetResourceGroup: &target}
}

// Failure is how a move ended without moving: Microsoft's code and message,
// and the resources it named.
type Failure struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Blocked []Blocked `json:"blocked,omitempty"`
}

// Progress is where a move stands.
type Progress struct {
	// Done: the move ended (moved, or Failure says why not).
	Done    bool     `json:"done"`
	Failure *Failure `json:"failure,omitempty"`
	// Token resumes the move (Follow) while it is not done.
	Token string `json:"token,omitempty"`
	// RetryAfter is what Resource Manager asked to wait before the next
	// poll (0: it named nothing).
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	// Moving are the resources this move was started for (Move only):
	// those still in the source group; the others had moved already.
	Moving []string `json:"moving,omitempty"`
}

// Move starts moving resourceIDs from the source group to the target group
// and returns at once: Progress.Token resumes it (Follow). It first locates
// the resources and moves only those still in the source group, so a
// retried or crashed step never moves a resource twice; when none is left
// in the source, the move is done without a call.
func (a *Azure) Move(ctx context.Context, tenantID, sourceSubscription, group string, resourceIDs []string, targetGroupID string) (Progress, error) {
	places, err := a.Locate(ctx, tenantID, sourceSubscription, group, resourceIDs, targetGroupID)
	if err != nil {
		return Progress{}, err
	}
	var moving []string
	for _, p := range places {
		if p.Where == InSource {
			moving = append(moving, p.ID)
		}
	}
	if len(moving) == 0 {
		return Progress{Done: true}, nil
	}
	rc, err := a.resources(tenantID, sourceSubscription)
	if err != nil {
		return Progress{}, err
	}
	ctx, wait := withRetryAfter(ctx)
	poller, err := rc.BeginMoveResources(ctx, group, moveInfo(moving, targetGroupID), nil)
	if err != nil {
		fail, err := moveRefusal(err, "start the move")
		if err != nil {
			return Progress{}, err
		}
		return Progress{Done: true, Failure: failure(*fail, moving), Moving: moving}, nil
	}
	p, err := progress(ctx, poller, wait.get(), moving)
	p.Moving = moving
	return p, err
}

// Follow polls a move once, from its resume token: done (moved, or the
// Failure), or not yet with the next token and Retry-After. The subscription
// is the move's source.
func (a *Azure) Follow(ctx context.Context, tenantID, sourceSubscription, token string) (Progress, error) {
	rc, err := a.resources(tenantID, sourceSubscription)
	if err != nil {
		return Progress{}, err
	}
	ctx, wait := withRetryAfter(ctx)
	poller, err := rc.BeginMoveResources(ctx, "", armresources.MoveInfo{}, &armresources.ClientBeginMoveResourcesOptions{ResumeToken: token})
	if err != nil {
		return Progress{}, fmt.Errorf("%w: resume the move: %v", ErrRejected, err)
	}
	if _, err := poller.Poll(ctx); err != nil {
		return Progress{}, classify(err, "poll the move")
	}
	return progress(ctx, poller, wait.get(), nil)
}

func progress(ctx context.Context, poller *runtime.Poller[armresources.ClientMoveResourcesResponse], retryAfter time.Duration, ids []string) (Progress, error) {
	if !poller.Done() {
		tok, err := poller.ResumeToken()
		if err != nil {
			return Progress{}, fmt.Errorf("%w: resume token: %v", ownership.ErrUnavailable, err)
		}
		return Progress{Token: tok, RetryAfter: retryAfter}, nil
	}
	if _, err := poller.Result(ctx); err != nil {
		fail, err := moveRefusal(err, "move")
		if err != nil {
			return Progress{}, err
		}
		return Progress{Done: true, Failure: failure(*fail, ids)}, nil
	}
	return Progress{Done: true}, nil
}

func failure(e ARMError, ids []string) *Failure {
	f := &Failure{Code: e.Code, Message: e.Message, Blocked: Named(e)}
	if len(ids) > 0 {
		f.Blocked = BlockedBy(e, ids)
	}
	return f
}

// Where is where a resource is.
type Where string

const (
	InSource Where = "source"
	InTarget Where = "target"
	// Missing: in neither group (deleted, or moved elsewhere).
	Missing Where = "missing"
)

// Placement is where one resource (named by its source id) is now.
type Placement struct {
	ID    string `json:"id"`
	Where Where  `json:"where"`
	// TargetID is its id in the target group, when it is there.
	TargetID string `json:"targetId,omitempty"`
}

// Locate tells, for each resource id of the source group, whether it is
// still there or in the target group (the same type and name), by listing
// both groups. A group that is not there holds nothing.
func (a *Azure) Locate(ctx context.Context, tenantID, sourceSubscription, group string, resourceIDs []string, targetGroupID string) ([]Placement, error) {
	src, err := a.list(ctx, tenantID, sourceSubscription, group)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	target, err := arm.ParseResourceID(targetGroupID)
	if err != nil || !strings.EqualFold(target.ResourceType.String(), arm.ResourceGroupResourceType.String()) {
		return nil, fmt.Errorf("%w: %q is not a resource group id", ErrRejected, targetGroupID)
	}
	dst, err := a.list(ctx, tenantID, target.SubscriptionID, target.ResourceGroupName)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	inSource := map[string]bool{}
	for _, r := range src {
		inSource[strings.ToLower(r.ID)] = true
	}
	inTarget := map[string]string{}
	for _, r := range dst {
		inTarget[key(r.Type, r.Name)] = r.ID
	}
	out := make([]Placement, 0, len(resourceIDs))
	for _, id := range resourceIDs {
		p := Placement{ID: id, Where: Missing}
		switch {
		case inSource[strings.ToLower(id)]:
			p.Where = InSource
		default:
			if rid, err := arm.ParseResourceID(id); err == nil {
				if tid, ok := inTarget[key(rid.ResourceType.String(), rid.Name)]; ok {
					p.Where, p.TargetID = InTarget, tid
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func key(typ, name string) string { return strings.ToLower(typ) + "/" + strings.ToLower(name) }

func without(ids []string, blocked []Blocked) []string {
	drop := map[string]bool{}
	for _, b := range blocked {
		drop[strings.ToLower(b.ID)] = true
	}
	var out []string
	for _, id := range ids {
		if !drop[strings.ToLower(id)] {
			out = append(out, id)
		}
	}
	return out
}

func (a *Azure) pollWait(d time.Duration) time.Duration {
	if d <= 0 {
		d = DefaultPollWait
	}
	max := a.MaxPollWait
	if max <= 0 {
		max = DefaultMaxPollWait
	}
	return min(d, max)
}

func (a *Azure) sleep(ctx context.Context, d time.Duration) error {
	if a.Sleep != nil {
		return a.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfterPolicy records, for a context that carries a recorder, the
// Retry-After of each final answer (after the retry policy): the wait a
// long-running operation asks for between polls. The poller does not hand
// the answers out, so a policy reads them.
type retryAfterPolicy struct{}

var _ policy.Policy = retryAfterPolicy{}

type recorderKey struct{}

type recorder struct {
	mu sync.Mutex
	d  time.Duration
}

func (r *recorder) get() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d
}

func withRetryAfter(ctx context.Context) (context.Context, *recorder) {
	r := &recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

func (retryAfterPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if r, ok := req.Raw().Context().Value(recorderKey{}).(*recorder); ok && err == nil {
		r.mu.Lock()
		r.d = retryAfter(resp.Header)
		r.mu.Unlock()
	}
	return resp, err
}

// retryAfter reads Retry-After in seconds (the form Resource Manager
// uses) or as an HTTP date; 0 when absent.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var s int64
	if _, err := fmt.Sscanf(v, "%d", &s); err == nil && s > 0 {
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// classify maps a failed call in the customer tenant to a neutral error.
func classify(err error, what string) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%w: Resource Manager refused the token (%s)", ownership.ErrConsentRevoked, re.ErrorCode)
		case re.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w (%s)", ErrNoAccess, re.ErrorCode)
		case re.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w (%s)", ErrNotFound, re.ErrorCode)
		case re.StatusCode == http.StatusTooManyRequests || re.StatusCode == http.StatusRequestTimeout || re.StatusCode >= 500:
			return fmt.Errorf("%w: %s: HTTP %d %s", ownership.ErrUnavailable, what, re.StatusCode, re.ErrorCode)
		}
		e := responseError(re)
		return &apperr.Error{Code: ErrRejected.Code, Message: ErrRejected.Message,
			Details: []apperr.Detail{{Code: e.Code, Message: e.Message}},
			Cause:   fmt.Errorf("%w: %s: HTTP %d %s: %s", ErrRejected, what, re.StatusCode, e.Code, e.Message)}
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		s := afe.RawResponse.StatusCode
		if s >= 400 && s < 500 && s != http.StatusTooManyRequests && s != http.StatusRequestTimeout {
			return fmt.Errorf("%w: token request refused (HTTP %d)", ownership.ErrConsentRevoked, s)
		}
	}
	if errors.Is(err, ownership.ErrConsentRevoked) || errors.Is(err, ownership.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", ownership.ErrUnavailable, what, err)
}
