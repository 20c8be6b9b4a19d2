package main

import (
	"context"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/gdap"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/store/storetest"
	"github.com/partnercloud/azure/shared/workflow"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fakeGraph keeps relationships by display name, as Graph's uniqueness does.
type fakeGraph struct {
	byName  map[string]*gdap.Relationship
	ensured []string
	locks   int
}

func (g *fakeGraph) Ensure(_ context.Context, req gdap.Request) (gdap.Relationship, error) {
	g.ensured = append(g.ensured, req.DisplayName)
	if r, ok := g.byName[req.DisplayName]; ok {
		return *r, nil
	}
	r := &gdap.Relationship{ID: "rel-" + req.DisplayName[len(gdap.DisplayNamePrefix):], DisplayName: req.DisplayName, Status: gdap.StatusCreated, Roles: gdap.DefaultRoles, AutoExtend: "P180D"}
	g.byName[req.DisplayName] = r
	return *r, nil
}

func (g *fakeGraph) Lock(_ context.Context, id string) error {
	g.locks++
	for _, r := range g.byName {
		if r.ID == id && r.Status == gdap.StatusCreated {
			r.Status = gdap.StatusApprovalPending
		}
	}
	return nil
}

func (g *fakeGraph) Get(_ context.Context, id string) (gdap.Relationship, error) {
	for _, r := range g.byName {
		if r.ID == id {
			return *r, nil
		}
	}
	return gdap.Relationship{}, gdap.ErrNotFound
}

// TestRequest: the relationship is named after the provider, locked, and
// recorded with its approval and reseller links; a retry (a lost reply, a
// crash between lock and record) finds the same relationship and makes no
// second one; an ended provider is refused.
func TestRequest(t *testing.T) {
	s, _ := storetest.NewTestStore(t)
	g := &fakeGraph{byName: map[string]*gdap.Relationship{}}
	links := gdap.Links{AdminCenter: "https://admin.example", PartnerTenantID: "partner-tenant"}
	h := &Handler{Store: s, Graph: g, Links: links, AccessGroupID: "group-1", Now: func() time.Time { return t0 }}
	p := &provider.Provider{AccountID: "acct-1", Name: "Contoso", Type: provider.TypeAzure, Option: provider.OptionMigrate, Status: provider.StatusPendingConsent, CreatedBy: "user:u"}
	if err := s.CreateProvider(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	in := workflow.RelationshipRequestInput{Input: workflow.Input{AccountID: "acct-1", ProviderID: p.ID}}
	out, err := h.Handle(context.Background(), in)
	if err != nil || out.Status != gdap.StatusApprovalPending || out.RelationshipID != "rel-"+p.ID {
		t.Fatalf("first run: %+v %v", out, err)
	}
	got, _ := s.GetProvider(context.Background(), "acct-1", p.ID)
	r := got.Relationships
	if r == nil || r.GDAPID != out.RelationshipID || r.ApprovalURL != links.Approval(out.RelationshipID) || r.ResellerURL != links.ResellerInvitation() ||
		r.AccessGroupID != "group-1" || r.GDAP.Status != gdap.StatusApprovalPending || len(got.Timeline) != 1 {
		t.Fatalf("recorded %+v, timeline %+v", r, got.Timeline)
	}

	// A retry: the same relationship, no second lock, nothing new recorded.
	if out2, err := h.Handle(context.Background(), in); err != nil || out2.RelationshipID != out.RelationshipID {
		t.Fatalf("retry: %+v %v", out2, err)
	}
	if len(g.byName) != 1 || g.locks != 1 || g.ensured[0] != gdap.DisplayName(p.ID) || g.ensured[1] != g.ensured[0] {
		t.Fatalf("relationships %d, locks %d, names %v", len(g.byName), g.locks, g.ensured)
	}
	again, _ := s.GetProvider(context.Background(), "acct-1", p.ID)
	if again.Version != got.Version {
		t.Errorf("a retry wrote the provider again (version %d → %d)", got.Version, again.Version)
	}

	if _, err := s.UpdateProvider(context.Background(), "acct-1", p.ID, func(q *provider.Provider) error { return q.Cancel("user:u", t0) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), in); workflow.ErrorName(err) != "InvalidInput" || apperr.Is(err, apperr.Internal) {
		t.Fatalf("a cancelled provider: %v", err)
	}
}
