package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/partnercloud/azure/cmd/localcloud/internal/apigateway"
	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
)

// TestOpenAPIDocumentMatchesTemplate keeps shared/api/openapi.yaml and the
// template's HttpApi routes the same set of "METHOD /path": a route added
// to the template without the document, or documented without a route,
// fails here. A route is public (security: []) in the document exactly when
// the template gives it no authorizer.
func TestOpenAPIDocumentMatchesTemplate(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := apigateway.RoutesFromTemplate(tpl)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromFile("../../shared/api/openapi.yaml")
	if err != nil {
		t.Fatalf("shared/api/openapi.yaml does not load: %v", err)
	}

	templated := map[string]bool{} // "METHOD /path" → guarded by the JWT authorizer
	for _, r := range routes {
		if r.Method == "ANY" || r.Path == "$default" || strings.HasSuffix(r.Path, "+}") {
			t.Errorf("route %s: the document check expects one method and a plain path; describe it by hand", r.Key())
			continue
		}
		templated[r.Key()] = r.Auth
	}
	documented := map[string]bool{} // "METHOD /path" → needs the bearer token
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0
			documented[strings.ToUpper(method)+" "+path] = !public
		}
	}
	if len(templated) == 0 || len(documented) == 0 {
		t.Fatalf("%d template routes, %d documented operations", len(templated), len(documented))
	}

	for _, key := range sortedKeys(templated) {
		auth, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("template.yaml routes %s, which shared/api/openapi.yaml does not document", key)
		case auth != templated[key]:
			t.Errorf("%s: the template's JWT authorizer is %v, the document's bearer security is %v", key, templated[key], auth)
		}
	}
	for _, key := range sortedKeys(documented) {
		if _, ok := templated[key]; !ok {
			t.Errorf("shared/api/openapi.yaml documents %s, which template.yaml does not route", key)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
