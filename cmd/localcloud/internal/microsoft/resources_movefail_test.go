package microsoft

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/partnercloud/azure/shared/moves"
)

// groupResources lists a group's resource ids through the product's client.
func groupResources(ctx context.Context, t *testing.T, rc *armresources.Client, group string) []string {
	t.Helper()
	out := []string{}
	for pager := rc.NewListByResourceGroupPager(group, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", group, err)
		}
		for _, r := range page.Value {
			out = append(out, *r.ID)
		}
	}
	return out
}

// armErrorBody is the error body of a failed operation, as the SDK hands
// it out.
type armErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Code, Target, Message string
		} `json:"details"`
	} `json:"error"`
}

// TestMoveFailsHalfWay: a 409 fault of moveResources.operation makes the
// next validated move end failed (PollUntilDone returns Resource Manager's
// 409 with the code, message and a detail per resource left) after moving
// the first resources only; the groups unlock; validations and later moves
// are not affected.
func TestMoveFailsHalfWay(t *testing.T) {
	moved := func(id string) string {
		return strings.Replace(id, "/resourceGroups/contoso-web/", "/resourceGroups/contoso-target/", 1)
	}
	tests := []struct {
		name      string
		fault     Fault
		wantCode  string
		wantMsg   string
		wantMoved []string
		wantLeft  []string
	}{
		{name: "failed after one of three", fault: Fault{Moved: 1},
			wantCode: "ResourceMoveFailed", wantMsg: "2 of the 3 resources were not moved",
			wantMoved: []string{webPlan}, wantLeft: []string{webApp, webStore}},
		{name: "timed out before any moved", fault: Fault{Code: "ResourceMoveTimedOut"},
			wantCode: "ResourceMoveTimedOut", wantMsg: "Moving resources did not finish within allowed time '04:00:00'. Provisioning state of the resource groups will be rolled back.",
			wantLeft: []string{webPlan, webApp, webStore}},
		{name: "every provider moved, the batch job failed", fault: Fault{Moved: 5},
			wantCode: "ResourceMoveFailed", wantMsg: "All move in provider succeeded. However, the batch move job failed.",
			wantMoved: []string{webPlan, webApp, webStore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			sc := defaultScenario(t)
			sc.Tenants[0].PartnerConsented = true
			// One poll ends an operation: PollUntilDone waits only the
			// start's Retry-After.
			e := newEnvWith(t, sc, Options{Now: clock.Now, OperationPolls: 1})
			ctx := context.Background()
			rc, gc := armresourcesClients(t, e, 0)
			if _, err := gc.CreateOrUpdate(ctx, "contoso-target", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.Call, f.Status, f.Count = CallMoveResourcesOperation, 409, 1
			if err := e.srv.SetFault(f); err != nil {
				t.Fatal(err)
			}
			all := []string{webPlan, webApp, webStore}

			// A validation is not affected, and leaves the fault armed.
			v, err := rc.BeginValidateMoveResources(ctx, "contoso-web", moveInfo(targetGroup, all...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.PollUntilDone(ctx, nil); err != nil {
				t.Fatalf("validation under the fault: %v", err)
			}
			if n := len(e.srv.Faults()); n != 1 {
				t.Fatalf("%d faults after the validation, want the move failure still armed", n)
			}

			p, err := rc.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, all...), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.PollUntilDone(ctx, nil)
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != 409 || re.ErrorCode != tt.wantCode {
				t.Fatalf("PollUntilDone: %v; want 409 %s", err, tt.wantCode)
			}
			body := armErrorBody{}
			raw, rerr := runtime.Payload(re.RawResponse)
			if rerr == nil {
				rerr = json.Unmarshal(raw, &body)
			}
			if rerr != nil {
				t.Fatalf("error body %s: %v", raw, rerr)
			}
			if body.Error.Code != tt.wantCode || !strings.Contains(body.Error.Message, tt.wantMsg) {
				t.Errorf("error %s %q; want %s saying %q", body.Error.Code, body.Error.Message, tt.wantCode, tt.wantMsg)
			}
			var named []string
			for _, d := range body.Error.Details {
				if d.Code != tt.wantCode || d.Message == "" {
					t.Errorf("detail %+v", d)
				}
				named = append(named, d.Target)
			}
			if !slices.Equal(named, tt.wantLeft) && len(named)+len(tt.wantLeft) > 0 {
				t.Errorf("details name %v, want the resources left %v", named, tt.wantLeft)
			}

			// Where the resources are: the moved ones in the target, under
			// their new ids, the others still in the source.
			var wantTarget []string
			for _, id := range tt.wantMoved {
				wantTarget = append(wantTarget, moved(id))
			}
			if got := groupResources(ctx, t, rc, "contoso-target"); !sameSet(got, wantTarget) {
				t.Errorf("target holds %v, want %v", got, wantTarget)
			}
			if got := groupResources(ctx, t, rc, "contoso-web"); !sameSet(got, tt.wantLeft) {
				t.Errorf("source holds %v, want %v", got, tt.wantLeft)
			}
			// The state lists operations in no set order: find the move.
			var moves []string
			for _, op := range e.srv.State().Operations {
				if op.Kind != "moveResources" {
					continue
				}
				moves = append(moves, op.ID)
				if op.Status != "Failed" || op.HTTPStatus != 409 || !slices.Equal(op.Moved, tt.wantMoved) {
					t.Errorf("operation state %+v", op)
				}
			}
			if len(moves) != 1 {
				t.Errorf("%d move operations, want 1", len(moves))
			}
			if len(e.srv.Faults()) != 0 {
				t.Errorf("faults left: %+v", e.srv.Faults())
			}

			// The failed move unlocked its groups, and the next move of what
			// is left (the fault used up) succeeds.
			if _, err := gc.CreateOrUpdate(ctx, "contoso-web", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
				t.Fatalf("write on the source after the failed move: %v", err)
			}
			if len(tt.wantLeft) == 0 {
				return
			}
			again, err := rc.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, tt.wantLeft...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := again.PollUntilDone(ctx, nil); err != nil {
				t.Fatalf("the move of what was left: %v", err)
			}
			if got := groupResources(ctx, t, rc, "contoso-target"); len(got) != 3 {
				t.Errorf("target holds %v after the second move, want all three", got)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	for i := range a {
		a[i] = strings.ToLower(a[i])
	}
	for i := range b {
		b[i] = strings.ToLower(b[i])
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestMoveFailureFaultRefused(t *testing.T) {
	e := newEnvWith(t, defaultScenario(t), Options{})
	for _, f := range []Fault{
		{Call: CallMoveResources, Status: 409},
		{Call: "moveResources", Status: 409},
		{Call: CallMoveResourcesOperation, Status: 409, DropReply: true},
		{Call: CallMoveResourcesOperation, Status: 409, Code: "Conflict"},
		{Call: CallMoveResourcesOperation, Status: 409, Moved: -1},
		{Call: CallMoveResourcesOperation, Status: 500, Moved: 1},
	} {
		if err := e.srv.SetFault(f); err == nil {
			t.Errorf("fault %+v accepted", f)
		}
	}
}

// TestMovesAdapterMoveFailsHalfWay: the product's moves adapter
// (shared/moves) on this double: Move then Follow end with Microsoft's code
// and message, the Failure names the resources left, and Locate tells the
// moved one from those left.
func TestMovesAdapterMoveFailsHalfWay(t *testing.T) {
	e, _, _ := movesEnv(t)
	ctx := context.Background()
	checker := newChecker(t, e, partnerSecret)
	az := &moves.Azure{NewCredential: checker.NewCredential, Options: checker.Options, Sleep: func(context.Context, time.Duration) error { return nil }}
	_, gc := armresourcesClients(t, e, 0)
	if _, err := gc.CreateOrUpdate(ctx, "contoso-target", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetFault(Fault{Call: CallMoveResourcesOperation, Status: 409, Moved: 1, Count: 1}); err != nil {
		t.Fatal(err)
	}
	all := []string{webPlan, webApp, webStore}
	p, err := az.Move(ctx, contosoTenant, contosoOwnedSub, "contoso-web", all, targetGroup)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; !p.Done; n++ {
		if n > 5 {
			t.Fatal("the move never ended")
		}
		if p, err = az.Follow(ctx, contosoTenant, contosoOwnedSub, p.Token); err != nil {
			t.Fatal(err)
		}
	}
	if p.Failure == nil || p.Failure.Code != CodeResourceMoveFailed || !strings.Contains(p.Failure.Message, "2 of the 3 resources were not moved") {
		t.Fatalf("failure %+v", p.Failure)
	}
	var blocked []string
	for _, b := range p.Failure.Blocked {
		blocked = append(blocked, b.ID)
	}
	if !sameSet(blocked, []string{webApp, webStore}) {
		t.Errorf("the failure names %v, want the two resources left", blocked)
	}
	places, err := az.Locate(ctx, contosoTenant, contosoOwnedSub, "contoso-web", all, targetGroup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]moves.Where{webPlan: moves.InTarget, webApp: moves.InSource, webStore: moves.InSource}
	for _, pl := range places {
		if pl.Where != want[pl.ID] {
			t.Errorf("%s is %s, want %s", pl.ID, pl.Where, want[pl.ID])
		}
	}
}
