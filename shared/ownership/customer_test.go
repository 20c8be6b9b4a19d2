package ownership

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

func armResponse(status int, code string) error {
	body := `{"error":{"code":"` + code + `","message":"m"}}`
	req, _ := http.NewRequest(http.MethodGet, "https://management.example/subscriptions/s", nil)
	return runtime.NewResponseError(&http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewBufferString(body)),
		Header: http.Header{"Content-Type": {"application/json"}}, Request: req})
}

func TestClassifySubscriptionRead(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want error
	}{
		{armResponse(404, "SubscriptionNotFound"), ErrSubscriptionNotFound},
		{armResponse(400, "InvalidSubscriptionId"), ErrSubscriptionNotFound},
		{armResponse(401, "InvalidAuthenticationTokenTenant"), ErrSubscriptionNotFound},
		{armResponse(403, "AuthorizationFailed"), ErrSubscriptionAccessDenied},
		{armResponse(401, "InvalidAuthenticationToken"), ErrCredentialsRejected},
		{armResponse(429, "TooManyRequests"), ErrUnavailable},
		{armResponse(503, "ServiceUnavailable"), ErrUnavailable},
		{armResponse(400, "BadRequest"), ErrUnavailable},
		{context.DeadlineExceeded, ErrUnavailable},
	} {
		if got := classifySubscriptionRead(tt.err); !errors.Is(got, tt.want) {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestClassifyCustomerAuth(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want error
	}{
		{"AADSTS7000215: Invalid client secret provided.", ErrInvalidClientSecret},
		{"AADSTS7000222: The provided client secret keys are expired.", ErrInvalidClientSecret},
		{"AADSTS90002: Tenant 'x' not found.", ErrTenantNotFound},
		{"AADSTS700016: Application with identifier 'x' was not found", ErrAppNotFound},
		// A code that merely starts like a known one is not it.
		{"AADSTS900023: Specified tenant identifier is neither a valid DNS name nor a valid external domain.", ErrUnavailable},
		{"dial tcp: connection refused", ErrUnavailable},
	} {
		if got := classifyCustomerAuth(errors.New(tt.msg)); !errors.Is(got, tt.want) {
			t.Errorf("classify(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestValidateEndpoints(t *testing.T) {
	if err := (Settings{}).ValidateEndpoints(); err != nil {
		t.Fatal(err)
	}
	if err := (Settings{AuthorityHost: "https://login.microsoftonline.com/", ResourceManager: "https://management.azure.com"}).ValidateEndpoints(); err != nil {
		t.Fatal(err)
	}
	err := (Settings{AuthorityHost: "http://login.example", ResourceManager: "management.azure.com"}).ValidateEndpoints()
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("AZURE_AUTHORITY_HOST")) || !bytes.Contains([]byte(err.Error()), []byte("AZURE_RESOURCE_MANAGER_ENDPOINT")) {
		t.Fatalf("error = %v", err)
	}
}

// scopeRecorder is a credential that records the token requests.
type scopeRecorder struct{ asked []policy.TokenRequestOptions }

func (s *scopeRecorder) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	s.asked = append(s.asked, o)
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestARMTokenIsTheClients: the token the consent and Owner checks ask for
// (scope and CAE) is the one the Resource Manager clients ask for, so the
// clients reuse it instead of requesting a second one.
func TestARMTokenIsTheClients(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
	}{
		{"public cloud", Settings{}},
		{"another Resource Manager endpoint", Settings{ResourceManager: "https://arm.example", AuthorityHost: "https://login.example/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &scopeRecorder{}
			opts := tc.s.ARMOptions(&recorder{})
			opts.Retry = policy.RetryOptions{MaxRetries: -1}
			subs, err := armsubscriptions.NewClient(rec, &opts)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = subs.Get(context.Background(), "sub", nil)
			want := armToken(tc.s.Cloud())
			if len(rec.asked) != 1 || strings.Join(rec.asked[0].Scopes, " ") != strings.Join(want.Scopes, " ") || rec.asked[0].EnableCAE != want.EnableCAE ||
				rec.asked[0].TenantID != want.TenantID || rec.asked[0].Claims != want.Claims {
				t.Errorf("the client asked for %+v, armToken is %+v", rec.asked, want)
			}
		})
	}
}
