package microsoft

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Fault makes calls of a kind fail with an HTTP status, as Microsoft's
// services do when throttling (429 with Retry-After) or failing (5xx).
type Fault struct {
	// Call is a call kind (token, discovery, authorize, adminConsent,
	// subscriptions.list, subscriptions.get, roleAssignments,
	// resourceGroups.list, .get, .createOrUpdate; resources.list,
	// .listByResourceGroup; moveResources.validate, .move, .operation (the
	// polls of either); transfers.initiate, .get, .list, .cancel;
	// partnerCenter.domain, .address, .customers, .agreements, .carts,
	// .checkout, .orders, .subscriptions, .azureEntitlements, .customer,
	// .relationshipRequests, .webhooks; graph.createRelationship, .listRelationships,
	// .getRelationship, .lock, .listRequests, .getRequest,
	// .createAccessAssignment, .listAccessAssignments,
	// .getAccessAssignment), a prefix of
	// one ("subscriptions" covers list and get), or "*" for every call.
	Call string `json:"call"`
	// Status is the HTTP status to answer: 429, or 500 to 599; or 403
	// (AuthorizationFailed) for a Resource Manager or billing call
	// (subscriptions.*, roleAssignments, resourceGroups.*, resources.*,
	// moveResources.*, transfers.*), as when a role is too narrow; or 409
	// on moveResources.operation (exactly), which answers no call: the next
	// moveResources operations started (Count of them; validations are not
	// affected) end failed, 409 Conflict with Code, after moving Moved of
	// their resources (see failMove in resources.go).
	Status int `json:"status,omitempty"`
	// Moved, with a 409 fault of moveResources.operation, is how many of
	// the failing move's resources (the first ones it was asked to move)
	// reach the target before the operation fails; the others stay in the
	// source. 0 moves none; as many as the move has (or more) moves them all
	// and still fails, as Resource Manager's batch move job can.
	Moved int `json:"moved,omitempty"`
	// Code, with a 409 fault of moveResources.operation, is the error code
	// the failed move ends with: ResourceMoveFailed (the default) or
	// ResourceMoveTimedOut.
	Code string `json:"code,omitempty"`
	// RetryAfter, in seconds, is sent in a Retry-After header when positive.
	RetryAfter int `json:"retryAfter,omitempty"`
	// Count is the number of answers the fault lasts; 0 means until it is
	// switched off.
	Count int `json:"count,omitempty"`
	// Off, in a request, removes the faults for Call ("*": all of them)
	// instead of adding one.
	Off bool `json:"off,omitempty"`
	// DropReply performs the call and then loses its reply, as a timeout on
	// the way back does: the answer is replaced by Status, or with Status 0
	// the connection is cut (the client sees a transport error, no status).
	// It aims at Partner Center and Graph calls (a caller that retries with
	// the same MS-RequestId then gets the original result), at
	// transfers.initiate (the transfer is created; a retry with the same name
	// answers 200 with it) and at moveResources.move (the move starts and
	// locks its groups; a retry meets 409 ScopeLocked until the move ends,
	// and once it has, 404 ResourceNotFound for the resources it moved).
	DropReply bool `json:"dropReply,omitempty"`
}

func (f *Fault) matches(kind string) bool {
	return f.Call == "*" || f.Call == kind || strings.HasPrefix(kind, f.Call+".")
}

// Codes a failed move operation ends with (a 409 fault of
// moveResources.operation).
const (
	CodeResourceMoveFailed   = "ResourceMoveFailed"
	CodeResourceMoveTimedOut = "ResourceMoveTimedOut"
)

// failsMove reports whether f is a 409 fault of moveResources.operation:
// it answers no call but makes move operations end failed.
func (f *Fault) failsMove() bool {
	return f.Status == http.StatusConflict && f.Call == CallMoveResourcesOperation
}

// SetFault adds a fault, or with Off removes the matching ones.
func (s *Server) SetFault(f Fault) error {
	if f.Call == "" {
		return fmt.Errorf("fault: call is required (a call kind or \"*\")")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Off {
		kept := s.faults[:0]
		for _, old := range s.faults {
			if f.Call != "*" && old.Call != f.Call {
				kept = append(kept, old)
			}
		}
		s.faults = kept
		return nil
	}
	if f.DropReply && !dropReplyCall(f.Call) {
		return fmt.Errorf("fault: dropReply is for Partner Center and Graph calls (partnerCenter, partnerCenter.<kind>, graph or graph.<kind>), %s and %s only", CallTransfersInitiate, CallMoveResources)
	}
	switch {
	case f.DropReply && f.Status == 0: // the connection is cut
	case f.Status == http.StatusConflict:
		if f.Call != CallMoveResourcesOperation || f.DropReply {
			return fmt.Errorf("fault: status 409 is for %s only (a move operation that ends failed), without dropReply", CallMoveResourcesOperation)
		}
		if f.Code == "" {
			f.Code = CodeResourceMoveFailed
		}
		if f.Code != CodeResourceMoveFailed && f.Code != CodeResourceMoveTimedOut {
			return fmt.Errorf("fault: code %q: a failed move ends with %s or %s", f.Code, CodeResourceMoveFailed, CodeResourceMoveTimedOut)
		}
		if f.Moved < 0 {
			return fmt.Errorf("fault: moved must not be negative")
		}
	case f.Moved != 0 || f.Code != "":
		return fmt.Errorf("fault: moved and code go with status 409 on %s only", CallMoveResourcesOperation)
	case f.Status == http.StatusForbidden:
		if !armCall(f.Call) {
			return fmt.Errorf("fault: status 403 is for Resource Manager and billing calls only (subscriptions.*, roleAssignments, resourceGroups.*, resources.*, moveResources.*, transfers.*)")
		}
	case f.Status != http.StatusTooManyRequests && (f.Status < 500 || f.Status > 599):
		return fmt.Errorf("fault: status %d is not 429, 5xx, (for Resource Manager) 403 or (for %s) 409", f.Status, CallMoveResourcesOperation)
	}
	if f.Count < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("fault: count and retryAfter must not be negative")
	}
	s.faults = append(s.faults, &f)
	return nil
}

// armCall reports whether call aims at Resource Manager calls only
// (Azure billing included).
func armCall(call string) bool {
	switch call {
	case "subscriptions", CallSubscriptionsList, CallSubscriptionsGet, CallRoleAssignments:
		return true
	}
	for _, prefix := range []string{CallResourceGroups, CallResources, "moveResources", CallTransfers} {
		if call == prefix || strings.HasPrefix(call, prefix+".") {
			return true
		}
	}
	return false
}

// faultActions are the actions a 403 fault names, by call kind.
var faultActions = map[string]string{
	CallRoleAssignments:        "Microsoft.Authorization/roleAssignments/read",
	CallResourceGroupsList:     "Microsoft.Resources/subscriptions/resourceGroups/read",
	CallResourceGroupsGet:      "Microsoft.Resources/subscriptions/resourceGroups/read",
	CallResourceGroupsCreate:   "Microsoft.Resources/subscriptions/resourceGroups/write",
	CallResourcesList:          "Microsoft.Resources/subscriptions/resources/read",
	CallResourcesListByGroup:   "Microsoft.Resources/subscriptions/resources/read",
	CallValidateMoveResources:  "Microsoft.Resources/subscriptions/resourceGroups/validateMoveResources/action",
	CallMoveResources:          "Microsoft.Resources/subscriptions/resourceGroups/moveResources/action",
	CallMoveResourcesOperation: "Microsoft.Resources/subscriptions/operationresults/read",
	CallTransfersInitiate:      "Microsoft.Billing/billingAccounts/billingProfiles/customers/transfers/write",
	CallTransfersGet:           "Microsoft.Billing/billingAccounts/billingProfiles/customers/transfers/read",
	CallTransfersList:          "Microsoft.Billing/billingAccounts/billingProfiles/customers/transfers/read",
	CallTransfersCancel:        "Microsoft.Billing/billingAccounts/billingProfiles/customers/transfers/cancel/action",
}

// dropReplyCall reports whether a dropReply fault may aim at call: calls
// that create or start something, whose lost reply a caller must recover
// from (Partner Center, Graph, a transfer's creation, a move's start).
func dropReplyCall(call string) bool {
	return pcCall(call) || graphCall(call) || call == CallTransfersInitiate || call == CallMoveResources
}

// pcCall reports whether call aims at Partner Center calls only.
func pcCall(call string) bool {
	return call == CallPartnerCenter || strings.HasPrefix(call, CallPartnerCenter+".")
}

// Faults returns the active faults.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// takeFault returns the fault that applies to a call of this kind, if any,
// using up one of its answers. Faults that fail move operations answer no
// call and are left to takeMoveFailure.
func (s *Server) takeFault(kind string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(kind) || f.failsMove() {
			continue
		}
		return s.useFault(i)
	}
	return nil
}

// takeMoveFailure returns the fault that makes a move operation being
// started end failed, if any, using up one of its answers. s.mu must be
// held.
func (s *Server) takeMoveFailure() *Fault {
	for i, f := range s.faults {
		if f.failsMove() {
			return s.useFault(i)
		}
	}
	return nil
}

// useFault returns a copy of fault i, using up one of its answers (the
// last one removes it). s.mu must be held.
func (s *Server) useFault(i int) *Fault {
	f := s.faults[i]
	out := *f
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
	}
	return &out
}

// injectFault answers with the fault for this call, if any, in the shape of
// the service that owns the call. It reports whether it answered.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, kind string) bool {
	f := s.takeFault(kind)
	if f == nil {
		return false
	}
	s.answerFault(w, r, kind, f)
	return true
}

// loseReply is a dropReply fault on a Resource Manager or billing call: the
// call answers into the returned writer, a recorder whose answer nobody
// reads (its headers included, so no Location reaches the caller), and the
// returned function, deferred until the call is done, answers in its place:
// the fault's Status, or with Status 0 a cut connection, as the Partner
// Center and Graph calls cut it (http.ErrAbortHandler closes an HTTP/1.1
// connection and resets an HTTP/2 stream; the client's transport reports
// the error).
func (s *Server) loseReply(w http.ResponseWriter, r *http.Request, kind string, f *Fault) (http.ResponseWriter, func()) {
	return &pcRecorder{header: http.Header{}}, func() {
		if f.Status == 0 {
			panic(http.ErrAbortHandler) // the connection is cut
		}
		s.answerFault(w, r, kind, f)
	}
}

// answerFault writes the fault's answer in the shape of the service that
// owns the call.
func (s *Server) answerFault(w http.ResponseWriter, r *http.Request, kind string, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	switch kind {
	case CallToken, CallDiscovery:
		code, aad := "temporarily_unavailable", 50196
		if f.Status == http.StatusTooManyRequests {
			aad = 50196
		} else {
			code, aad = "server_error", 90033
		}
		s.entraError(w, r, f.Status, code, aad, "The server is temporarily unavailable (fault injected by the local Microsoft double).")
	case CallGraph, CallGraphCreateRelationship, CallGraphListRelationships, CallGraphGetRelationship, CallGraphLock, CallGraphListRequests, CallGraphGetRequest, CallGraphCreateAccessAssignment, CallGraphListAccessAssignments, CallGraphGetAccessAssignment:
		if f.Status == http.StatusTooManyRequests {
			s.graphError(w, r, f.Status, "TooManyRequests", "Too many requests; please retry after the time in Retry-After (fault injected by the local Microsoft double).")
		} else {
			s.graphError(w, r, f.Status, "serviceNotAvailable", "The service is temporarily unavailable (fault injected by the local Microsoft double).")
		}
	case CallPartnerCenter, CallPartnerCenterDomain, CallPartnerCenterAddress, CallPartnerCenterCustomers, CallPartnerCenterAgreements, CallPartnerCenterCarts, CallPartnerCenterCheckout, CallPartnerCenterSubscriptions, CallPartnerCenterCustomer, CallPartnerCenterRelationshipRequests, CallPartnerCenterWebhooks, CallPartnerCenterOrders, CallPartnerCenterEntitlements:
		if f.Status == http.StatusTooManyRequests {
			pcError(w, f.Status, 429, "Too many requests (fault injected by the local Microsoft double).")
		} else {
			pcError(w, f.Status, f.Status, "Internal error (fault injected by the local Microsoft double).")
		}
	case CallAdminConsent, CallAuthorize:
		http.Error(w, fmt.Sprintf("%d %s (fault injected by the local Microsoft double)", f.Status, http.StatusText(f.Status)), f.Status)
	default:
		if f.Status == http.StatusForbidden {
			action := "Microsoft.Resources/subscriptions/read"
			if a, ok := faultActions[kind]; ok {
				action = a
			}
			armError(w, f.Status, "AuthorizationFailed", fmt.Sprintf("The client does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials. (fault injected by the local Microsoft double)", action, r.URL.Path))
		} else if f.Status == http.StatusTooManyRequests {
			op := "Read"
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				op = "Write"
			}
			armError(w, f.Status, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - "+op+" (fault injected by the local Microsoft double).")
		} else {
			armError(w, f.Status, "InternalServerError", "Encountered internal server error (fault injected by the local Microsoft double).")
		}
	}
}
