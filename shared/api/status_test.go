package api

import (
	"errors"
	"net/http"
	"testing"

	"github.com/partnercloud/azure/shared/apperr"
)

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code apperr.Code
		want int
	}{
		{apperr.InvalidRequest, http.StatusBadRequest},
		{apperr.Unauthenticated, http.StatusUnauthorized},
		{apperr.AdminRequired, http.StatusForbidden},
		{apperr.NotFound, http.StatusNotFound},
		{apperr.NameTaken, http.StatusConflict},
		{apperr.MigrationInProgress, http.StatusConflict},
		{apperr.InvalidState, http.StatusConflict},
		{apperr.BodyTooLarge, http.StatusRequestEntityTooLarge},
		{apperr.Ineligible, http.StatusUnprocessableEntity},
		{apperr.TermsNotAccepted, 428},
		{apperr.TermsOutdated, 428},
		{apperr.TooManyRequests, http.StatusTooManyRequests},
		{apperr.Internal, http.StatusInternalServerError},
		{apperr.InvalidClientSecret, http.StatusUnprocessableEntity},
		{apperr.TenantNotFound, http.StatusUnprocessableEntity},
		{apperr.AppNotFound, http.StatusUnprocessableEntity},
		{apperr.CredentialsRejected, http.StatusUnprocessableEntity},
		{apperr.SubscriptionNotFound, http.StatusUnprocessableEntity},
		{apperr.SubscriptionAccessDenied, http.StatusUnprocessableEntity},
		{apperr.AzureUnavailable, http.StatusServiceUnavailable},
		{apperr.Code("made_up"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			if got := HTTPStatus(tt.code); got != tt.want {
				t.Errorf("HTTPStatus(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

// TestUndecodableIsInternal: stored data that cannot be decoded is answered
// 500, like any internal error.
func TestUndecodableIsInternal(t *testing.T) {
	if s := HTTPStatus(apperr.Undecodable(errors.New("bad"), "decode provider").Code); s != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", s)
	}
}
