package microsoft

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

const (
	targetGroup = "/subscriptions/" + contosoOwnedSub + "/resourceGroups/contoso-target"
	spareGroup  = "/subscriptions/" + contosoOwnedSub + "/resourceGroups/contoso-spare"
)

// armresourcesClients are the product's clients (armresources v1.2.0) on
// the double, for the partner in contoso, with the given retries (-1:
// none).
func armresourcesClients(t *testing.T, e *env, maxRetries int32) (*armresources.Client, *armresources.ResourceGroupsClient) {
	t.Helper()
	opts := e.armOptions()
	opts.Retry.MaxRetries = maxRetries
	cred := e.credential(t, "contoso", partnerApp, partnerSecret)
	rc, err := armresources.NewClient(contosoOwnedSub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := armresources.NewResourceGroupsClient(contosoOwnedSub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rc, gc
}

func moveInfo(target string, ids ...string) armresources.MoveInfo {
	return armresources.MoveInfo{Resources: to.SliceOfPtrs(ids...), TargetResourceGroup: to.Ptr(target)}
}

// pollDone polls without waiting (the test drives the operation by its
// polls) until the operation ends, and returns its outcome.
func pollDone[T any](ctx context.Context, t *testing.T, p *runtime.Poller[T]) error {
	t.Helper()
	for n := 0; !p.Done(); n++ {
		if n > 10 {
			t.Fatal("the operation never ended")
		}
		if _, err := p.Poll(ctx); err != nil {
			return err
		}
	}
	_, err := p.Result(ctx)
	return err
}

// wantScopeLocked checks an error is Resource Manager's 409 ScopeLocked
// naming the locked groups.
func wantScopeLocked(t *testing.T, err error, locked ...string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 409 || re.ErrorCode != "ScopeLocked" {
		t.Fatalf("got %v, want 409 ScopeLocked", err)
	}
	for _, g := range locked {
		if !strings.Contains(err.Error(), "are locked: '"+g) && !strings.Contains(err.Error(), "', '"+g+"'") {
			t.Fatalf("%v does not name the locked group %s", err, g)
		}
	}
}

func TestAMoveLocksItsSourceAndTargetGroups(t *testing.T) {
	e, clock, _ := movesEnv(t)
	ctx := context.Background()
	rc, gc := armresourcesClients(t, e, 3)
	for _, name := range []string{"contoso-target", "contoso-spare"} {
		if _, err := gc.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}

	// A validation locks nothing.
	if _, err := rc.BeginValidateMoveResources(ctx, "contoso-web", moveInfo(targetGroup, webApp), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.CreateOrUpdate(ctx, "contoso-web", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatalf("write on a group under validation: %v", err)
	}

	// The move of contoso-web to contoso-target runs.
	move, err := rc.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, webApp, webPlan), nil)
	if err != nil || move.Done() {
		t.Fatalf("move = done %v, %v; want running", move != nil && move.Done(), err)
	}

	refused := []struct {
		name   string
		do     func() error
		locked []string
	}{
		{"another move from the source", func() error {
			_, err := rc.BeginMoveResources(ctx, "contoso-web", moveInfo(spareGroup, webStore), nil)
			return err
		}, []string{webGroup}},
		{"a validation from the source", func() error {
			_, err := rc.BeginValidateMoveResources(ctx, "contoso-web", moveInfo(spareGroup, webStore), nil)
			return err
		}, []string{webGroup}},
		{"a move into the target", func() error {
			_, err := rc.BeginMoveResources(ctx, "contoso-batch", moveInfo(targetGroup, batchStore), nil)
			return err
		}, []string{targetGroup}},
		{"a validation into the source", func() error {
			_, err := rc.BeginValidateMoveResources(ctx, "contoso-batch", moveInfo(webGroup, batchStore), nil)
			return err
		}, []string{webGroup}},
		{"a move from the target", func() error {
			_, err := rc.BeginMoveResources(ctx, "contoso-target", moveInfo(webGroup, targetGroup+"/providers/Microsoft.Web/sites/contoso-web-app"), nil)
			return err
		}, []string{targetGroup, webGroup}},
		{"createOrUpdate of the source", func() error {
			_, err := gc.CreateOrUpdate(ctx, "contoso-web", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
			return err
		}, []string{webGroup}},
		{"createOrUpdate of the target", func() error {
			_, err := gc.CreateOrUpdate(ctx, "CONTOSO-TARGET", armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
			return err
		}, []string{targetGroup}},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			wantScopeLocked(t, tc.do(), tc.locked...)
		})
	}

	allowed := []struct {
		name string
		do   func() error
	}{
		{"reading the source", func() error {
			_, err := gc.Get(ctx, "contoso-web", nil)
			return err
		}},
		{"listing the source's resources", func() error {
			n := 0
			for pager := rc.NewListByResourceGroupPager("contoso-web", nil); pager.More(); {
				page, err := pager.NextPage(ctx)
				if err != nil {
					return err
				}
				n += len(page.Value)
			}
			if n != 3 {
				t.Errorf("the source lists %d resources while the move runs, want 3", n)
			}
			return nil
		}},
		{"writing another group", func() error {
			_, err := gc.CreateOrUpdate(ctx, "contoso-batch", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
			return err
		}},
		{"validating between other groups", func() error {
			_, err := rc.BeginValidateMoveResources(ctx, "contoso-batch", moveInfo(spareGroup, batchStore), nil)
			return err
		}},
	}
	for _, tc := range allowed {
		t.Run("allowed: "+tc.name, func(t *testing.T) {
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
		})
	}

	// The move ends (204): the groups unlock.
	if err := pollDone(ctx, t, move); err != nil {
		t.Fatalf("the move: %v", err)
	}
	if _, err := gc.CreateOrUpdate(ctx, "contoso-web", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatalf("write on the source after the move: %v", err)
	}
	if _, err := rc.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, webStore), nil); err != nil {
		t.Fatalf("a new move from the source: %v", err)
	}

	// A move that fails (409 ResourceMoveValidationFailed) unlocks too, here
	// ended by the clock rather than polls.
	clock.Add(2 * time.Second)
	failing, err := rc.BeginMoveResources(ctx, "contoso-batch", moveInfo(spareGroup, batchStore, batchJobs), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gc.CreateOrUpdate(ctx, "contoso-spare", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
	wantScopeLocked(t, err, spareGroup)
	var re *azcore.ResponseError
	if err := pollDone(ctx, t, failing); !errors.As(err, &re) || re.ErrorCode != "ResourceMoveValidationFailed" {
		t.Fatalf("the failing move: %v", err)
	}
	if _, err := gc.CreateOrUpdate(ctx, "contoso-spare", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatalf("write on the target after the failed move: %v", err)
	}
}
