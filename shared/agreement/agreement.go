// Package agreement decides how a subscription's billing can come under the
// partner, from what Azure Resource Manager says of it
// (subscriptionPolicies.quotaId and its state) and what Partner Center says
// of it (whether this partner already bills it).
//
// The quota id names the offer family a subscription was created under, not
// the billing agreement, and Microsoft reuses families across agreements:
// EnterpriseAgreement_2014-09-01 is an Enterprise Agreement subscription
// (MS-AZR-0017P) and equally a Microsoft Customer Agreement "Azure plan"
// (MS-AZR-0017G), whether that agreement was signed with a Microsoft
// representative (MCA-Enterprise) or online (MCA-individual);
// MSDNDevTest_2014-09-01 is Enterprise Dev/Test, Azure plan for Dev/Test,
// Pay-As-You-Go Dev/Test and Visual Studio Test Professional alike. Where the
// family alone cannot decide, Facts.Account (what the customer or the billing
// account says of the agreement) does; without it the rule takes the reading
// Microsoft's transfer support makes likeliest, and says so in the reason.
//
// The routes follow Microsoft's product transfer support matrix: only EA
// (direct) and MCA-Enterprise subscriptions can have their billing
// transferred to a partner's Microsoft Partner Agreement (a partner transfer
// request that the customer's billing administrator accepts). Pay-as-you-go
// (MOSP) and MCA-individual subscriptions have no transfer to a partner:
// their resources move to an Azure plan subscription the partner creates in
// the same tenant. Credit and benefit offers (Visual Studio, free trial,
// sponsorship, Azure Pass, internal, students) cannot come under a partner
// at all: their resources can only be recreated under the partner.
package agreement

import (
	"strings"
	"time"
)

// Route is how a subscription's billing comes under the partner.
type Route string

const (
	// BillingTransfer: a partner transfer request on the partner's billing
	// account, accepted by the customer's billing administrator.
	BillingTransfer Route = "billing_transfer"
	// MoveResources: an Azure plan subscription from Partner Center, then
	// each resource group's resources moved into it.
	MoveResources Route = "move_resources"
	// AlreadyPartner: the partner already bills the subscription.
	AlreadyPartner Route = "already_partner"
	// NotMovable: nothing can bring this subscription's billing under the
	// partner; the decision says why and what the customer can do.
	NotMovable Route = "not_movable"
)

// Kind is the agreement (or offer) a subscription is under, as shown to the
// platform user: a stable code.
type Kind string

const (
	Enterprise    Kind = "enterprise"      // EA, or an MCA Azure plan
	DevTest       Kind = "dev_test"        // one of the Dev/Test offers
	PayAsYouGo    Kind = "pay_as_you_go"   // Microsoft Online Subscription Program
	AzureInOpen   Kind = "azure_in_open"   // MOSP bought through Open licensing
	CSP           Kind = "csp"             // billed by a CSP partner
	CSPSandbox    Kind = "csp_sandbox"     // a partner's CSP integration sandbox
	VisualStudio  Kind = "visual_studio"   // Visual Studio (MSDN) subscriber credit
	PartnerCredit Kind = "partner_network" // Microsoft Cloud Partner Program benefit
	FreeTrial     Kind = "free_trial"
	Sponsorship   Kind = "sponsorship"
	AzurePass     Kind = "azure_pass"
	Students      Kind = "students"
	Startup       Kind = "startup"      // BizSpark and BizSpark Plus
	Internal      Kind = "internal"     // Microsoft internal
	SupportPlan   Kind = "support_plan" // a support plan's subscription
	Unknown       Kind = "unknown"
)

// Account is what is known of the customer's billing agreement beyond the
// quota id, when anything is: the billing account's type (armbilling
// accountType/agreementType), or what the customer told.
type Account string

const (
	// AccountUnknown: nothing beyond the quota id.
	AccountUnknown Account = ""
	// AccountEnterprise: a direct Enterprise Agreement or an MCA signed
	// with a Microsoft representative (agreementType EnterpriseAgreement,
	// or MicrosoftCustomerAgreement with accountType Enterprise).
	AccountEnterprise Account = "enterprise"
	// AccountIndividual: MCA signed online or MOSP (agreementType
	// MicrosoftCustomerAgreement with accountType Individual, or
	// MicrosoftOnlineServicesProgram).
	AccountIndividual Account = "individual"
)

// AccountFromBilling reads armbilling's agreementType and accountType of a
// billing account into an Account; AccountUnknown for anything else.
func AccountFromBilling(agreementType, accountType string) Account {
	switch strings.ToLower(agreementType) {
	case "enterpriseagreement":
		return AccountEnterprise
	case "microsoftonlineservicesprogram":
		return AccountIndividual
	case "microsoftcustomeragreement":
		switch strings.ToLower(accountType) {
		case "enterprise":
			return AccountEnterprise
		case "individual":
			return AccountIndividual
		}
	}
	return AccountUnknown
}

// Subscription states as Azure Resource Manager reports them.
const (
	StateEnabled  = "Enabled"
	StateWarned   = "Warned"
	StatePastDue  = "PastDue"
	StateDisabled = "Disabled"
	StateDeleted  = "Deleted"
)

// Facts are what the rule decides on.
type Facts struct {
	// QuotaID is subscriptionPolicies.quotaId.
	QuotaID string
	// State is the subscription's state; empty counts as Enabled.
	State string
	// BilledByPartner: Partner Center lists this subscription under this
	// partner for the customer (the customer's Azure plan or legacy Azure
	// offer with this partner). Only then is a CSP subscription the
	// partner's own.
	BilledByPartner bool
	// Account is what else is known of the billing agreement.
	Account Account
}

// Decision is the route of one subscription, with the reason in words the
// platform user and the customer's administrator understand, and what the
// customer can do (empty when nothing is asked of them).
type Decision struct {
	Agreement      Kind   `json:"agreement"`
	Route          Route  `json:"route"`
	Reason         string `json:"reason"`
	CustomerAction string `json:"customerAction,omitempty"`
}

const recreate = "Create the resources again in a subscription under the partner (the partner can create one), then cancel this subscription."

// Classify decides a subscription's route. It is total: every input has a
// decision, and anything it does not recognise is not movable.
func Classify(f Facts) Decision {
	q, ok := ParseQuotaID(f.QuotaID)
	family := ""
	if ok {
		family = strings.ToLower(q.Family)
	}
	rule, known := families[family]
	if !known {
		d := Decision{Agreement: Unknown, Route: NotMovable,
			Reason:         "The subscription's offer (quota id " + quote(f.QuotaID) + ") is not one whose billing can be moved to a partner.",
			CustomerAction: recreate}
		return withState(f, d)
	}
	d := rule(f)
	if d.Route == AlreadyPartner {
		return d
	}
	return withState(f, d)
}

// withState overrides a movable route when the subscription's state forbids
// any change of billing.
func withState(f Facts, d Decision) Decision {
	switch strings.ToLower(strings.TrimSpace(f.State)) {
	case "", "enabled", "warned":
		return d
	case "pastdue":
		return Decision{Agreement: d.Agreement, Route: NotMovable,
			Reason:         "The subscription has an overdue balance; Microsoft does not change the billing of a past-due subscription.",
			CustomerAction: "Settle the outstanding balance in the Azure portal (Cost Management + Billing), then ask the partner to check again."}
	case "disabled":
		return Decision{Agreement: d.Agreement, Route: NotMovable,
			Reason:         "The subscription is disabled; a disabled subscription's billing cannot be moved.",
			CustomerAction: "Reactivate the subscription in the Azure portal, then ask the partner to check again; or " + lowerFirst(recreate)}
	default: // Deleted, and any state Azure adds that is not in use
		return Decision{Agreement: d.Agreement, Route: NotMovable,
			Reason:         "The subscription is " + quote(f.State) + ", not in use; its billing cannot be moved.",
			CustomerAction: recreate}
	}
}

// families maps a quota id's family (lower case) to its rule.
var families = map[string]func(Facts) Decision{
	"enterpriseagreement": func(f Facts) Decision {
		if f.Account == AccountIndividual {
			return Decision{Agreement: Enterprise, Route: MoveResources,
				Reason:         "An Azure plan under a Microsoft Customer Agreement signed online: Microsoft offers no billing transfer from it to a partner, so its resources move to a subscription under the partner.",
				CustomerAction: "Grant the partner Owner on the subscription, so that its resources can be moved."}
		}
		reason := "An Enterprise Agreement or Microsoft Customer Agreement (Enterprise) subscription: its billing is transferred to the partner by a transfer request the customer accepts."
		if f.Account == AccountUnknown {
			reason += " (Its quota id is shared by Azure plans under an online Microsoft Customer Agreement; if that is this one, Microsoft refuses the transfer and its resources are moved instead.)"
		}
		return Decision{Agreement: Enterprise, Route: BillingTransfer, Reason: reason,
			CustomerAction: "A billing account owner (EA enterprise administrator, or MCA billing account owner) accepts the partner's transfer request in the Azure portal."}
	},
	"msdndevtest": func(f Facts) Decision {
		switch f.Account {
		case AccountEnterprise:
			return Decision{Agreement: DevTest, Route: BillingTransfer,
				Reason:         "An Enterprise Dev/Test subscription: it transfers like the agreement's other subscriptions, at the partner's standard (not Dev/Test) prices.",
				CustomerAction: "A billing account owner accepts the partner's transfer request in the Azure portal."}
		case AccountIndividual:
			return Decision{Agreement: DevTest, Route: MoveResources,
				Reason:         "A Pay-As-You-Go Dev/Test subscription: Microsoft offers no billing transfer from it to a partner, so its resources move to a subscription under the partner (at standard prices).",
				CustomerAction: "Grant the partner Owner on the subscription, so that its resources can be moved."}
		}
		return Decision{Agreement: DevTest, Route: NotMovable,
			Reason:         "A Dev/Test subscription: its quota id does not tell an Enterprise Dev/Test subscription (which can transfer) from a Visual Studio subscriber's (which cannot).",
			CustomerAction: "If it belongs to an Enterprise Agreement or Microsoft Customer Agreement, tell the partner so that it is transferred; otherwise " + lowerFirst(recreate)}
	},
	"payasyougo":  moveRule(PayAsYouGo, "A pay-as-you-go (Microsoft Online Subscription Program) subscription"),
	"azureinopen": moveRule(AzureInOpen, "An Azure in Open subscription"),
	"csp":         cspRule,
	"csp_mg":      cspRule,
	"cspdevtest": notMovable(CSPSandbox, "A CSP integration sandbox subscription: it exists for a partner's tests and carries no customer billing.",
		"Create production resources in a subscription under the partner."),
	"msdn": notMovable(VisualStudio, "A Visual Studio (MSDN) subscriber subscription: its monthly credit belongs to the subscriber and cannot be billed by a partner.", recreate),
	"mpn":  notMovable(PartnerCredit, "A Microsoft Cloud Partner Program benefit subscription: its credit belongs to the program membership and cannot be billed by another partner.", recreate),
	"freetrial": notMovable(FreeTrial, "A free trial subscription: Microsoft does not transfer trial subscriptions.",
		"Upgrade the trial to pay-as-you-go in the Azure portal (its resources can then be moved to the partner), or "+lowerFirst(recreate)),
	"lightweighttrial": notMovable(FreeTrial, "A trial subscription: Microsoft does not transfer trial subscriptions.", recreate),
	"sponsored":        notMovable(Sponsorship, "An Azure Sponsorship subscription: Microsoft funds it, so no partner can bill it.", recreate),
	"azurepass":        notMovable(AzurePass, "An Azure Pass subscription: a prepaid promotional credit that cannot be billed by a partner.", recreate),
	"azureforstudents": notMovable(Students, "An Azure for Students subscription: an academic credit that cannot be billed by a partner.", recreate),
	"dreamspark":       notMovable(Students, "An Azure for Students Starter subscription: an academic offer that cannot be billed by a partner.", recreate),
	"bizspark":         notMovable(Startup, "A BizSpark subscription: a startup benefit credit that cannot be billed by a partner.", recreate),
	"bizsparkplus":     notMovable(Startup, "A BizSpark Plus subscription: a startup benefit credit that cannot be billed by a partner.", recreate),
	"internal":         notMovable(Internal, "A Microsoft internal subscription: it is not billed to a customer.", recreate),
	"default":          notMovable(SupportPlan, "A support plan's subscription: support plans do not transfer.", "Cancel the support plan and buy support through the partner."),
}

func moveRule(k Kind, what string) func(Facts) Decision {
	return func(Facts) Decision {
		return Decision{Agreement: k, Route: MoveResources,
			Reason:         what + ": Microsoft offers no billing transfer from it to a partner, so its resources move to a subscription under the partner.",
			CustomerAction: "Grant the partner Owner on the subscription, so that its resources can be moved."}
	}
}

func notMovable(k Kind, reason, action string) func(Facts) Decision {
	return func(Facts) Decision {
		return Decision{Agreement: k, Route: NotMovable, Reason: reason, CustomerAction: action}
	}
}

func cspRule(f Facts) Decision {
	if f.BilledByPartner {
		return Decision{Agreement: CSP, Route: AlreadyPartner,
			Reason: "The partner already bills this subscription through the Cloud Solution Provider program."}
	}
	return Decision{Agreement: CSP, Route: NotMovable,
		Reason:         "The subscription is billed by another Cloud Solution Provider partner.",
		CustomerAction: "Ask the partner to request a partner-to-partner transfer in Partner Center; the current partner must approve it."}
}

// QuotaID is a parsed subscriptionPolicies.quotaId: an offer family and the
// date that versions it ("PayAsYouGo_2014-09-01", "CSP_MG_2017-12-01").
type QuotaID struct {
	Family  string
	Version time.Time
}

// String is the quota id in Azure's form.
func (q QuotaID) String() string { return q.Family + "_" + q.Version.Format(time.DateOnly) }

// ParseQuotaID reads a quota id: a family of letters, digits and
// underscores, an underscore, and a date. Surrounding space is ignored;
// anything else is not a quota id (ok false).
func ParseQuotaID(s string) (q QuotaID, ok bool) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, '_')
	if i <= 0 || len(s)-i-1 != len(time.DateOnly) {
		return QuotaID{}, false
	}
	family, date := s[:i], s[i+1:]
	for _, r := range family {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return QuotaID{}, false
		}
	}
	v, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return QuotaID{}, false
	}
	return QuotaID{Family: family, Version: v}, true
}

func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return "'" + strings.ToValidUTF8(s, "") + "'"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
