package main

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Limits of an account record.
const (
	MaxAccountIDLen = api.MaxAccountIDLen
	MaxNameRunes    = 200
)

// AccountWriter is what PUT /accounts/{accountId} needs from the store.
type AccountWriter interface {
	PutAccount(ctx context.Context, a account.Account) error
}

// Handler serves PUT /accounts/{accountId}: an operator writes an account's
// eligibility attributes (account.Ineligibility decides with them).
type Handler struct {
	Store AccountWriter
	Now   func() time.Time
	// OperatorRole is the roles-claim value of operators (OPERATOR_ROLE);
	// "" is api.DefaultOperatorRole.
	OperatorRole string
}

// accountBody is the request body; every boolean is required, so each is a pointer.
type accountBody struct {
	Name             *string `json:"name"`
	Billable         *bool   `json:"billable"`
	Reseller         *bool   `json:"reseller"`
	ResellerCustomer *bool   `json:"resellerCustomer"`
	USOffice         *bool   `json:"usOffice"`
	Demo             *bool   `json:"demo"`
	Internal         *bool   `json:"internal"`
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	if !caller.IsOperator(h.OperatorRole) {
		return api.Response{}, apperr.New(apperr.OperatorRequired, "Only operators may change account records.")
	}
	id := req.PathParameters["accountId"]
	if !validAccountID(id) {
		return api.Response{}, apperr.New(apperr.InvalidRequest, "The account id in the path is invalid.",
			apperr.Detail{Field: "accountId", Code: "invalid", Message: fmt.Sprintf("1 to %d printable characters without '#'", MaxAccountIDLen)})
	}
	raw, err := api.LimitedBody(req, provider.MaxBodyBytes)
	if err != nil {
		return api.Response{}, err
	}
	var body accountBody
	if err := provider.DecodeStrict(raw, &body); err != nil {
		return api.Response{}, err
	}
	a, details := body.account(id)
	if len(details) > 0 {
		return api.Response{}, apperr.New(apperr.InvalidRequest, "The request has invalid fields.", details...)
	}
	a.UpdatedAt = h.Now().UTC()
	a.UpdatedBy = "operator:" + caller.UserID
	if err := h.Store.PutAccount(ctx, a); err != nil {
		return api.Response{}, err
	}
	logging.From(ctx).Info("account updated", "account_id", a.ID, "eligible", len(account.Ineligibility(&a)) == 0)
	return api.JSON(req, api.StatusOK, a), nil
}

// account validates the body and builds the record of account id.
func (b accountBody) account(id string) (account.Account, []apperr.Detail) {
	var d []apperr.Detail
	flag := func(field string, v *bool) bool {
		if v == nil {
			d = append(d, apperr.Detail{Field: field, Code: "required", Message: "must be true or false"})
			return false
		}
		return *v
	}
	a := account.Account{
		ID:               id,
		Billable:         flag("billable", b.Billable),
		Reseller:         flag("reseller", b.Reseller),
		ResellerCustomer: flag("resellerCustomer", b.ResellerCustomer),
		USOffice:         flag("usOffice", b.USOffice),
		Demo:             flag("demo", b.Demo),
		Internal:         flag("internal", b.Internal),
	}
	if b.Name != nil {
		a.Name = *b.Name
		if msg := validateName(a.Name); msg != "" {
			d = append(d, apperr.Detail{Field: "name", Code: "invalid", Message: msg})
		}
	}
	return a, d
}

// validateName accepts an empty name (none) or up to 200 printable
// characters without surrounding white space: it appears in emails.
func validateName(name string) string {
	if name == "" {
		return ""
	}
	if utf8.RuneCountInString(name) > MaxNameRunes {
		return fmt.Sprintf("must be at most %d characters", MaxNameRunes)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "must contain printable characters only"
		}
	}
	if name != strings.TrimSpace(name) {
		return "must not start or end with white space"
	}
	return ""
}

// validAccountID is the account_id claim's rule (api.ValidAccountID), with
// no surrounding white space: an account written here is one a token can name.
func validAccountID(id string) bool {
	return strings.TrimSpace(id) == id && api.ValidAccountID(id)
}
