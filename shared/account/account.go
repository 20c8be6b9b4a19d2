// Package account holds what the product knows of a platform account and its
// rules: the eligibility attributes an operator sets and which of them keep
// an account from the cloud-optimized options (Ineligibility), and the
// partner's and Microsoft's terms an account must accept first (Terms).
package account

import (
	"fmt"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// Account is the server-side record of a platform account. Its attributes are
// written by operators (PUT /accounts/{id}); never taken from a request body
// of the UI routes.
type Account struct {
	ID string `json:"accountId" dynamodbav:"accountId"`
	// Name is the organization's display name, used in emails.
	Name             string    `json:"name,omitempty" dynamodbav:"name,omitempty"`
	Billable         bool      `json:"billable" dynamodbav:"billable"`
	Reseller         bool      `json:"reseller" dynamodbav:"reseller"`
	ResellerCustomer bool      `json:"resellerCustomer" dynamodbav:"resellerCustomer"`
	USOffice         bool      `json:"usOffice" dynamodbav:"usOffice"`
	Demo             bool      `json:"demo" dynamodbav:"demo"`
	Internal         bool      `json:"internal" dynamodbav:"internal"`
	UpdatedAt        time.Time `json:"updatedAt" dynamodbav:"updatedAt"`
	UpdatedBy        string    `json:"updatedBy,omitempty" dynamodbav:"updatedBy,omitempty"`
}

// Reason is an eligibility reason code: why an account may not use a
// cloud-optimized option (every reason is answered at once).
type Reason string

const (
	NotBillable      Reason = "not_billable"
	IsReseller       Reason = "reseller"
	ResellerCustomer Reason = "reseller_customer"
	NoUSOffice       Reason = "no_us_office"
	DemoAccount      Reason = "demo_account"
	InternalAccount  Reason = "internal_account"
)

var reasonText = map[Reason]string{
	NotBillable:      "The account is not billable.",
	IsReseller:       "The account is a reseller.",
	ResellerCustomer: "The account is a customer of a reseller.",
	NoUSOffice:       "The account has no office in the United States.",
	DemoAccount:      "The account is a demo account.",
	InternalAccount:  "The account is an internal account.",
}

// Ineligibility returns every reason the account may not use a cloud-optimized
// option, in a fixed order; none means eligible. A missing account (nil) is
// treated as not billable: nothing is known of its billing.
func Ineligibility(a *Account) []Reason {
	if a == nil {
		return []Reason{NotBillable}
	}
	var rs []Reason
	if !a.Billable {
		rs = append(rs, NotBillable)
	}
	if a.Reseller {
		rs = append(rs, IsReseller)
	}
	if a.ResellerCustomer {
		rs = append(rs, ResellerCustomer)
	}
	if !a.USOffice {
		rs = append(rs, NoUSOffice)
	}
	if a.Demo {
		rs = append(rs, DemoAccount)
	}
	if a.Internal {
		rs = append(rs, InternalAccount)
	}
	return rs
}

// IneligibleError builds the 422 error with every reason and the contact address.
func IneligibleError(reasons []Reason, contact string) *apperr.Error {
	e := apperr.New(apperr.Ineligible, fmt.Sprintf("This account cannot use this option. Contact %s for special considerations.", contact))
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = string(r)
		e.Details = append(e.Details, apperr.Detail{Code: string(r), Message: reasonText[r]})
	}
	e.Extra = map[string]any{"reasons": codes, "contact": contact}
	return e
}

// DefaultContact is the address an ineligible account is told to write to
// for special considerations, unless CONTACT_EMAIL says otherwise.
const DefaultContact = "cloudintegration@partner.example"
