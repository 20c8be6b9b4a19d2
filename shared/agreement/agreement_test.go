package agreement

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		facts Facts
		kind  Kind
		route Route
	}{
		{"EA or MCA-Enterprise", Facts{QuotaID: "EnterpriseAgreement_2014-09-01"}, Enterprise, BillingTransfer},
		{"EA known enterprise", Facts{QuotaID: "EnterpriseAgreement_2014-09-01", Account: AccountEnterprise}, Enterprise, BillingTransfer},
		{"MCA individual Azure plan", Facts{QuotaID: "EnterpriseAgreement_2014-09-01", Account: AccountIndividual}, Enterprise, MoveResources},
		{"quota id case and space", Facts{QuotaID: "  enterpriseagreement_2014-09-01 ", State: "enabled"}, Enterprise, BillingTransfer},
		{"pay-as-you-go", Facts{QuotaID: "PayAsYouGo_2014-09-01"}, PayAsYouGo, MoveResources},
		{"pay-as-you-go warned still moves", Facts{QuotaID: "PayAsYouGo_2014-09-01", State: StateWarned}, PayAsYouGo, MoveResources},
		{"Azure in Open", Facts{QuotaID: "AzureInOpen_2014-09-01"}, AzureInOpen, MoveResources},
		{"Dev/Test unknown account", Facts{QuotaID: "MSDNDevTest_2014-09-01"}, DevTest, NotMovable},
		{"Enterprise Dev/Test", Facts{QuotaID: "MSDNDevTest_2014-09-01", Account: AccountEnterprise}, DevTest, BillingTransfer},
		{"Pay-As-You-Go Dev/Test", Facts{QuotaID: "MSDNDevTest_2014-09-01", Account: AccountIndividual}, DevTest, MoveResources},
		{"CSP billed by this partner", Facts{QuotaID: "CSP_2015-05-01", BilledByPartner: true}, CSP, AlreadyPartner},
		{"CSP billed by this partner even when disabled", Facts{QuotaID: "CSP_2015-05-01", BilledByPartner: true, State: StateDisabled}, CSP, AlreadyPartner},
		{"CSP of another partner", Facts{QuotaID: "CSP_2015-05-01"}, CSP, NotMovable},
		{"CSP management group offer", Facts{QuotaID: "CSP_MG_2017-12-01", BilledByPartner: true}, CSP, AlreadyPartner},
		{"CSP sandbox", Facts{QuotaID: "CSPDEVTEST_2018-05-01", BilledByPartner: true}, CSPSandbox, NotMovable},
		{"Visual Studio", Facts{QuotaID: "MSDN_2014-09-01"}, VisualStudio, NotMovable},
		{"partner benefit", Facts{QuotaID: "MPN_2014-09-01"}, PartnerCredit, NotMovable},
		{"free trial", Facts{QuotaID: "FreeTrial_2014-09-01"}, FreeTrial, NotMovable},
		{"lightweight trial", Facts{QuotaID: "LightweightTrial_2016-09-01"}, FreeTrial, NotMovable},
		{"sponsorship", Facts{QuotaID: "Sponsored_2016-01-01"}, Sponsorship, NotMovable},
		{"internal", Facts{QuotaID: "Internal_2014-09-01"}, Internal, NotMovable},
		{"Azure Pass", Facts{QuotaID: "AzurePass_2014-09-01"}, AzurePass, NotMovable},
		{"students", Facts{QuotaID: "AzureForStudents_2018-01-01"}, Students, NotMovable},
		{"students starter", Facts{QuotaID: "DreamSpark_2015-02-01"}, Students, NotMovable},
		{"BizSpark", Facts{QuotaID: "BizSpark_2014-09-01"}, Startup, NotMovable},
		{"support plan", Facts{QuotaID: "Default_2014-09-01"}, SupportPlan, NotMovable},
		{"unknown family", Facts{QuotaID: "Contoso_2020-01-01"}, Unknown, NotMovable},
		{"not a quota id", Facts{QuotaID: "PayAsYouGo"}, Unknown, NotMovable},
		{"empty", Facts{}, Unknown, NotMovable},
		{"disabled EA", Facts{QuotaID: "EnterpriseAgreement_2014-09-01", State: StateDisabled}, Enterprise, NotMovable},
		{"past due pay-as-you-go", Facts{QuotaID: "PayAsYouGo_2014-09-01", State: StatePastDue}, PayAsYouGo, NotMovable},
		{"deleted pay-as-you-go", Facts{QuotaID: "PayAsYouGo_2014-09-01", State: StateDeleted}, PayAsYouGo, NotMovable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.facts)
			if d.Agreement != tt.kind || d.Route != tt.route {
				t.Fatalf("Classify(%+v) = %s/%s; want %s/%s (%s)", tt.facts, d.Agreement, d.Route, tt.kind, tt.route, d.Reason)
			}
			if d.Reason == "" {
				t.Error("no reason")
			}
			if d.Route == NotMovable && d.CustomerAction == "" {
				t.Error("a not-movable subscription must say what the customer can do")
			}
		})
	}
}

func TestClassifyReasons(t *testing.T) {
	// The ambiguity of the EA quota id is said when the account is unknown,
	// and not when it is known.
	unknown := Classify(Facts{QuotaID: "EnterpriseAgreement_2014-09-01"})
	known := Classify(Facts{QuotaID: "EnterpriseAgreement_2014-09-01", Account: AccountEnterprise})
	if !strings.Contains(unknown.Reason, "online Microsoft Customer Agreement") || strings.Contains(known.Reason, "online Microsoft Customer Agreement") {
		t.Errorf("reasons: unknown %q, known %q", unknown.Reason, known.Reason)
	}
	past := Classify(Facts{QuotaID: "PayAsYouGo_2014-09-01", State: StatePastDue})
	if !strings.Contains(past.CustomerAction, "balance") {
		t.Errorf("past due action %q does not say to settle the balance", past.CustomerAction)
	}
	other := Classify(Facts{QuotaID: "CSP_2015-05-01"})
	if !strings.Contains(other.CustomerAction, "partner-to-partner") {
		t.Errorf("another partner's CSP action %q", other.CustomerAction)
	}
	long := Classify(Facts{QuotaID: strings.Repeat("x", 500)})
	if len(long.Reason) > 300 {
		t.Errorf("an unknown quota id is echoed whole: %d bytes", len(long.Reason))
	}
}

func TestAccountFromBilling(t *testing.T) {
	tests := []struct {
		agreement, account string
		want               Account
	}{
		{"EnterpriseAgreement", "Enterprise", AccountEnterprise},
		{"MicrosoftCustomerAgreement", "Enterprise", AccountEnterprise},
		{"MicrosoftCustomerAgreement", "Individual", AccountIndividual},
		{"MicrosoftCustomerAgreement", "Business", AccountUnknown},
		{"MicrosoftOnlineServicesProgram", "Individual", AccountIndividual},
		{"MicrosoftPartnerAgreement", "Partner", AccountUnknown},
		{"", "", AccountUnknown},
	}
	for _, tt := range tests {
		if got := AccountFromBilling(tt.agreement, tt.account); got != tt.want {
			t.Errorf("AccountFromBilling(%q, %q) = %q; want %q", tt.agreement, tt.account, got, tt.want)
		}
	}
}

func TestParseQuotaID(t *testing.T) {
	tests := []struct {
		in     string
		family string
		ok     bool
	}{
		{"PayAsYouGo_2014-09-01", "PayAsYouGo", true},
		{"CSP_MG_2017-12-01", "CSP_MG", true},
		{" MSDN_2014-09-01\n", "MSDN", true},
		{"PayAsYouGo", "", false},
		{"_2014-09-01", "", false},
		{"PayAsYouGo_2014-13-01", "", false},
		{"Pay As You Go_2014-09-01", "", false},
		{"PayAsYouGo_2014-09-011", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		q, ok := ParseQuotaID(tt.in)
		if ok != tt.ok || q.Family != tt.family {
			t.Errorf("ParseQuotaID(%q) = %+v, %v; want family %q, %v", tt.in, q, ok, tt.family, tt.ok)
		}
		if ok && q.String() != strings.TrimSpace(tt.in) {
			t.Errorf("ParseQuotaID(%q).String() = %q", tt.in, q.String())
		}
	}
}

// FuzzClassify: every input gets a decision with a known route and a
// reason in valid UTF-8; a parsed quota id prints back as it was read; and
// the letter case of a quota id never changes the decision.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"PayAsYouGo_2014-09-01", "EnterpriseAgreement_2014-09-01", "CSP_MG_2017-12-01", "x_0000-01-01", "\xff_2014-09-01", ""} {
		f.Add(s, "Enabled", false)
	}
	routes := map[Route]bool{BillingTransfer: true, MoveResources: true, AlreadyPartner: true, NotMovable: true}
	f.Fuzz(func(t *testing.T, quota, state string, billed bool) {
		d := Classify(Facts{QuotaID: quota, State: state, BilledByPartner: billed})
		if !routes[d.Route] || d.Reason == "" || !utf8.ValidString(d.Reason) || d.Agreement == "" {
			t.Fatalf("Classify(%q, %q) = %+v", quota, state, d)
		}
		if d.Route == NotMovable && d.CustomerAction == "" {
			t.Fatalf("Classify(%q, %q): not movable without a customer action", quota, state)
		}
		if isASCII(quota) {
			if up := Classify(Facts{QuotaID: strings.ToUpper(quota), State: state, BilledByPartner: billed}); up.Route != d.Route || up.Agreement != d.Agreement {
				t.Fatalf("letter case changed the decision of %q: %+v vs %+v", quota, d, up)
			}
		}
		if q, ok := ParseQuotaID(quota); ok {
			if again, ok := ParseQuotaID(q.String()); !ok || again != q {
				t.Fatalf("ParseQuotaID(%q) = %+v does not read back from %q", quota, q, q.String())
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
