package api

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// The API document (openapi.yaml) is checked here against the code of
// shared: it is valid OpenAPI 3.1 with valid examples, its error codes are
// the ones the status table maps, and the response schemas name exactly the
// JSON fields the domain types serialize. The routes are compared with
// template.yaml, and the end-to-end tests' responses validated against it,
// in cmd/localcloud (which may import the template parser; shared may not).

func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("openapi.yaml")
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadDocument(t)
	if !doc.IsOpenAPI31OrLater() || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi: %q, want 3.1.x", doc.OpenAPI)
	}
	// Validate checks the examples against their schemas too.
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3.1 document: %v", err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0
			wantPublic := strings.HasPrefix(path, "/consent/") || strings.HasSuffix(path, "/initial-credentials") || strings.HasPrefix(path, "/webhooks/")
			if public != wantPublic {
				t.Errorf("%s %s: public (security: []) is %v, want %v", method, path, public, wantPublic)
			}
			for status, resp := range op.Responses.Map() {
				if resp.Value == nil || resp.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s %s: the response does not declare X-Request-Id", method, path, status)
				}
			}
		}
	}
}

// TestOpenAPIErrorCodes: the document's error codes are exactly the codes
// the status table answers with, plus the local gateway's "forbidden"
// (a route's authorization scopes), so a new code cannot go undocumented.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadDocument(t)
	s := doc.Components.Schemas["ErrorCode"]
	if s == nil || s.Value == nil {
		t.Fatal("no ErrorCode schema")
	}
	var documented []string
	for _, v := range s.Value.Enum {
		documented = append(documented, v.(string))
	}
	want := []string{"forbidden"}
	for code := range statusByCode {
		want = append(want, string(code))
	}
	sort.Strings(documented)
	sort.Strings(want)
	if !slices.Equal(documented, want) {
		t.Errorf("ErrorCode enum = %v\nthe status table's codes = %v", documented, want)
	}
	// The ineligibility reasons are the account package's.
	r := doc.Components.Schemas["IneligibilityReason"].Value
	var reasons []string
	for _, v := range r.Enum {
		reasons = append(reasons, v.(string))
	}
	every := &account.Account{Reseller: true, ResellerCustomer: true, Demo: true, Internal: true}
	var got []string
	for _, reason := range account.Ineligibility(every) {
		got = append(got, string(reason))
	}
	sort.Strings(reasons)
	sort.Strings(got)
	if !slices.Equal(reasons, got) {
		t.Errorf("IneligibilityReason enum = %v, account.Ineligibility can give %v", reasons, got)
	}
}

// TestOpenAPISchemasNameEveryField: each response schema lists exactly the
// JSON fields its Go type serializes (json tags, embedded structs, "-"
// left out), so a field added to a view, or a documented one removed,
// fails here rather than only when an end-to-end test meets it.
func TestOpenAPISchemasNameEveryField(t *testing.T) {
	doc := loadDocument(t)
	for _, tc := range []struct {
		schema string
		value  any
	}{
		{"Provider", provider.View{}},
		{"Subscription", provider.Subscription{}},
		{"TimelineEvent", provider.Event{}},
		{"Invitation", provider.Invitation{}},
		{"OwnershipWait", provider.OwnershipWait{}},
		{"Health", provider.Health{}},
		{"HealthFinding", provider.HealthFinding{}},
		{"InitialAdmin", provider.InitialAdmin{}},
		{"Company", provider.Company{}},
		{"OptionInfo", provider.OptionInfo{}},
		{"TermsStatus", account.TermsStatus{}},
		{"Account", account.Account{}},
		{"AcceptedTerms", provider.AcceptedTerms{}},
		{"ErrorDetail", apperr.Detail{}},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			s := doc.Components.Schemas[tc.schema]
			if s == nil || s.Value == nil {
				t.Fatalf("no %s schema", tc.schema)
			}
			var documented []string
			for name := range s.Value.Properties {
				documented = append(documented, name)
			}
			got := jsonFields(reflect.TypeOf(tc.value))
			sort.Strings(documented)
			sort.Strings(got)
			if !slices.Equal(documented, got) {
				t.Errorf("schema %s has properties %v\nits Go type serializes %v", tc.schema, documented, got)
			}
		})
	}
}

// TestOpenAPICreateRequestFields: the three bodies of POST /providers
// together name the fields provider.CreateRequest decodes.
func TestOpenAPICreateRequestFields(t *testing.T) {
	doc := loadDocument(t)
	union := map[string]bool{}
	for _, name := range []string{"CreateMigrateRequest", "CreateExistingRequest", "CreateNewRequest"} {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			t.Fatalf("no %s schema", name)
		}
		for p := range s.Value.Properties {
			union[p] = true
		}
	}
	decoded := jsonFields(reflect.TypeOf(provider.CreateRequest{}))
	for _, f := range decoded {
		if !union[f] {
			t.Errorf("POST /providers decodes %q, which no request schema documents", f)
		}
	}
	for f := range union {
		// billingAdminEmail is the contract's (the billing_transfer route's
		// acceptor); documented ahead of the decoder.
		if !slices.Contains(decoded, f) && f != "billingAdminEmail" {
			t.Errorf("the request schemas document %q, which POST /providers does not decode", f)
		}
	}
}

// jsonFields lists the names encoding/json gives t's fields.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
