// Package billing asks Azure billing to transfer a customer's Enterprise
// Agreement or MCA-Enterprise subscriptions to the partner: a partner
// transfer request on the partner's Microsoft Partner Agreement billing
// account (Microsoft.Billing partnerTransfers, api-version 2024-04-01,
// through armbilling's PartnerTransfersClient), which the customer's billing
// administrator accepts in the Azure portal, choosing the subscriptions.
//
// Requests carry the partner application's token in the partner's own
// tenant. Azure Resource Manager's 429 and 5xx answers are retried by the
// azcore pipeline, honouring Retry-After; what still fails is
// ErrUnavailable. Errors are neutral (apperr codes), so the workflow
// adapter names them for the state machine.
package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/billing/armbilling"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
	"github.com/partnercloud/azure/shared/lazy"
	"github.com/partnercloud/azure/shared/ownership"
)

// Status is a transfer request's overall status, as Azure billing reports it.
type Status string

const (
	Pending             Status = "Pending"             // sent; the customer has not answered
	InProgress          Status = "InProgress"          // accepted; the products are moving
	Completed           Status = "Completed"           // every product moved
	CompletedWithErrors Status = "CompletedWithErrors" // some products moved; Products says which did not
	Declined            Status = "Declined"            // the customer declined
	Expired             Status = "Expired"             // nobody answered in time
	Failed              Status = "Failed"              // Microsoft could not perform it
	Canceled            Status = "Canceled"            // the partner canceled it
)

// Final reports whether the status can no longer change.
func (s Status) Final() bool {
	switch s {
	case Completed, CompletedWithErrors, Declined, Expired, Failed, Canceled:
		return true
	}
	return false
}

// Transfer is a partner transfer request as Azure billing reports it. It
// holds no email address (the recipient's and initiator's stay in Azure),
// so it can be stored and logged as it is.
type Transfer struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// ExpiresAt is when a request the customer has not accepted expires.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Products are the products of an accepted request (subscriptions,
	// reservations), each with its own status; empty before acceptance.
	Products []Product `json:"products,omitempty"`
}

// Product is one product of a transfer and how its transfer went.
type Product struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Type is AzureSubscription, AzureReservation or SavingsPlan.
	Type string `json:"type,omitempty"`
	SKU  string `json:"sku,omitempty"`
	// Status is NotStarted, InProgress, Completed or Failed.
	Status string `json:"status"`
	// ErrorCode and ErrorMessage are Microsoft's reason a product failed.
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// Product statuses.
const (
	ProductNotStarted = "NotStarted"
	ProductInProgress = "InProgress"
	ProductCompleted  = "Completed"
	ProductFailed     = "Failed"
)

// Errors of the adapter, neutral; test for them with errors.Is (each
// returned error wraps one, with Microsoft's code and message in its
// cause or details).
var (
	// ErrNotFound: no transfer request of that name.
	ErrNotFound = apperr.New(apperr.NotFound, "Azure billing has no such transfer request.")
	// ErrUnavailable: Azure throttled or failed after the retries, or was
	// not reached; try later.
	ErrUnavailable = apperr.New(apperr.AzureUnavailable, "Azure billing is not answering right now; nothing was changed. Try again in a few minutes.")
	// ErrCredentialsRejected: Microsoft Entra ID or Resource Manager refused
	// the partner application's credential in the partner's tenant: a
	// configuration problem, not worth retrying.
	ErrCredentialsRejected = apperr.New(apperr.CredentialsRejected, "Microsoft refused the partner application's credentials for Azure billing. Check the application's secret or certificate and PARTNER_TENANT_ID.")
	// ErrAccessDenied: the partner application holds no billing role that
	// lets it manage transfers on the partner's billing account.
	ErrAccessDenied = apperr.New(apperr.Rejected, "The partner application may not manage transfer requests on the partner's billing account. Give it a billing role (for example billing account contributor) on BILLING_ACCOUNT_ID.")
	// ErrRejected: Azure billing refused the request for good (a customer
	// without an Azure plan, an address that cannot receive the request, an
	// agreement that cannot transfer, a request that cannot be canceled);
	// the details carry Microsoft's code and message.
	ErrRejected = apperr.New(apperr.Rejected, "Azure billing refused the transfer request.")
	// ErrConflict: Azure billing refused to create the request because of
	// another one (typically a pending request for the same customer under
	// another name).
	ErrConflict = apperr.New(apperr.Rejected, "Azure billing refused the transfer request: another request for this customer is open.")
)

// Account is where the partner's transfer requests live: its Microsoft
// Partner Agreement billing account and billing profile, and optionally the
// indirect reseller the transferred subscriptions are sold through.
type Account struct {
	// BillingAccount is the billing account's name
	// ("<guid>:<guid>_2019-05-31").
	BillingAccount string
	// BillingProfile is the billing profile's name ("XXXX-XXXX-XXX-XXX").
	BillingProfile string
	// ResellerID is an indirect reseller's Partner ID (MPN id), or empty.
	ResellerID string
}

// Client manages partner transfer requests. Safe for concurrent use; the
// armbilling client is built on first use.
type Client struct {
	Account Account
	// Credential is the partner application's credential in the partner's
	// own tenant.
	Credential azcore.TokenCredential
	// Options carry the Resource Manager endpoint, the retries and the
	// transport.
	Options arm.ClientOptions

	transfers *lazy.Value[*armbilling.PartnerTransfersClient]
}

// New returns a client; it builds nothing until the first call.
func New(account Account, cred azcore.TokenCredential, opts arm.ClientOptions) *Client {
	c := &Client{Account: account, Credential: cred, Options: opts}
	c.transfers = lazy.New(func(context.Context) (*armbilling.PartnerTransfersClient, error) {
		return armbilling.NewPartnerTransfersClient(c.Credential, &c.Options)
	})
	return c
}

// FromEnv makes the client from PARTNER_TENANT_ID (the partner's own
// tenant, where its application's token is requested), BILLING_ACCOUNT_ID
// and BILLING_PROFILE_ID (the partner's Microsoft Partner Agreement billing
// account and profile, as Cost Management + Billing shows them),
// BILLING_RESELLER_ID (optional: an indirect reseller's Partner ID) and the
// partner application's settings (the Resource Manager endpoint from
// AZURE_RESOURCE_MANAGER_ENDPOINT). Problems are recorded in env; the
// secret is read on the first call.
func FromEnv(env *config.Env, partner *ownership.Partner) *Client {
	tenant := env.Required("PARTNER_TENANT_ID")
	account := Account{
		BillingAccount: env.Check("BILLING_ACCOUNT_ID", "", func(v string) string {
			if strings.TrimSpace(v) == "" {
				return "is required (the partner's Microsoft Partner Agreement billing account name)"
			}
			if strings.ContainsAny(v, "/?#") {
				return "must be the billing account's name, not its resource id"
			}
			return ""
		}),
		BillingProfile: env.Check("BILLING_PROFILE_ID", "", func(v string) string {
			if strings.TrimSpace(v) == "" {
				return "is required (the billing profile the partner's customers are billed under)"
			}
			if strings.ContainsAny(v, "/?#") {
				return "must be the billing profile's name, not its resource id"
			}
			return ""
		}),
		ResellerID: env.Optional("BILLING_RESELLER_ID", ""),
	}
	return New(account, partner.Credential(tenant), partner.Settings.ARMOptions(nil))
}

// TransferName is the name of the transfer request for a provider's
// subscription: stable (a retried step finds the request it made), 32
// lower-case letters and digits (valid in any Azure resource name and URL
// path), and different for each provider and subscription. attempt numbers
// the requests made after one ended without success (declined, expired):
// 0 and 1 name the first.
func TransferName(providerID, subscriptionID string, attempt int) string {
	key := providerID + "\x00" + strings.ToLower(strings.TrimSpace(subscriptionID))
	if attempt > 1 {
		key += "\x00" + strconv.Itoa(attempt)
	}
	sum := sha256.Sum256([]byte(key))
	return "pt" + hex.EncodeToString(sum[:15])
}

// Ensure returns the transfer request named name for the customer, creating
// it for recipientEmail (the customer's billing administrator) when there
// is none. customerID is the customer's name in the partner's billing
// account: its Microsoft Entra tenant id, the id Partner Center knows the
// customer by.
//
// It never makes a second request: it reads first, and creates by name
// (PUT is idempotent on the name). When the create is refused with 409
// Conflict (a create whose reply was lost and that a retry repeats, or a
// concurrent run), it reads again and returns the request if it is there;
// otherwise the conflict is another request's, ErrConflict. An existing
// request is returned as it is, whatever its status and recipient.
func (c *Client) Ensure(ctx context.Context, customerID, name, recipientEmail string) (Transfer, error) {
	t, err := c.Get(ctx, customerID, name)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return t, err
	}
	cl, err := c.transfers.Get(ctx)
	if err != nil {
		return Transfer{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req := armbilling.PartnerInitiateTransferRequest{Properties: &armbilling.PartnerInitiateTransferProperties{RecipientEmailID: &recipientEmail}}
	if c.Account.ResellerID != "" {
		req.Properties.ResellerID = &c.Account.ResellerID
	}
	resp, err := cl.Initiate(ctx, c.Account.BillingAccount, c.Account.BillingProfile, customerID, name, req, nil)
	if err == nil {
		return fromDetails(resp.PartnerTransferDetails), nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		// The billing account has no such customer: one without an Azure
		// plan under this billing profile.
		return Transfer{}, refusal(ErrRejected, re)
	}
	if errors.As(err, &re) && re.StatusCode == http.StatusConflict {
		t, gerr := c.Get(ctx, customerID, name)
		if gerr == nil {
			return t, nil
		}
		if errors.Is(gerr, ErrNotFound) {
			return Transfer{}, refusal(ErrConflict, re)
		}
		return Transfer{}, gerr
	}
	return Transfer{}, classify(err, "create the transfer request")
}

// Get reads the transfer request; ErrNotFound when there is none.
func (c *Client) Get(ctx context.Context, customerID, name string) (Transfer, error) {
	cl, err := c.transfers.Get(ctx)
	if err != nil {
		return Transfer{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	resp, err := cl.Get(ctx, c.Account.BillingAccount, c.Account.BillingProfile, customerID, name, nil)
	if err != nil {
		return Transfer{}, classify(err, "read the transfer request")
	}
	return fromDetails(resp.PartnerTransferDetails), nil
}

// Cancel cancels a request the customer has not accepted, so that the link
// in the customer's email no longer works. A request already canceled is
// returned as it is; one that cannot be canceled any more (accepted,
// declined, expired) is ErrRejected.
func (c *Client) Cancel(ctx context.Context, customerID, name string) (Transfer, error) {
	cl, err := c.transfers.Get(ctx)
	if err != nil {
		return Transfer{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	resp, err := cl.Cancel(ctx, c.Account.BillingAccount, c.Account.BillingProfile, customerID, name, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusConflict) {
			// A retried cancel whose first reply was lost finds the
			// request canceled already.
			if t, gerr := c.Get(ctx, customerID, name); gerr == nil && t.Status == Canceled {
				return t, nil
			}
		}
		return Transfer{}, classify(err, "cancel the transfer request")
	}
	return fromDetails(resp.PartnerTransferDetails), nil
}

func fromDetails(d armbilling.PartnerTransferDetails) Transfer {
	t := Transfer{Name: str(d.Name)}
	p := d.Properties
	if p == nil {
		return t
	}
	if p.TransferStatus != nil {
		t.Status = Status(*p.TransferStatus)
	}
	if p.ExpirationTime != nil {
		t.ExpiresAt = p.ExpirationTime.UTC()
	}
	for _, s := range p.DetailedTransferStatus {
		if s == nil {
			continue
		}
		pr := Product{ID: str(s.ProductID), Name: str(s.ProductName), SKU: str(s.SKUDescription)}
		if s.ProductType != nil {
			pr.Type = string(*s.ProductType)
		}
		if s.TransferStatus != nil {
			pr.Status = string(*s.TransferStatus)
		}
		if e := s.ErrorDetails; e != nil {
			pr.ErrorCode, pr.ErrorMessage = str(e.Code), str(e.Message)
		}
		t.Products = append(t.Products, pr)
	}
	return t
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// classify maps a failed call to a neutral error.
func classify(err error, what string) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w (%s)", ErrNotFound, re.ErrorCode)
		case re.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%w: Resource Manager refused the token (%s)", ErrCredentialsRejected, re.ErrorCode)
		case re.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w (%s)", ErrAccessDenied, re.ErrorCode)
		case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500 || re.StatusCode == http.StatusRequestTimeout:
			return fmt.Errorf("%w: %s: HTTP %d %s", ErrUnavailable, what, re.StatusCode, re.ErrorCode)
		}
		return refusal(ErrRejected, re)
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		s := afe.RawResponse.StatusCode
		if s >= 400 && s < 500 && s != http.StatusTooManyRequests && s != http.StatusRequestTimeout {
			return fmt.Errorf("%w (token request answered HTTP %d)", ErrCredentialsRejected, s)
		}
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
}

// refusal is base with Microsoft's code and message as a detail, wrapping
// base so that errors.Is still finds it.
func refusal(base *apperr.Error, re *azcore.ResponseError) error {
	code, msg := armError(re)
	return &apperr.Error{
		Code:    base.Code,
		Message: base.Message,
		Details: []apperr.Detail{{Code: code, Message: msg}},
		Cause:   fmt.Errorf("%w: HTTP %d %s: %s", base, re.StatusCode, code, msg),
	}
}

// armError reads Microsoft's code and message from an ARM error body
// ({"error": {"code", "message"}}), falling back on the x-ms-error-code
// header azcore already read.
func armError(re *azcore.ResponseError) (code, msg string) {
	code = re.ErrorCode
	if re.RawResponse != nil {
		if body, err := runtime.Payload(re.RawResponse); err == nil {
			var b struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &b) == nil {
				if b.Error.Code != "" {
					code = b.Error.Code
				}
				msg = b.Error.Message
			}
		}
	}
	if code == "" {
		code = http.StatusText(re.StatusCode)
	}
	return code, msg
}

// RequestURL is the Azure portal's page of a transfer request, where the
// customer's billing administrator reviews and accepts it, at the portal's
// base URL (https://portal.azure.com in Azure's public cloud).
func RequestURL(portal, name string) string {
	return strings.TrimSuffix(portal, "/") + "/?transferName=" + url.QueryEscape(name) +
		"#view/Microsoft_Azure_GTM/TransferDetails.ReactView/transferName/" + url.PathEscape(name)
}
