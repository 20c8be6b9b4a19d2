package partnercenter

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// CustomerRelationship is what Partner Center shows of a tenant among the
// partner's customers.
type CustomerRelationship struct {
	// Found is false when the tenant is not among the partner's customers
	// (Partner Center answered 404): no relationship yet.
	Found       bool
	CustomerID  string
	TenantID    string
	Domain      string
	CompanyName string
	// RelationshipToPartner is Partner Center's word for it: "reseller",
	// "advisor", "none", …
	RelationshipToPartner string
}

// IsReseller reports whether the partner is the tenant's reseller: the
// customer accepted the reseller relationship.
func (r CustomerRelationship) IsReseller() bool {
	return r.Found && strings.EqualFold(r.RelationshipToPartner, "reseller")
}

// Customer reads the tenant as one of the partner's customers
// (GET /v1/customers/{tenantId}). A tenant Partner Center does not know as
// the partner's customer (404) is a result with Found false, not an error.
func (c *Client) Customer(ctx context.Context, tenantID string) (CustomerRelationship, error) {
	resp, err := c.send(ctx, ids(""), http.MethodGet, "/v1/customers/"+url.PathEscape(tenantID), nil)
	if err != nil {
		return CustomerRelationship{}, err
	}
	if resp.Status == http.StatusNotFound {
		return CustomerRelationship{TenantID: tenantID}, nil
	}
	if !resp.OK() {
		return CustomerRelationship{}, answerError(resp)
	}
	var out struct {
		ID             string `json:"id"`
		CompanyProfile struct {
			TenantID    string `json:"tenantId"`
			Domain      string `json:"domain"`
			CompanyName string `json:"companyName"`
		} `json:"companyProfile"`
		RelationshipToPartner string `json:"relationshipToPartner"`
	}
	if err := resp.Decode(&out); err != nil || out.ID == "" {
		return CustomerRelationship{}, unavailable("malformed customer", err)
	}
	tenant := out.CompanyProfile.TenantID
	if tenant == "" {
		tenant = out.ID // Partner Center's customer id is the tenant id
	}
	return CustomerRelationship{
		Found: true, CustomerID: out.ID, TenantID: tenant,
		Domain: out.CompanyProfile.Domain, CompanyName: out.CompanyProfile.CompanyName,
		RelationshipToPartner: out.RelationshipToPartner,
	}, nil
}

// RelationshipRequestURL reads the partner's reseller relationship
// invitation link (GET /v1/customers/relationshiprequests); Partner Center
// documents the call for app+user tokens only, so the link is usually built
// instead (gdap.Links.ResellerInvitation).
func (c *Client) RelationshipRequestURL(ctx context.Context) (string, error) {
	var out struct {
		URL string `json:"url"`
	}
	if err := c.do(ctx, ids(""), http.MethodGet, "/v1/customers/relationshiprequests", nil, &out); err != nil {
		return "", err
	}
	if out.URL == "" {
		return "", unavailable("relationship request without a url", nil)
	}
	return out.URL, nil
}
