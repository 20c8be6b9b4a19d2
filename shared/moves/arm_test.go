package moves

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnercloud/azure/shared/ownership"
)

// armDouble is the part of Azure Resource Manager the adapter uses, as
// documented: resource groups (list, get, create by PUT), a group's
// resources, and validateMoveResources / moveResources as long-running
// operations: 202 Accepted with a Location under
// /subscriptions/{s}/operationresults/{id} and Retry-After: 15; polling it
// answers 202 (with Location and Retry-After) while it runs, then 204 No
// Content, or 409 Conflict with ResourceMoveProviderValidationFailed and a
// detail per resource type that cannot move (public IP addresses: a
// CannotMoveResource detail with a MoveNotSupported detail per resource;
// data factories: one BadRequest detail for the type). A move takes effect
// when its operation ends: the resources get ids in the target.
type armDouble struct {
	mu       sync.Mutex
	url      string
	subs     map[string]map[string]*rgState // sub → lower(rg) → group
	ops      map[string]*operation
	nextOp   int
	pending  int // polls answered 202 before the end
	calls    []string
	puts     int
	moves    int
	valids   int
	status   int // answer every call with this status
	throttle int
}

type rgState struct {
	name, location, managedBy string
	tags                      map[string]string
	resources                 []resState
}

type resState struct{ typ, name string }

type operation struct {
	left   int
	finish func() (int, any)
}

func newARM() *armDouble {
	return &armDouble{subs: map[string]map[string]*rgState{}, ops: map[string]*operation{}, pending: 2}
}

func (d *armDouble) group(sub, name, location string, res ...resState) {
	if d.subs[sub] == nil {
		d.subs[sub] = map[string]*rgState{}
	}
	d.subs[sub][strings.ToLower(name)] = &rgState{name: name, location: location, tags: map[string]string{"env": "prod"}, resources: res}
}

func resID(sub, rg string, r resState) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", sub, rg, r.typ, r.name)
}

func (d *armDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer customer-token" {
		armErr(w, 401, ARMError{Code: "InvalidAuthenticationToken", Message: "The access token is invalid."})
		return
	}
	if d.status != 0 {
		armErr(w, d.status, ARMError{Code: "AuthorizationFailed", Message: "The client does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/moveResources/action'."})
		return
	}
	if d.throttle > 0 {
		d.throttle--
		w.Header().Set("retry-after-ms", "1")
		armErr(w, 429, ARMError{Code: "TooManyRequests", Message: "Rate limit exceeded."})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	lp := strings.Split(strings.ToLower(strings.Trim(r.URL.Path, "/")), "/")
	if len(parts) < 3 || lp[0] != "subscriptions" {
		armErr(w, 404, ARMError{Code: "NotFound"})
		return
	}
	sub := parts[1]
	switch {
	case len(lp) == 4 && lp[2] == "operationresults" && r.Method == http.MethodGet:
		op, ok := d.ops[lp[3]]
		if !ok {
			armErr(w, 404, ARMError{Code: "NotFound"})
			return
		}
		if op.left > 0 {
			op.left--
			d.accepted(w, sub, lp[3])
			return
		}
		status, body := op.finish()
		if body == nil {
			w.WriteHeader(status)
			return
		}
		armErr(w, status, body.(ARMError))
	case len(lp) == 3 && lp[2] == "resourcegroups" && r.Method == http.MethodGet:
		var out []any
		for _, g := range d.subs[sub] {
			v := map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/" + g.name, "name": g.name, "location": g.location, "type": "Microsoft.Resources/resourceGroups"}
			if g.managedBy != "" {
				v["managedBy"] = g.managedBy
			}
			out = append(out, v)
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case len(lp) == 4 && lp[2] == "resourcegroups":
		g := d.subs[sub][lp[3]]
		switch r.Method {
		case http.MethodGet:
			if g == nil {
				armErr(w, 404, ARMError{Code: "ResourceGroupNotFound", Message: "Resource group '" + parts[3] + "' could not be found."})
				return
			}
			writeJSON(w, 200, map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/" + g.name, "name": g.name, "location": g.location, "tags": g.tags})
		case http.MethodPut:
			var body struct {
				Location string            `json:"location"`
				Tags     map[string]string `json:"tags"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			status := 200
			if g == nil {
				status = 201
				d.group(sub, parts[3], body.Location)
				g = d.subs[sub][lp[3]]
			}
			g.tags = body.Tags
			d.puts++
			writeJSON(w, status, map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/" + g.name, "name": g.name, "location": g.location, "tags": g.tags, "properties": map[string]any{"provisioningState": "Succeeded"}})
		}
	case len(lp) == 5 && lp[2] == "resourcegroups" && lp[4] == "resources" && r.Method == http.MethodGet:
		g := d.subs[sub][lp[3]]
		if g == nil {
			armErr(w, 404, ARMError{Code: "ResourceGroupNotFound", Message: "Resource group '" + parts[3] + "' could not be found."})
			return
		}
		var out []any
		for _, res := range g.resources {
			out = append(out, map[string]any{"id": resID(sub, g.name, res), "name": res.name, "type": res.typ, "location": g.location})
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case len(lp) == 5 && lp[2] == "resourcegroups" && (lp[4] == "validatemoveresources" || lp[4] == "moveresources") && r.Method == http.MethodPost:
		var body struct {
			Resources           []string `json:"resources"`
			TargetResourceGroup string   `json:"targetResourceGroup"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Resources) == 0 {
			armErr(w, 400, ARMError{Code: "InvalidResourceMoveRequest", Message: "The request is invalid."})
			return
		}
		src := d.subs[sub][lp[3]]
		tp := strings.Split(strings.Trim(body.TargetResourceGroup, "/"), "/")
		if src == nil || len(tp) != 4 || d.subs[tp[1]][strings.ToLower(tp[3])] == nil {
			armErr(w, 404, ARMError{Code: "ResourceGroupNotFound", Message: "Resource group could not be found."})
			return
		}
		move := lp[4] == "moveresources"
		if move {
			d.moves++
		} else {
			d.valids++
		}
		id := fmt.Sprintf("op%d", d.nextOp)
		d.nextOp++
		ids := body.Resources
		targetSub, targetRG := tp[1], strings.ToLower(tp[3])
		d.ops[id] = &operation{left: d.pending, finish: func() (int, any) {
			if fail := d.validate(sub, src, ids); fail != nil {
				return 409, *fail
			}
			if move {
				d.move(src, d.subs[targetSub][targetRG], ids, sub)
			}
			return 204, nil
		}}
		d.accepted(w, sub, id)
	default:
		armErr(w, 404, ARMError{Code: "NotFound", Message: r.URL.Path})
	}
}

func (d *armDouble) accepted(w http.ResponseWriter, sub, op string) {
	w.Header().Set("Location", d.url+"/subscriptions/"+sub+"/operationresults/"+op+"?api-version=2021-04-01")
	w.Header().Set("Retry-After", "15")
	w.WriteHeader(http.StatusAccepted)
}

// validate is Resource Manager's verdict on moving ids out of src.
func (d *armDouble) validate(sub string, src *rgState, ids []string) *ARMError {
	var ips []ARMError
	var factory bool
	var missing []ARMError
	for _, id := range ids {
		found := false
		for _, res := range src.resources {
			if strings.EqualFold(resID(sub, src.name, res), id) {
				found = true
				switch strings.ToLower(res.typ) {
				case "microsoft.network/publicipaddresses":
					ips = append(ips, ARMError{Code: "MoveNotSupported", Target: id, Message: "Move is not supported for resources of type publicIPAddresses with the Standard SKU: " + id + "."})
				case "microsoft.datafactory/factories":
					factory = true
				}
			}
		}
		if !found {
			missing = append(missing, ARMError{Code: "ResourceNotFound", Target: id, Message: "The resource was not found in the source resource group."})
		}
	}
	if len(ips) == 0 && !factory && len(missing) == 0 {
		return nil
	}
	e := ARMError{Code: "ResourceMoveProviderValidationFailed", Message: "Resource move validation failed. Please see details. Diagnostic information: timestamp '20260101T000000Z', subscription id '" + sub + "', tracking id 'x', request correlation id 'y'."}
	if len(ips) > 0 {
		e.Details = append(e.Details, ARMError{Code: "CannotMoveResource", Target: "Microsoft.Network/publicIPAddresses", Message: "One or more resources in the request cannot be moved. Please see details for each resource.", Details: ips})
	}
	if factory {
		e.Details = append(e.Details, ARMError{Code: "BadRequest", Target: "Microsoft.DataFactory/factories", Message: "One of the resources contain integration runtimes that are shared with other resources. Resource move is not supported for those resources."})
	}
	e.Details = append(e.Details, missing...)
	return &e
}

func (d *armDouble) move(src, dst *rgState, ids []string, sub string) {
	var keep []resState
	for _, res := range src.resources {
		moved := false
		for _, id := range ids {
			if strings.EqualFold(resID(sub, src.name, res), id) {
				moved = true
			}
		}
		if moved {
			dst.resources = append(dst.resources, res)
		} else {
			keep = append(keep, res)
		}
	}
	src.resources = keep
}

func armErr(w http.ResponseWriter, status int, e ARMError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", e.Code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type fakeCred struct{}

var (
	_ azcore.TokenCredential = fakeCred{}
	_ http.Handler           = (*armDouble)(nil)
)

func (fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "customer-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// newAzure starts the double and returns an adapter on it whose waits
// between polls are recorded, not slept.
func newAzure(t *testing.T, d *armDouble) (*Azure, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewTLSServer(d)
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return adapterOn(srv, d)
}

func adapterOn(srv *httptest.Server, _ *armDouble) (*Azure, *[]time.Duration) {
	var mu sync.Mutex
	waits := &[]time.Duration{}
	opts := ownership.Settings{ResourceManager: srv.URL}.ARMOptions(srv.Client())
	opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	a := &Azure{
		NewCredential: func(string) (azcore.TokenCredential, error) { return fakeCred{}, nil },
		Options:       opts,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			*waits = append(*waits, d)
			return nil
		},
	}
	return a, waits
}
