package ownership

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type stubCredential struct{ tenant string }

func (stubCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, nil
}

// The credential cache of a warm function is bounded, least recently used
// out first, and safe under concurrency.
func TestCredentialCacheBounded(t *testing.T) {
	made := map[string]int{}
	var mu sync.Mutex
	a := &Azure{MaxTenants: 3, NewCredential: func(tenant string) (azcore.TokenCredential, error) {
		mu.Lock()
		defer mu.Unlock()
		made[tenant]++
		return stubCredential{tenant}, nil
	}}
	get := func(tenant string) {
		t.Helper()
		c, err := a.credential(tenant)
		if err != nil || c.(stubCredential).tenant != tenant {
			t.Fatalf("credential(%s) = %v, %v", tenant, c, err)
		}
	}
	get("t1")
	get("t2")
	get("t3")
	get("t1") // t1 is now the most recent; t2 the least
	get("t4") // evicts t2
	if n := a.cached(); n != 3 {
		t.Fatalf("%d cached, want 3", n)
	}
	get("t1")
	get("t3")
	if made["t1"] != 1 || made["t3"] != 1 {
		t.Fatalf("recently used credentials were made again: %v", made)
	}
	get("t2")
	if made["t2"] != 2 {
		t.Fatalf("the least recently used credential was kept: %v", made)
	}

	// Many tenants at once never grow the cache past its bound.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = a.credential(fmt.Sprintf("tenant-%d", i%50)) }()
	}
	wg.Wait()
	if n := a.cached(); n != 3 {
		t.Fatalf("%d cached after 50 tenants, want 3", n)
	}

	// The default bound applies when none is set.
	d := &Azure{NewCredential: a.NewCredential}
	for i := range DefaultMaxTenants + 10 {
		_, _ = d.credential(fmt.Sprintf("d-%d", i))
	}
	if n := d.cached(); n != DefaultMaxTenants {
		t.Fatalf("%d cached with the default bound, want %d", n, DefaultMaxTenants)
	}
}
