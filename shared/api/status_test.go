package api

import (
	"errors"
	"net/http"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

func TestHTTPStatus(t *testing.T) {
	for want, codes := range map[int][]apperr.Code{
		http.StatusBadRequest:            {apperr.InvalidRequest},
		http.StatusUnauthorized:          {apperr.Unauthenticated},
		http.StatusForbidden:             {apperr.AdminRequired},
		http.StatusNotFound:              {apperr.NotFound},
		http.StatusConflict:              {apperr.NameTaken, apperr.MigrationInProgress, apperr.InvalidState},
		http.StatusRequestEntityTooLarge: {apperr.BodyTooLarge},
		http.StatusUnprocessableEntity: {apperr.Ineligible, apperr.InvalidClientSecret, apperr.TenantNotFound, apperr.AppNotFound,
			apperr.CredentialsRejected, apperr.SubscriptionNotFound, apperr.SubscriptionAccessDenied},
		428:                            {apperr.TermsNotAccepted, apperr.TermsOutdated},
		http.StatusTooManyRequests:     {apperr.TooManyRequests},
		http.StatusInternalServerError: {apperr.Internal, apperr.Code("made_up")},
		http.StatusServiceUnavailable:  {apperr.AzureUnavailable},
	} {
		for _, code := range codes {
			if got := HTTPStatus(code); got != want {
				t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
			}
		}
	}
}

// TestUndecodableIsInternal: stored data that cannot be decoded is answered
// 500, like any internal error.
func TestUndecodableIsInternal(t *testing.T) {
	if s := HTTPStatus(apperr.Undecodable(errors.New("bad"), "decode provider").Code); s != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", s)
	}
}
