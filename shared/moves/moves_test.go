package moves

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/ownership"
)

const (
	tenant = "tenant-1"
	srcSub = "00000000-0000-0000-0000-0000000000aa"
	dstSub = "00000000-0000-0000-0000-0000000000bb"
)

var (
	vm      = resState{"Microsoft.Compute/virtualMachines", "vm1"}
	disk    = resState{"Microsoft.Compute/disks", "vm1-os"}
	ip      = resState{"Microsoft.Network/publicIPAddresses", "vm1-ip"}
	factory = resState{"Microsoft.DataFactory/factories", "etl"}
)

func targetRG() string { return "/subscriptions/" + dstSub + "/resourceGroups/app" }

func TestInventoryAndEnsureGroup(t *testing.T) {
	d := newARM()
	d.group(srcSub, "app", "westeurope", vm, disk)
	d.group(srcSub, "MC_aks_node", "westeurope")
	d.subs[srcSub]["mc_aks_node"].managedBy = "/subscriptions/x/resourceGroups/aks/providers/Microsoft.ContainerService/managedClusters/aks"
	d.group(dstSub, "other", "eastus")
	a, _ := newAzure(t, d)
	ctx := context.Background()

	groups, err := a.Inventory(ctx, tenant, srcSub)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(groups, func(x, y Group) int { return strings.Compare(x.Name, y.Name) })
	if len(groups) != 2 || groups[1].Name != "app" || len(groups[1].Resources) != 2 || groups[1].Resources[0].ID != resID(srcSub, "app", vm) || groups[1].Location != "westeurope" {
		t.Fatalf("inventory %+v", groups)
	}
	if groups[0].ManagedBy == "" || len(groups[0].Resources) != 0 || groups[0].Resources == nil {
		t.Errorf("managed group %+v", groups[0])
	}

	id, err := a.EnsureGroup(ctx, tenant, srcSub, "app", dstSub)
	if err != nil {
		t.Fatal(err)
	}
	made := d.subs[dstSub]["app"]
	if !strings.EqualFold(id, targetRG()) || made == nil || made.location != "westeurope" || made.tags["env"] != "prod" {
		t.Fatalf("EnsureGroup = %q; target %+v", id, made)
	}
	if again, err := a.EnsureGroup(ctx, tenant, srcSub, "app", dstSub); err != nil || again != id || d.puts != 1 {
		t.Fatalf("second EnsureGroup = %q, %v; %d PUTs", again, err, d.puts)
	}
	if _, err := a.EnsureGroup(ctx, tenant, srcSub, "nope", dstSub); !errors.Is(err, ErrNotFound) {
		t.Errorf("EnsureGroup of a missing source group = %v; want ErrNotFound", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		resources []resState
		moves     []resState
		blocked   map[string]string // resource name → code
		rounds    int
	}{
		{"everything moves", []resState{vm, disk}, []resState{vm, disk}, nil, 1},
		{"public IP and factory cannot", []resState{vm, ip, disk, factory}, []resState{vm, disk},
			map[string]string{"vm1-ip": "MoveNotSupported", "etl": "BadRequest"}, 2},
		{"nothing moves", []resState{ip}, nil, map[string]string{"vm1-ip": "MoveNotSupported"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newARM()
			d.group(srcSub, "app", "westeurope", tt.resources...)
			d.group(dstSub, "app", "westeurope")
			a, waits := newAzure(t, d)
			var ids []string
			for _, r := range tt.resources {
				ids = append(ids, resID(srcSub, "app", r))
			}
			rep, err := a.Validate(context.Background(), tenant, srcSub, "app", ids, targetRG())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, r := range tt.moves {
				want = append(want, resID(srcSub, "app", r))
			}
			if !slices.Equal(rep.Moves, want) && !(len(want) == 0 && len(rep.Moves) == 0) {
				t.Errorf("moves %v; want %v", rep.Moves, want)
			}
			if rep.Confirmed != (len(want) > 0) {
				t.Errorf("confirmed %v", rep.Confirmed)
			}
			got := map[string]string{}
			for _, b := range rep.Blocked {
				got[b.ID[strings.LastIndex(b.ID, "/")+1:]] = b.Code
				if b.Message == "" {
					t.Errorf("blocked %s without Microsoft's message", b.ID)
				}
			}
			if len(got) != len(tt.blocked) {
				t.Errorf("blocked %v; want %v", got, tt.blocked)
			}
			for k, v := range tt.blocked {
				if got[k] != v {
					t.Errorf("blocked %s: %q; want %q", k, got[k], v)
				}
			}
			if d.valids != tt.rounds {
				t.Errorf("%d validations; want %d", d.valids, tt.rounds)
			}
			// Each validation waited what Retry-After asked before each poll.
			if len(*waits) != tt.rounds*(d.pending+1) {
				t.Errorf("waits %v", *waits)
			}
			for _, w := range *waits {
				if w != 15*time.Second {
					t.Errorf("waited %v; want Retry-After's 15s", w)
				}
			}
			if d.moves != 0 {
				t.Error("a validation moved something")
			}
		})
	}
}

func TestMoveFollowLocate(t *testing.T) {
	d := newARM()
	d.group(srcSub, "app", "westeurope", vm, disk)
	d.group(dstSub, "app", "westeurope")
	a, _ := newAzure(t, d)
	ctx := context.Background()
	ids := []string{resID(srcSub, "app", vm), resID(srcSub, "app", disk)}

	p, err := a.Move(ctx, tenant, srcSub, "app", ids, targetRG())
	if err != nil {
		t.Fatal(err)
	}
	if p.Done || p.Token == "" || p.RetryAfter != 15*time.Second || len(p.Moving) != 2 {
		t.Fatalf("Move = %+v", p)
	}
	// Another invocation resumes it from the token alone.
	srv := httptest.NewTLSServer(d)
	defer srv.Close()
	b, _ := adapterOn(srv, d)
	polls := 0
	for !p.Done {
		if polls++; polls > 10 {
			t.Fatal("the move never ended")
		}
		if p, err = b.Follow(ctx, tenant, srcSub, p.Token); err != nil {
			t.Fatal(err)
		}
		if !p.Done && (p.Token == "" || p.RetryAfter != 15*time.Second) {
			t.Fatalf("Follow = %+v", p)
		}
	}
	if p.Failure != nil || polls != d.pending+1 {
		t.Fatalf("move ended %+v after %d polls", p.Failure, polls)
	}
	places, err := a.Locate(ctx, tenant, srcSub, "app", ids, targetRG())
	if err != nil {
		t.Fatal(err)
	}
	for i, pl := range places {
		if pl.Where != InTarget || !strings.HasPrefix(pl.TargetID, "/subscriptions/"+dstSub+"/") || pl.ID != ids[i] {
			t.Errorf("placement %+v", pl)
		}
	}
	// A retried step moves nothing again.
	again, err := a.Move(ctx, tenant, srcSub, "app", ids, targetRG())
	if err != nil || !again.Done || again.Failure != nil || d.moves != 1 {
		t.Fatalf("second Move = %+v, %v; %d moves started", again, err, d.moves)
	}
}

func TestMoveOnlyWhatIsLeftAndFailure(t *testing.T) {
	d := newARM()
	d.group(srcSub, "app", "westeurope", vm, ip)
	d.group(dstSub, "app", "westeurope", disk) // moved by an earlier, crashed run
	d.pending = 0
	a, _ := newAzure(t, d)
	ctx := context.Background()
	ids := []string{resID(srcSub, "app", vm), resID(srcSub, "app", disk), resID(srcSub, "app", ip), resID(srcSub, "app", resState{"Microsoft.Web/sites", "gone"})}

	places, err := a.Locate(ctx, tenant, srcSub, "app", ids, targetRG())
	if err != nil {
		t.Fatal(err)
	}
	want := []Where{InSource, InTarget, InSource, Missing}
	for i, pl := range places {
		if pl.Where != want[i] {
			t.Errorf("%s: %s; want %s", pl.ID, pl.Where, want[i])
		}
	}
	p, err := a.Move(ctx, tenant, srcSub, "app", ids, targetRG())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Moving) != 2 || p.Moving[0] != ids[0] || p.Moving[1] != ids[2] {
		t.Errorf("moving %v; want only the resources still in the source", p.Moving)
	}
	for !p.Done {
		if p, err = a.Follow(ctx, tenant, srcSub, p.Token); err != nil {
			t.Fatal(err)
		}
	}
	if p.Failure == nil || p.Failure.Code != "ResourceMoveProviderValidationFailed" || len(p.Failure.Blocked) != 1 || p.Failure.Blocked[0].ID != ids[2] || p.Failure.Blocked[0].Code != "MoveNotSupported" {
		t.Fatalf("failure %+v", p.Failure)
	}
	if len(d.subs[srcSub]["app"].resources) != 2 {
		t.Error("a failed move moved something")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*armDouble)
		want  error
		code  apperr.Code
	}{
		{"consent revoked", func(d *armDouble) { d.status = 401 }, ownership.ErrConsentRevoked, apperr.ConsentRevoked},
		{"no Owner", func(d *armDouble) { d.status = 403 }, ErrNoAccess, apperr.OwnershipPending},
		{"throttled beyond the retries", func(d *armDouble) { d.throttle = 10 }, ownership.ErrUnavailable, apperr.AzureUnavailable},
		{"Azure failing", func(d *armDouble) { d.status = 503 }, ownership.ErrUnavailable, apperr.AzureUnavailable},
		{"target group missing", func(d *armDouble) { delete(d.subs, dstSub) }, ErrNotFound, apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newARM()
			d.group(srcSub, "app", "westeurope", vm)
			d.group(dstSub, "app", "westeurope")
			tt.setup(d)
			a, _ := newAzure(t, d)
			_, err := a.Validate(context.Background(), tenant, srcSub, "app", []string{resID(srcSub, "app", vm)}, targetRG())
			if !errors.Is(err, tt.want) || apperr.As(err).Code != tt.code {
				t.Fatalf("Validate = %v; want %v (%s)", err, tt.want, tt.code)
			}
		})
	}
	t.Run("throttled then answered", func(t *testing.T) {
		d := newARM()
		d.group(srcSub, "app", "westeurope", vm)
		d.throttle = 2
		a, _ := newAzure(t, d)
		if _, err := a.Inventory(context.Background(), tenant, srcSub); err != nil {
			t.Fatalf("Inventory after two 429s: %v", err)
		}
	})
	t.Run("garbage token", func(t *testing.T) {
		a, _ := newAzure(t, newARM())
		if _, err := a.Follow(context.Background(), tenant, srcSub, "not a token"); !errors.Is(err, ErrRejected) {
			t.Fatalf("Follow with a bad token = %v", err)
		}
	})
}
