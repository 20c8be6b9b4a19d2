package ownership

import (
	"testing"

	"github.com/partnercloud/azure/shared/provider"
)

func TestIsOwner(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", true},
		{"/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635", true},
		{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", true},
		{"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", false},
		{"/roleDefinitions/x8e3af657-a8ff-443c-a75c-2fe8c4bcb635", false},
		{"", false},
	} {
		if got := IsOwner(tt.id); got != tt.want {
			t.Errorf("IsOwner(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestAppliesTo(t *testing.T) {
	sub := "11111111-1111-1111-1111-111111111111"
	for _, tt := range []struct {
		scope string
		want  bool
	}{
		{"/subscriptions/" + sub, true},
		{"/subscriptions/" + sub + "/", true},
		{"/SUBSCRIPTIONS/11111111-1111-1111-1111-111111111111", true},
		{"/", true},
		{"/providers/Microsoft.Management/managementGroups/contoso-root", true},
		{"/subscriptions/" + sub + "/resourceGroups/rg1", false},
		{"/subscriptions/22222222-2222-2222-2222-222222222222", false},
		{"/providers/Microsoft.Management/managementGroups/mg/extra", false},
	} {
		if got := AppliesTo(tt.scope, sub); got != tt.want {
			t.Errorf("AppliesTo(%q) = %v, want %v", tt.scope, got, tt.want)
		}
	}
}

func TestAllOwned(t *testing.T) {
	owned := Subscription{ID: "a", State: provider.SubscriptionOwned}
	missing := Subscription{ID: "b", State: provider.SubscriptionMissingOwner}
	for _, tt := range []struct {
		subs []Subscription
		want bool
	}{
		{nil, false},
		{[]Subscription{owned}, true},
		{[]Subscription{owned, missing}, false},
		{[]Subscription{{ID: "c", State: provider.SubscriptionNotFound}}, false},
	} {
		if got := (Result{Subscriptions: tt.subs}).AllOwned(); got != tt.want {
			t.Errorf("AllOwned(%v) = %v, want %v", tt.subs, got, tt.want)
		}
	}
}
