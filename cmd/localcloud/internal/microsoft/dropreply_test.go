package microsoft

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/billing/armbilling"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// wantLostReply checks how a call whose reply was dropped failed: with
// status 0 the connection is cut, which the SDK reports as a transport
// error (no response); otherwise the answer is the fault's status.
func wantLostReply(t *testing.T, err error, status int) {
	t.Helper()
	var re *azcore.ResponseError
	switch {
	case err == nil:
		t.Fatal("the call succeeded; want its reply lost")
	case status == 0 && errors.As(err, &re):
		t.Fatalf("got the answer %d %s; want a transport error (connection cut)", re.StatusCode, re.ErrorCode)
	case status != 0 && (!errors.As(err, &re) || re.StatusCode != status):
		t.Fatalf("got %v; want the fault's %d", err, status)
	}
}

func TestDropReplyOnAMoveStartsItAndLocksItsGroups(t *testing.T) {
	for _, status := range []int{0, 503} {
		t.Run(map[int]string{0: "connection cut", 503: "503 instead"}[status], func(t *testing.T) {
			e, clock, _ := movesEnv(t)
			ctx := context.Background()
			once, gc := armresourcesClients(t, e, -1)
			retrying, _ := armresourcesClients(t, e, 3)
			if _, err := gc.CreateOrUpdate(ctx, "contoso-target", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
				t.Fatal(err)
			}
			if err := e.srv.SetFault(Fault{Call: CallMoveResources, DropReply: true, Status: status, Count: 1}); err != nil {
				t.Fatal(err)
			}

			_, err := once.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, webApp, webPlan), nil)
			wantLostReply(t, err, status)

			// The move was performed: it runs, and locks both groups.
			ops := e.srv.State().Operations
			if len(ops) != 1 || ops[0].Kind != "moveResources" || ops[0].Status != "Running" || ops[0].SourceResourceGroup != webGroup || ops[0].TargetResourceGroup != targetGroup {
				t.Fatalf("operations after the lost reply: %+v", ops)
			}
			// A retried move (the SDK's own retries included) meets the lock.
			_, err = retrying.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, webApp, webPlan), nil)
			wantScopeLocked(t, err, webGroup, targetGroup)
			_, err = gc.CreateOrUpdate(ctx, "contoso-target", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
			wantScopeLocked(t, err, targetGroup)

			// Nobody polls it (its Location was lost); it ends on the clock
			// and moves the resources once.
			clock.Add(2 * time.Second)
			ops = e.srv.State().Operations
			if len(ops) != 1 || ops[0].Status != "Succeeded" {
				t.Fatalf("operations after the move's time: %+v", ops)
			}
			n := 0
			for pager := retrying.NewListByResourceGroupPager("contoso-target", nil); pager.More(); {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				n += len(page.Value)
			}
			if n != 2 {
				t.Fatalf("the target lists %d resources, want the 2 moved", n)
			}
			// A retry now finds the resources gone from the source.
			_, err = retrying.BeginMoveResources(ctx, "contoso-web", moveInfo(targetGroup, webApp, webPlan), nil)
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != 404 || re.ErrorCode != "ResourceNotFound" {
				t.Fatalf("a move retried after it ended: %v; want 404 ResourceNotFound", err)
			}
		})
	}
}

func TestDropReplyOnATransferCreatesItOnce(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		maxRetries int32 // of the client that meets the fault
	}{
		{"connection cut, no retry", 0, -1},
		{"500 instead, no retry", 500, -1},
		// The SDK retries a PUT after a transport error; the retry finds
		// the transfer the first attempt created.
		{"connection cut, the SDK retries", 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := transfersEnv(t, nil)
			ctx := context.Background()
			client := func(maxRetries int32) *armbilling.PartnerTransfersClient {
				opts := e.armOptions()
				opts.Retry.MaxRetries = maxRetries
				c, err := armbilling.NewPartnerTransfersClient(e.credential(t, partnerTenant, partnerApp, partnerSecret), opts)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			first, again := client(tc.maxRetries), client(-1)
			req := armbilling.PartnerInitiateTransferRequest{Properties: &armbilling.PartnerInitiateTransferProperties{RecipientEmailID: to.Ptr(billingOwner)}}
			if err := e.srv.SetFault(Fault{Call: CallTransfersInitiate, DropReply: true, Status: tc.status, Count: 1}); err != nil {
				t.Fatal(err)
			}

			_, err := first.Initiate(ctx, billingAccount, billingProfile, contosoTenant, "t-lost", req, nil)
			if tc.maxRetries < 0 {
				wantLostReply(t, err, tc.status)
				// The caller retries with the same name: the same transfer.
				got, err := again.Initiate(ctx, billingAccount, billingProfile, contosoTenant, "t-lost", req, nil)
				if err != nil || got.Name == nil || *got.Name != "t-lost" || got.Properties == nil || *got.Properties.TransferStatus != armbilling.TransferStatusPending {
					t.Fatalf("retried initiate = %+v, %v", got, err)
				}
			} else if err != nil {
				t.Fatalf("initiate with the SDK's retries: %v", err)
			}

			var names []string
			for pager := again.NewListPager(billingAccount, billingProfile, contosoTenant, nil); pager.More(); {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, tr := range page.Value {
					names = append(names, *tr.Name)
				}
			}
			if len(names) != 1 || names[0] != "t-lost" {
				t.Fatalf("transfers = %v, want t-lost once", names)
			}
		})
	}
}

func TestDropReplyIsRefusedWhereNothingIsCreated(t *testing.T) {
	e, _, _ := movesEnv(t)
	for _, call := range []string{"*", CallTransfers, CallTransfersGet, "moveResources", CallValidateMoveResources, CallMoveResourcesOperation, CallResourceGroupsCreate} {
		if err := e.srv.SetFault(Fault{Call: call, DropReply: true}); err == nil {
			t.Errorf("dropReply on %s was accepted", call)
		}
	}
	for _, call := range []string{CallTransfersInitiate, CallMoveResources, CallPartnerCenterCustomers, CallGraphCreateRelationship} {
		if err := e.srv.SetFault(Fault{Call: call, DropReply: true, Count: 1}); err != nil {
			t.Errorf("dropReply on %s: %v", call, err)
		}
	}
}
