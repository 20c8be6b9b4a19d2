package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/msid"
)

// Limits of a create request (the body of POST /providers).
const (
	MaxBodyBytes       = 64 << 10
	MaxNameRunes       = 100
	MaxEmailLen        = 254
	MaxSubscriptionIDs = 100
)

// AcceptedTerms are the terms versions the caller accepts in the request.
type AcceptedTerms struct {
	Partner   string `json:"partner"`
	Microsoft string `json:"microsoft"`
}

// MaxClientSecretLen bounds the client secret of the existing option.
const MaxClientSecretLen = 1024

// ExistingCredentials are the customer-owned app credentials of the existing
// option. The client secret goes to Secrets Manager only: never to the
// table, a log, an event or a response.
type ExistingCredentials struct {
	TenantID       string `json:"tenantId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	SubscriptionID string `json:"subscriptionId"`
}

// Company is the profile of a new customer (option new).
type Company struct {
	Name         string  `json:"name"`
	DomainPrefix string  `json:"domainPrefix"`
	Address      Address `json:"address"`
	Contact      Contact `json:"contact"`
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

// Contact is a person to contact.
type Contact struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// CreateRequest is the body of POST /providers.
type CreateRequest struct {
	Name            string `json:"name"`
	Type            string `json:"type"`
	Option          Option `json:"option"`
	AzureAdminEmail string `json:"azureAdminEmail,omitempty"`
	// BillingAdminEmail receives the billing transfer requests (option
	// migrate; default AzureAdminEmail).
	BillingAdminEmail string         `json:"billingAdminEmail,omitempty"`
	SubscriptionIDs   []string       `json:"subscriptionIds,omitempty"`
	AcceptedTerms     *AcceptedTerms `json:"acceptedTerms,omitempty"`
	ExistingCredentials
	Company *Company `json:"company,omitempty"`
}

// ParseCreateRequest decodes and validates a create request body. Every
// failure is an *apperr.Error: body_too_large, or invalid_request with one
// detail per field problem. Subscription ids come back lower-cased.
func ParseCreateRequest(body []byte) (CreateRequest, error) {
	var req CreateRequest
	if len(body) > MaxBodyBytes {
		return req, apperr.New(apperr.BodyTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", MaxBodyBytes))
	}
	if err := DecodeStrict(body, &req); err != nil {
		return req, err
	}
	if details := req.validate(); len(details) > 0 {
		return req, apperr.New(apperr.InvalidRequest, "The request has invalid fields.", details...)
	}
	for i, id := range req.SubscriptionIDs {
		req.SubscriptionIDs[i] = strings.ToLower(id)
	}
	if req.Option == OptionExisting {
		req.TenantID = strings.ToLower(req.TenantID)
		req.ClientID = strings.ToLower(req.ClientID)
		req.SubscriptionID = strings.ToLower(req.SubscriptionID)
	}
	return req, nil
}

// DecodeStrict decodes exactly one JSON value with no unknown fields into v.
// Every failure is an invalid_request *apperr.Error whose details name the
// field or the position, never echoing the input back.
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.New(apperr.InvalidRequest, "The request body is empty; a JSON object is required.")
	}
	if !utf8.Valid(body) {
		return apperr.New(apperr.InvalidRequest, "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apperr.New(apperr.InvalidRequest, "The request body is not a valid JSON object of the expected shape.", jsonDetail(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.New(apperr.InvalidRequest, "The request body must hold a single JSON object.")
	}
	return nil
}

// jsonDetail turns a decoding error into a safe detail (no input echoed back
// beyond a field name).
func jsonDetail(err error) apperr.Detail {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return apperr.Detail{Field: typeErr.Field, Code: "wrong_type", Message: fmt.Sprintf("must be a %s", jsonKind(typeErr.Type.Kind().String()))}
	case errors.As(err, &syntaxErr):
		return apperr.Detail{Code: "malformed_json", Message: fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(field) > 64 || !utf8.ValidString(field) {
			field = field[:0]
		}
		return apperr.Detail{Field: field, Code: "unknown_field", Message: "unknown field"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Detail{Code: "malformed_json", Message: "the JSON ends early"}
	}
	return apperr.Detail{Code: "malformed_json", Message: "not a JSON object"}
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	case "int", "int64", "float64":
		return "number"
	}
	return k
}

func (r *CreateRequest) validate() []apperr.Detail {
	var d []apperr.Detail
	add := func(field, code, msg string) { d = append(d, apperr.Detail{Field: field, Code: code, Message: msg}) }

	if msg := ValidateName(r.Name); msg != "" {
		add("name", "invalid", msg)
	}
	if r.Type != TypeAzure {
		add("type", "invalid", `must be "azure"`)
	}
	if _, ok := LookupOption(r.Option); !ok {
		add("option", "invalid", `must be one of "existing", "migrate", "new"`)
	}
	switch r.Option {
	case OptionMigrate:
		if msg := ValidateEmail(r.AzureAdminEmail); msg != "" {
			add("azureAdminEmail", "invalid", msg)
		}
		if r.BillingAdminEmail != "" {
			if msg := ValidateEmail(r.BillingAdminEmail); msg != "" {
				add("billingAdminEmail", "invalid", msg)
			}
		}
		if len(r.SubscriptionIDs) > MaxSubscriptionIDs {
			add("subscriptionIds", "too_many", fmt.Sprintf("at most %d subscription ids", MaxSubscriptionIDs))
		}
		seen := make(map[string]bool, len(r.SubscriptionIDs))
		for i, id := range r.SubscriptionIDs {
			field := fmt.Sprintf("subscriptionIds[%d]", i)
			if !msid.IsGUID(id) {
				add(field, "invalid", "must be a GUID (00000000-0000-0000-0000-000000000000)")
				continue
			}
			if seen[strings.ToLower(id)] {
				add(field, "duplicate", "listed more than once")
			}
			seen[strings.ToLower(id)] = true
		}
		if r.ExistingCredentials != (ExistingCredentials{}) {
			add("tenantId", "not_allowed", "credentials are only used with the existing option")
		}
		if r.Company != nil {
			add("company", "not_allowed", "company is only used with the new option")
		}
	case OptionExisting, OptionNew:
		if r.AzureAdminEmail != "" {
			add("azureAdminEmail", "not_allowed", "only used with the migrate option")
		}
		if r.BillingAdminEmail != "" {
			add("billingAdminEmail", "not_allowed", "only used with the migrate option")
		}
		if len(r.SubscriptionIDs) > 0 {
			add("subscriptionIds", "not_allowed", "only used with the migrate option")
		}
		if r.Option == OptionExisting {
			d = append(d, r.ExistingCredentials.validate()...)
			if r.Company != nil {
				add("company", "not_allowed", "company is only used with the new option")
			}
		}
		if r.Option == OptionNew {
			if r.ExistingCredentials != (ExistingCredentials{}) {
				add("tenantId", "not_allowed", "credentials are only used with the existing option")
			}
			if r.Company == nil {
				add("company", "required", "is required: the new customer's company profile")
			} else {
				d = append(d, r.Company.validate()...)
			}
		}
	}
	if r.AcceptedTerms != nil {
		for field, v := range map[string]string{"acceptedTerms.partner": r.AcceptedTerms.Partner, "acceptedTerms.microsoft": r.AcceptedTerms.Microsoft} {
			if len(v) > 32 || !printable(v) {
				add(field, "invalid", "must be a terms version such as 2017-08")
			}
		}
	}
	return d
}

// validate checks the credentials of the existing option: three GUIDs and a
// client secret of 1 to MaxClientSecretLen printable characters. Messages
// never echo the values.
func (c ExistingCredentials) validate() []apperr.Detail {
	var d []apperr.Detail
	const guid = "must be a GUID (00000000-0000-0000-0000-000000000000)"
	for _, f := range []struct{ field, value, what string }{
		{"tenantId", c.TenantID, "the customer's Microsoft Entra tenant id"},
		{"clientId", c.ClientID, "the application (client) id of the customer's app registration"},
		{"subscriptionId", c.SubscriptionID, "the Azure subscription id"},
	} {
		switch {
		case f.value == "":
			d = append(d, apperr.Detail{Field: f.field, Code: "required", Message: "is required: " + f.what})
		case !msid.IsGUID(f.value):
			d = append(d, apperr.Detail{Field: f.field, Code: "invalid", Message: guid})
		}
	}
	switch {
	case c.ClientSecret == "":
		d = append(d, apperr.Detail{Field: "clientSecret", Code: "required", Message: "is required: a client secret value of the app registration"})
	case len(c.ClientSecret) > MaxClientSecretLen || !printable(c.ClientSecret):
		d = append(d, apperr.Detail{Field: "clientSecret", Code: "invalid", Message: fmt.Sprintf("must be 1 to %d printable characters", MaxClientSecretLen)})
	}
	return d
}

// Limits of the company profile of option new.
const (
	MaxCompanyFieldRunes = 100
	MinDomainPrefixLen   = 3
	MaxDomainPrefixLen   = 27
)

// Compiled on first use: every function links this package, and a
// package-level MustCompile runs at every cold start.
var (
	domainPrefixRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+$`) })
	countryRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]{2}$`) })
)

// validate checks the company profile of option new: every field required,
// printable, at most MaxCompanyFieldRunes; the domain prefix (the part
// before .onmicrosoft.com) 3 to 27 lower-case letters or digits; the country
// an ISO 3166 alpha-2 code; the contact email a single address.
func (c *Company) validate() []apperr.Detail {
	var d []apperr.Detail
	text := func(field, v string) {
		switch n := utf8.RuneCountInString(v); {
		case strings.TrimSpace(v) == "":
			d = append(d, apperr.Detail{Field: field, Code: "required", Message: "is required"})
		case n > MaxCompanyFieldRunes || !printable(v):
			d = append(d, apperr.Detail{Field: field, Code: "invalid", Message: fmt.Sprintf("must be 1 to %d printable characters", MaxCompanyFieldRunes)})
		}
	}
	text("company.name", c.Name)
	switch {
	case c.DomainPrefix == "":
		d = append(d, apperr.Detail{Field: "company.domainPrefix", Code: "required", Message: "is required: the <prefix> of <prefix>.onmicrosoft.com"})
	case len(c.DomainPrefix) < MinDomainPrefixLen || len(c.DomainPrefix) > MaxDomainPrefixLen || !domainPrefixRE().MatchString(c.DomainPrefix):
		d = append(d, apperr.Detail{Field: "company.domainPrefix", Code: "invalid", Message: fmt.Sprintf("must be %d to %d lower-case letters or digits", MinDomainPrefixLen, MaxDomainPrefixLen)})
	}
	text("company.address.line1", c.Address.Line1)
	text("company.address.city", c.Address.City)
	text("company.address.state", c.Address.State)
	text("company.address.postalCode", c.Address.PostalCode)
	switch {
	case c.Address.Country == "":
		d = append(d, apperr.Detail{Field: "company.address.country", Code: "required", Message: "is required"})
	case !countryRE().MatchString(c.Address.Country):
		d = append(d, apperr.Detail{Field: "company.address.country", Code: "invalid", Message: "must be an ISO 3166 alpha-2 country code such as US"})
	}
	text("company.contact.firstName", c.Contact.FirstName)
	text("company.contact.lastName", c.Contact.LastName)
	if msg := ValidateEmail(c.Contact.Email); msg != "" {
		d = append(d, apperr.Detail{Field: "company.contact.email", Code: "invalid", Message: msg})
	}
	text("company.contact.phone", c.Contact.Phone)
	return d
}

// ValidateName returns "" for a valid provider name, else why it is not.
func ValidateName(name string) string {
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0 || strings.TrimSpace(name) == "":
		return "is required"
	case n > MaxNameRunes:
		return fmt.Sprintf("must be at most %d characters", MaxNameRunes)
	case !printable(name):
		return "must contain printable characters only"
	case name != strings.TrimSpace(name):
		return "must not start or end with white space"
	}
	return ""
}

// ValidateEmail returns "" for a single bare address, else why it is not.
func ValidateEmail(email string) string {
	switch {
	case email == "":
		return "is required"
	case len(email) > MaxEmailLen:
		return fmt.Sprintf("must be at most %d characters", MaxEmailLen)
	case strings.ContainsAny(email, "\r\n"):
		return "must be a single line"
	case !printable(email) || strings.ContainsAny(email, " ,;<>\"()"):
		return "must be a single address without a display name"
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "must be a single address without a display name"
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || !strings.Contains(email[at+1:], ".") || strings.HasSuffix(email, ".") {
		return "must be an address with a domain, such as it-admin@contoso.com"
	}
	return ""
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
