package account

import (
	"reflect"
	"strings"
	"testing"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
)

// eligible is an account that passes every rule.
func eligible() Account {
	return Account{ID: "acct-eligible", Billable: true, USOffice: true}
}

func TestIneligibility(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Account)
		want   []Reason
	}{
		{"eligible", func(*Account) {}, nil},
		{"not billable", func(a *Account) { a.Billable = false }, []Reason{NotBillable}},
		{"reseller", func(a *Account) { a.Reseller = true }, []Reason{IsReseller}},
		{"reseller customer", func(a *Account) { a.ResellerCustomer = true }, []Reason{ResellerCustomer}},
		{"no US office", func(a *Account) { a.USOffice = false }, []Reason{NoUSOffice}},
		{"demo", func(a *Account) { a.Demo = true }, []Reason{DemoAccount}},
		{"internal", func(a *Account) { a.Internal = true }, []Reason{InternalAccount}},
		{"every reason", func(a *Account) {
			*a = Account{ID: a.ID, Reseller: true, ResellerCustomer: true, Demo: true, Internal: true}
		},
			[]Reason{NotBillable, IsReseller, ResellerCustomer, NoUSOffice, DemoAccount, InternalAccount}},
		{"two reasons", func(a *Account) { a.Demo, a.USOffice = true, false }, []Reason{NoUSOffice, DemoAccount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := eligible()
			tt.mutate(&a)
			if got := Ineligibility(&a); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Ineligibility = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("no account record", func(t *testing.T) {
		if got := Ineligibility(nil); !reflect.DeepEqual(got, []Reason{NotBillable}) {
			t.Fatalf("Ineligibility(nil) = %v", got)
		}
	})
}

func TestIneligibleError(t *testing.T) {
	reasons := []Reason{NotBillable, IsReseller, ResellerCustomer, NoUSOffice, DemoAccount, InternalAccount}
	e := IneligibleError(reasons, "help@partner.example")
	if e.Code != apperr.Ineligible || api.HTTPStatus(e.Code) != 422 {
		t.Fatalf("code = %s", e.Code)
	}
	if !strings.Contains(e.Message, "help@partner.example") {
		t.Errorf("message lacks the contact: %q", e.Message)
	}
	if len(e.Details) != len(reasons) {
		t.Fatalf("details = %+v", e.Details)
	}
	for i, r := range reasons {
		if e.Details[i].Code != string(r) || e.Details[i].Message == "" {
			t.Errorf("detail %d = %+v, want %s with a message", i, e.Details[i], r)
		}
	}
	if e.Extra["contact"] != "help@partner.example" || len(e.Extra["reasons"].([]string)) != len(reasons) {
		t.Errorf("extra = %+v", e.Extra)
	}
}
