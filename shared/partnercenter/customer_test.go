package partnercenter

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// customers answers GET /v1/customers/{tenantId} as Partner Center
// documents it: the customer resource, or 404 for a tenant that is not the
// partner's customer.
func customers(known map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/customers/relationshiprequests" {
			w.Write([]byte(`{"url":"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=p&msppId=0&DAP=false#/BillingAccounts/partner-invitation","attributes":{"objectType":"CustomerRelationshipRequest"}}`))
			return
		}
		tenant := strings.TrimPrefix(r.URL.Path, "/v1/customers/")
		rel, ok := known[tenant]
		switch {
		case tenant == "boom":
			w.WriteHeader(http.StatusInternalServerError)
		case tenant == "forbidden":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"code":900,"description":"no access"}`))
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"code":600006,"description":"Customer not found","errorName":"CustomerNotFound"}`))
		default:
			w.Write([]byte(`{"id":"` + tenant + `","companyProfile":{"tenantId":"` + tenant + `","domain":"contoso.onmicrosoft.com","companyName":"Contoso"},"RelationshipToPartner":"` + rel + `","attributes":{"objectType":"Customer"}}`))
		}
	}
}

func TestCustomer(t *testing.T) {
	c, _, _ := client(t, customers(map[string]string{"t-reseller": "reseller", "t-advisor": "advisor", "t-none": "none"}))
	tests := []struct {
		tenant   string
		found    bool
		reseller bool
		err      error
	}{
		{"t-reseller", true, true, nil},
		{"t-advisor", true, false, nil},
		{"t-none", true, false, nil},
		{"t-unknown", false, false, nil},
		{"forbidden", false, false, ErrRejected},
		{"boom", false, false, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			got, err := c.Customer(context.Background(), tt.tenant)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got.Found != tt.found || got.IsReseller() != tt.reseller || got.TenantID != tt.tenant {
				t.Fatalf("Customer = %+v, %v", got, err)
			}
			if tt.found && (got.Domain != "contoso.onmicrosoft.com" || got.CompanyName != "Contoso") {
				t.Fatalf("Customer = %+v", got)
			}
		})
	}
	u, err := c.RelationshipRequestURL(context.Background())
	if err != nil || !strings.Contains(u, "invType=ResellerRelationship") {
		t.Fatalf("RelationshipRequestURL = %q, %v", u, err)
	}
}
