package provider

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

var at = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

func migration(status Status) *Provider {
	confirmed := at.Add(-time.Hour)
	return &Provider{AccountID: "acct-1", ID: "prv_1", Name: "Contoso", Type: TypeAzure, Option: OptionMigrate, Status: status,
		TenantID: "tenant-1", PrincipalID: "sp-oid", ConsentedAt: &confirmed,
		Subscriptions: []Subscription{{ID: "sub-a", State: SubscriptionOwned, ConfirmedAt: &confirmed}, {ID: "sub-b", State: SubscriptionOwned, ConfirmedAt: &confirmed}}}
}

// TestOwnerPrincipalID: the operator's principal wins over the partner
// application's, everywhere the principal is named.
func TestOwnerPrincipalID(t *testing.T) {
	p := migration(StatusAwaitingOwnerAccess)
	p.Subscriptions[1].State = SubscriptionMissingOwner
	if p.OwnerPrincipalID() != "sp-oid" || !strings.Contains(p.NextStep(), "grant Owner to sp-oid") {
		t.Fatalf("principal %q, next step %q", p.OwnerPrincipalID(), p.NextStep())
	}
	if err := p.SetOwnerPrincipal("op-guid", "operator:o", at); err != nil {
		t.Fatal(err)
	}
	if p.OwnerPrincipalID() != "op-guid" || !strings.Contains(p.NextStep(), "grant Owner to op-guid") {
		t.Fatalf("principal %q, next step %q", p.OwnerPrincipalID(), p.NextStep())
	}
	p.Activate("", at)
	if !strings.Contains(strings.Join(PermissionLines(p.Permissions), "\n"), "Owner on /subscriptions/sub-a for principal op-guid") {
		t.Fatalf("permissions %v", p.Permissions)
	}
	if err := p.SetOwnerPrincipal("", "operator:o", at); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("set on an active provider: %v", err)
	}
}

// TestRecordOutcome: what active records, the reasons of the other
// outcomes, and outcomes that change nothing.
func TestRecordOutcome(t *testing.T) {
	p := migration(StatusAwaitingOwnerAccess)
	if changed, err := p.RecordOutcome(StatusActive, "tenant-2", "", at); !changed || err != nil {
		t.Fatalf("active: %v, %v", changed, err)
	}
	if p.Status != StatusActive || p.TenantID != "tenant-2" || p.Billing != BillingConsolidated || !p.BillingFrom.Equal(at) ||
		len(p.Permissions) != 3 || !strings.Contains(p.Timeline[len(p.Timeline)-1].What, "2 subscription(s)") {
		t.Fatalf("active provider %+v", p)
	}
	if changed, _ := p.RecordOutcome(StatusActive, "", "", at); changed {
		t.Fatal("a repeated outcome changed the provider")
	}

	n := migration(StatusProvisioning)
	n.Option = OptionNew
	n.RecordCustomerRelationship("reseller", at)
	n.RecordPlanSubscriptions([]PlanSubscription{{ID: "A0000000-0000-4000-8000-00000000000A", DisplayName: "Azure plan", PlanID: "plan-1"}}, at)
	n.Activate("tenant-new", at)
	if len(n.Permissions) != 2 || n.Permissions[0].Kind != PermissionReseller || n.Permissions[1].Kind != PermissionAzurePlan || !n.Permissions[0].ObservedAt.Equal(at) ||
		n.Permissions[1].ID != "a0000000-0000-4000-8000-00000000000a" || !n.Permissions[1].ObservedAt.Equal(at) {
		t.Fatalf("new customer permissions %+v", n.Permissions)
	}
	// Only what Partner Center listed: a subscription recorded otherwise
	// (not consolidated) is no Azure plan permission.
	n.Subscriptions = append(n.Subscriptions, Subscription{ID: "b", State: SubscriptionPending, ConfirmedAt: &at})
	if perms := n.ObservedPermissions(); len(perms) != 2 {
		t.Fatalf("permissions with an unconfirmed subscription %+v", perms)
	}

	for _, tt := range []struct {
		outcome Status
		code    apperr.Code
		want    string
	}{
		{StatusDeclined, "", "declined to authorize"},
		{StatusExpired, apperr.InvitationExpired, "invitation expired"},
		{StatusFailed, apperr.OwnershipDeadlineExceeded, "before the deadline"},
		{StatusFailed, apperr.Timeout, "timed out"},
		{StatusFailed, "", "internal error"},
	} {
		p := migration(StatusPendingConsent)
		if tt.outcome == StatusFailed {
			p.Status = StatusAwaitingOwnerAccess
		}
		if changed, err := p.RecordOutcome(tt.outcome, "", tt.code, at); !changed || err != nil || p.Status != tt.outcome || !strings.Contains(p.FailureReason, tt.want) {
			t.Errorf("%s/%s: %v, %v; status %s, reason %q", tt.outcome, tt.code, changed, err, p.Status, p.FailureReason)
		}
	}
	c := migration(StatusCancelled)
	if changed, err := c.RecordOutcome(StatusFailed, "", "", at); changed || err != nil || c.Status != StatusCancelled {
		t.Fatalf("cancelled meanwhile: %v, %v, %s", changed, err, c.Status)
	}
	d := migration(StatusAwaitingOwnerAccess)
	if _, err := d.RecordOutcome(StatusDeclined, "", "", at); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("declined after consent: %v", err)
	}
}

// TestCancelAndDelete: who may delete which provider, and when.
func TestCancelAndDelete(t *testing.T) {
	p := migration(StatusPendingConsent)
	if err := p.CheckDelete(true); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("deleting an open migration: %v", err)
	}
	if err := p.Cancel("user:u", at); err != nil || p.Status != StatusCancelled {
		t.Fatalf("cancel: %v, %s", err, p.Status)
	}
	if err := p.Cancel("user:u", at); !errors.Is(err, ErrAlreadyCancelled) {
		t.Fatalf("cancel again: %v", err)
	}
	if err := p.CheckDelete(false); !apperr.Is(err, apperr.AdminRequired) {
		t.Fatalf("a member deletes a migration: %v", err)
	}
	if err := p.CheckDelete(true); err != nil {
		t.Fatalf("an administrator deletes a cancelled migration: %v", err)
	}
	if err := migration(StatusActive).Cancel("user:u", at); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("cancel an active provider: %v", err)
	}
	existing := New(CreateRequest{Name: "Direct", Option: OptionExisting, ExistingCredentials: ExistingCredentials{TenantID: "t", ClientID: "c", SubscriptionID: "s"}},
		Requester{AccountID: "acct-1", UserID: "u"}, at)
	if existing.Status != StatusActive || existing.Billing != BillingCustomerDirect || existing.CheckDelete(false) != nil {
		t.Fatalf("existing provider %+v", existing)
	}
}

// TestNew: each option's provider, and who may pick it.
func TestNew(t *testing.T) {
	r := Requester{AccountID: "acct-1", UserID: "u1", Name: "Dana", Email: "dana@example.com"}
	m := New(CreateRequest{Name: "M", Option: OptionMigrate, AzureAdminEmail: "it@contoso.com", SubscriptionIDs: []string{"s1"}}, r, at)
	if m.Status != StatusPendingConsent || m.CreatedBy != "user:u1" || len(m.Subscriptions) != 1 || m.Subscriptions[0].State != SubscriptionPending ||
		strings.Contains(m.Timeline[0].What, "it@contoso.com") {
		t.Fatalf("migration %+v", m)
	}
	n := New(CreateRequest{Name: "N", Option: OptionNew, Company: &Company{DomainPrefix: "fabrikam"}}, r, at)
	if n.Status != StatusProvisioning || n.Company.DomainPrefix != "fabrikam" || !strings.Contains(n.Timeline[0].What, "fabrikam.onmicrosoft.com") {
		t.Fatalf("new customer %+v", n)
	}
	for _, o := range []Option{OptionMigrate, OptionNew} {
		if !apperr.Is(CheckPick(o, false), apperr.AdminRequired) || CheckPick(o, true) != nil {
			t.Errorf("%s is not the administrators'", o)
		}
	}
	if CheckPick(OptionExisting, false) != nil || len(OptionsFor(false)) != 1 || len(OptionsFor(true)) != 3 {
		t.Error("existing is not every member's")
	}
}

// TestOutcomeEmailClaim: one claim, its link recorded with it, given back
// whole; another run's claim is left alone.
func TestOutcomeEmailClaim(t *testing.T) {
	p := migration(StatusActive)
	p.Option = OptionNew
	p.InitialAdmin = &InitialAdmin{UserName: "admin", SecretARN: "arn"}
	token, hash := NewLinkToken()
	if LinkHash(token) != hash || len(token) < 43 {
		t.Fatalf("token %q", token)
	}
	if claimed, link := p.ClaimOutcomeEmail("run-1", hash, at); !claimed || !link || p.InitialAdmin.TokenHash != hash {
		t.Fatalf("first claim: %v %v", claimed, link)
	}
	if claimed, link := p.ClaimOutcomeEmail("run-1", hash, at); !claimed || !link {
		t.Fatal("the same run does not recognise its claim")
	}
	if claimed, _ := p.ClaimOutcomeEmail("run-2", "other", at); claimed {
		t.Fatal("a second run claimed the email")
	}
	p.UnclaimOutcomeEmail("run-2", "other")
	if !p.OutcomeEmailSent {
		t.Fatal("another run gave back the claim")
	}
	p.UnclaimOutcomeEmail("run-1", hash)
	if p.OutcomeEmailSent || p.InitialAdmin.TokenHash != "" {
		t.Fatalf("claim not given back: %+v", p.InitialAdmin)
	}
}

// TestCredentialsLink: the link opens once, before its expiry.
func TestCredentialsLink(t *testing.T) {
	token, hash := NewLinkToken()
	exp := at.Add(time.Hour)
	p := &Provider{Status: StatusActive, InitialAdmin: &InitialAdmin{SecretARN: "arn", TokenHash: hash, ExpiresAt: &exp}}
	if err := p.CheckCredentialsLink("not-the-token", at); !errors.Is(err, ErrLinkUnknown) {
		t.Fatalf("wrong token: %v", err)
	}
	if err := p.CheckCredentialsLink(token, exp); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	if err := p.CheckCredentialsLink(token, at); err != nil {
		t.Fatal(err)
	}
	if err := p.RecordCredentialsShown(hash, "claim-1", at); err != nil {
		t.Fatal(err)
	}
	// The same request again (its write's reply was lost): still its use.
	if err := p.RecordCredentialsShown(hash, "claim-1", at); err != nil {
		t.Fatalf("the same claim again: %v", err)
	}
	if err := p.RecordCredentialsShown(hash, "claim-2", at); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("second use: %v", err)
	}
	if err := p.CheckCredentialsLink(token, at); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("after use: %v", err)
	}
}

// TestInvitationEmailClaim: a due email is claimed once and given back
// whole when its send fails.
func TestInvitationEmailClaim(t *testing.T) {
	p := migration(StatusPendingConsent)
	p.AzureAdminEmail = "it-admin@contoso.com"
	if err := p.StartInvitation("nonce", "hash"); err != nil || p.StartInvitation("other", "other") != nil || p.Invitation.Nonce != "nonce" {
		t.Fatalf("start: %v, %+v", err, p.Invitation)
	}
	s := DefaultInvitationSchedule
	exp := at.Add(s.Expiry)
	claimed, e := p.ClaimInvitationEmail(s, ActionSend, "run-1", exp, at)
	if !claimed || p.Invitation.SentAt == nil || strings.Contains(e.What, "it-admin@") || len(p.Timeline) != 1 {
		t.Fatalf("claim: %v, %+v", claimed, p.Invitation)
	}
	if again, _ := p.ClaimInvitationEmail(s, ActionSend, "run-2", exp, at); again {
		t.Fatal("a second run claimed the sent email")
	}
	p.UnclaimInvitationEmail(ActionSend, e)
	if p.Invitation.SentAt != nil || len(p.Timeline) != 0 || s.Due(p.Invitation, at) != ActionSend {
		t.Fatalf("unclaimed: %+v, %d events", p.Invitation, len(p.Timeline))
	}
	if err := migration(StatusAwaitingOwnerAccess).StartInvitation("n", "h"); !apperr.Is(err, apperr.InvalidState) {
		t.Fatalf("start after consent: %v", err)
	}
}

// TestOwnershipNotices: one notice when the wait starts, one near the
// deadline, each claimed once.
func TestOwnershipNotices(t *testing.T) {
	p := migration(StatusAwaitingOwnerAccess)
	p.Subscriptions[1].State = SubscriptionMissingOwner
	if err := p.RecordOwnershipCheck(p.Subscriptions, "sp-oid", false, at, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckOwned(); !apperr.Is(err, apperr.OwnershipPending) || !strings.Contains(err.Error(), "sub-b") {
		t.Fatalf("pending: %v", err)
	}
	warning := 36 * time.Hour
	if n := p.DueNotice(at, warning); n != NoticeWaitStarted || !p.ClaimNotice(n, at) || p.ClaimNotice(n, at) {
		t.Fatalf("start notice %q", n)
	}
	if n := p.DueNotice(at.Add(24*time.Hour), warning); n != "" {
		t.Fatalf("notice %q in the middle of the wait", n)
	}
	near := p.OwnershipWait.Deadline.Add(-warning)
	if n := p.DueNotice(near, warning); n != NoticeDeadlineNear || !p.ClaimNotice(n, near) || p.DueNotice(near, warning) != "" {
		t.Fatalf("deadline notice %q", n)
	}
	if err := p.CheckOwnershipDeadline(p.OwnershipWait.Deadline); !apperr.Is(err, apperr.OwnershipDeadlineExceeded) {
		t.Fatalf("at the deadline: %v", err)
	}
}

// TestTenantRefusal: a tenant held in the same organization is another
// migration in progress; elsewhere it is connected, and nobody is named.
func TestTenantRefusal(t *testing.T) {
	same, other := TenantRefusal("acct-1", "acct-1"), TenantRefusal("acct-1", "acct-2")
	if same.Code != apperr.MigrationInProgress || other.Code != apperr.TenantAlreadyConnected || strings.Contains(other.Message, "acct-2") {
		t.Fatalf("refusals %v / %v", same, other)
	}
	p := migration(StatusPendingConsent)
	if !p.RefuseTenant("tenant-9", other, at) || p.Status != StatusFailed || p.FailureCode != FailureTenantAlreadyConnected || p.NextStep() != other.Message {
		t.Fatalf("refused provider %+v", p)
	}
}
