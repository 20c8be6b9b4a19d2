package moves

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

const (
	vmID = "/subscriptions/s/resourceGroups/app/providers/Microsoft.Compute/virtualMachines/vm1"
	ipID = "/subscriptions/s/resourceGroups/app/providers/Microsoft.Network/publicIPAddresses/ip1"
	dfID = "/subscriptions/s/resourceGroups/app/providers/Microsoft.DataFactory/factories/etl"
)

func TestParseARMError(t *testing.T) {
	tests := []struct {
		body string
		code string
		ok   bool
	}{
		{`{"error":{"code":"ResourceMoveProviderValidationFailed","message":"m","details":[{"code":"X","target":"t"}]}}`, "ResourceMoveProviderValidationFailed", true},
		{`{"code":"ResourceMoveProviderValidationFailed","message":"<message>"}`, "ResourceMoveProviderValidationFailed", true},
		{`{"error":{"message":"no code"}}`, "", false},
		{`<html>Bad gateway</html>`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		e, ok := ParseARMError([]byte(tt.body))
		if ok != tt.ok || e.Code != tt.code {
			t.Errorf("ParseARMError(%s) = %+v, %v", tt.body, e, ok)
		}
	}
}

func TestBlockedBy(t *testing.T) {
	nested := ARMError{Code: "ResourceMoveProviderValidationFailed", Message: "Resource move validation failed.", Details: []ARMError{
		{Code: "CannotMoveResource", Target: "Microsoft.Network/publicIPAddresses", Message: "One or more resources cannot be moved.", Details: []ARMError{
			{Code: "MoveNotSupported", Target: strings.ToUpper(ipID), Message: "Move is not supported for Standard SKU public IPs."},
		}},
		{Code: "BadRequest", Target: "Microsoft.DataFactory/factories", Message: "Shared integration runtimes cannot move."},
	}}
	tests := []struct {
		name string
		e    ARMError
		ids  []string
		want []Blocked
	}{
		{"by id (any case), and by type", nested, []string{vmID, ipID, dfID}, []Blocked{
			{ID: ipID, Code: "MoveNotSupported", Message: "Move is not supported for Standard SKU public IPs."},
			{ID: dfID, Code: "BadRequest", Message: "Shared integration runtimes cannot move."},
		}},
		{"a type detail that names resources does not block the type's others", nested,
			[]string{vmID, strings.Replace(ipID, "ip1", "ip2", 1)}, []Blocked{
				{ID: vmID, Code: "ResourceMoveProviderValidationFailed", Message: "Resource move validation failed."},
				{ID: strings.Replace(ipID, "ip1", "ip2", 1), Code: "ResourceMoveProviderValidationFailed", Message: "Resource move validation failed."},
			}},
		{"quoted in the message", ARMError{Code: "ResourceMoveNotSupported", Message: "Resource move is not supported for resources: '" + vmID + "'."},
			[]string{vmID, dfID}, []Blocked{{ID: vmID, Code: "ResourceMoveNotSupported", Message: "Resource move is not supported for resources: '" + vmID + "'."}}},
		{"names nothing: all blocked, once each", ARMError{Code: "MissingMoveDependentResources", Message: "The move requires dependent resources."},
			[]string{vmID, dfID, strings.ToLower(vmID)}, []Blocked{
				{ID: vmID, Code: "MissingMoveDependentResources", Message: "The move requires dependent resources."},
				{ID: dfID, Code: "MissingMoveDependentResources", Message: "The move requires dependent resources."},
			}},
		{"no ids", nested, nil, []Blocked{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BlockedBy(tt.e, tt.ids)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("BlockedBy =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	named := Named(nested)
	if len(named) != 1 || named[0].ID != strings.ToUpper(ipID) || named[0].Code != "MoveNotSupported" {
		t.Errorf("Named = %+v", named)
	}
}

// FuzzBlockedBy: whatever the body, BlockedBy blocks only requested
// resources, each once, and at least one when any was requested; Named
// names only resource ids.
func FuzzBlockedBy(f *testing.F) {
	b, _ := json.Marshal(map[string]any{"error": ARMError{Code: "C", Target: "Microsoft.Network/publicIPAddresses", Details: []ARMError{{Code: "D", Target: ipID}}}})
	f.Add(b, ipID, vmID)
	f.Add([]byte(`{"error":{"code":"X","message":"`+vmID+`"}}`), vmID, "")
	f.Add([]byte(`{"code":"X","details":[{"details":[{"details":[]}]}]}`), "", "/")
	f.Fuzz(func(t *testing.T, body []byte, id1, id2 string) {
		e, ok := ParseARMError(body)
		if !ok {
			return
		}
		ids := []string{id1, id2}
		got := BlockedBy(e, ids)
		if len(got) == 0 {
			t.Fatalf("nothing blocked for a failed validation of %q", ids)
		}
		seen := map[string]bool{}
		for _, b := range got {
			if b.ID != id1 && b.ID != id2 {
				t.Fatalf("blocked %q was not requested", b.ID)
			}
			if seen[strings.ToLower(b.ID)] {
				t.Fatalf("%q blocked twice", b.ID)
			}
			seen[strings.ToLower(b.ID)] = true
		}
		for _, n := range Named(e) {
			if !strings.HasPrefix(n.ID, "/") {
				t.Fatalf("Named %q is not a resource id", n.ID)
			}
		}
	})
}
