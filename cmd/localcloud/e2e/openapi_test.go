package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// documentPath is the API document every answer of the API is checked against.
const documentPath = "../../../shared/api/openapi.yaml"

// validateAPI wraps the tests' transport so that every answer of the API at
// apiURL is checked against shared/api/openapi.yaml (kin-openapi's
// openapi3filter): its status must be documented for the operation, the
// headers the document requires present and valid (X-Request-Id on every
// answer, Location, Content-Security-Policy on pages), its content type
// one the document lists and a JSON body valid against its schema. An
// answer that does not match fails the request with an error saying how,
// which the harness's call/send/fetch report with t.Fatalf; a test that
// uses the client directly gets the error from Do.
//
// A request the document has no operation for (an unknown path or method,
// as the hostile tests send) must get the gateway's 404 with the error body:
// a route the gateway serves without the document would show up here. CORS
// preflights (OPTIONS) are the gateway's CORS configuration, not a route,
// and are not checked. Only the answers are checked, never the requests:
// the tests send malformed requests on purpose.
func validateAPI(t *testing.T, apiURL string, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	v, err := newAPIValidator(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	v.base = base
	return v
}

type apiValidator struct {
	base   http.RoundTripper
	api    *url.URL
	doc    *openapi3.T
	router routers.Router
	// mu serializes validation: the tests run in parallel and the schema
	// validator's caches are not documented as safe for concurrent use.
	mu sync.Mutex
}

var registerHTML sync.Once

func newAPIValidator(apiURL string) (*apiValidator, error) {
	api, err := url.Parse(apiURL)
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromFile(documentPath)
	if err != nil {
		return nil, fmt.Errorf("load the API document %s: %w", documentPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the API document %s is not valid: %w", documentPath, err)
	}
	// Route against the local API, whatever servers the document lists.
	doc.Servers = openapi3.Servers{{URL: api.Scheme + "://" + api.Host}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the API document: %w", err)
	}
	// The pages are text: the document gives them a string schema.
	registerHTML.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/html", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	})
	return &apiValidator{api: api, doc: doc, router: router}, nil
}

func (v *apiValidator) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil || req.URL.Scheme != v.api.Scheme || req.URL.Host != v.api.Host || req.Method == http.MethodOptions {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.check(req, resp, body); err != nil {
		return nil, fmt.Errorf("the answer %d to %s %s does not match shared/api/openapi.yaml: %w\nheaders: %v\nbody: %s",
			resp.StatusCode, req.Method, req.URL.Path, err, resp.Header, head(string(body), 2000))
	}
	return resp, nil
}

func (v *apiValidator) check(req *http.Request, resp *http.Response, body []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	ctx := context.Background()
	route, params, err := v.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return v.checkUnrouted(resp, body)
	}
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	// The reason and where, without the schema and value dumps (the
	// answer's body is in the failure's message already).
	in.Options.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		if e.Origin != nil {
			return ""
		}
		if p := e.JSONPointer(); len(p) > 0 {
			return "at /" + strings.Join(p, "/") + ": " + e.Reason
		}
		return e.Reason
	})
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return err
	}
	// openapi3filter does not check that an answer documented without
	// content (204, 302) has none.
	if r := route.Operation.Responses.Status(resp.StatusCode); r != nil && r.Value != nil && len(r.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("status %d is documented without a body, the answer has %d bytes", resp.StatusCode, len(body))
	}
	return nil
}

// checkUnrouted: a request that matches no documented operation is the
// gateway's 404 with the error body.
func (v *apiValidator) checkUnrouted(resp *http.Response, body []byte) error {
	if resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("no operation of the document matches the request, yet the API answered %d (a route missing from the document?)", resp.StatusCode)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		return errors.New("the 404 of an unknown route has no X-Request-Id")
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("the 404 of an unknown route is not JSON: %w", err)
	}
	schema := v.doc.Components.Schemas["ErrorBody"]
	if err := schema.Value.VisitJSON(value, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); err != nil {
		return fmt.Errorf("the 404 of an unknown route is not the error body: %w", err)
	}
	return nil
}

// head is the start of s, at most n bytes.
func head(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
