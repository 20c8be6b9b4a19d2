package apperr

import (
	"errors"
	"net/http"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code Code
		want int
	}{
		{InvalidRequest, http.StatusBadRequest},
		{Unauthenticated, http.StatusUnauthorized},
		{AdminRequired, http.StatusForbidden},
		{NotFound, http.StatusNotFound},
		{NameTaken, http.StatusConflict},
		{MigrationInProgress, http.StatusConflict},
		{InvalidState, http.StatusConflict},
		{BodyTooLarge, http.StatusRequestEntityTooLarge},
		{Ineligible, http.StatusUnprocessableEntity},
		{TermsNotAccepted, 428},
		{TermsOutdated, 428},
		{TooManyRequests, http.StatusTooManyRequests},
		{Internal, http.StatusInternalServerError},
		{InvalidClientSecret, http.StatusUnprocessableEntity},
		{TenantNotFound, http.StatusUnprocessableEntity},
		{AppNotFound, http.StatusUnprocessableEntity},
		{CredentialsRejected, http.StatusUnprocessableEntity},
		{SubscriptionNotFound, http.StatusUnprocessableEntity},
		{SubscriptionAccessDenied, http.StatusUnprocessableEntity},
		{AzureUnavailable, http.StatusServiceUnavailable},
		{Code("made_up"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			if got := HTTPStatus(tt.code); got != tt.want {
				t.Errorf("HTTPStatus(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

func TestAsHidesForeignErrors(t *testing.T) {
	cause := errors.New("dynamodb: secret table name leaked")
	e := As(cause)
	if e.Code != Internal {
		t.Fatalf("code = %s, want internal", e.Code)
	}
	if e.Message == cause.Error() {
		t.Fatal("internal error text reached the safe message")
	}
	if !errors.Is(e, cause) {
		t.Fatal("cause not kept for logs")
	}
	wrapped := Wrap(cause, "put item")
	if !errors.Is(wrapped, cause) || wrapped.Code != Internal {
		t.Fatal("Wrap lost the cause or the code")
	}
	mine := New(NameTaken, "taken")
	if As(errors.Join(mine)).Code != NameTaken || !Is(mine, NameTaken) {
		t.Fatal("As did not find an *Error in the chain")
	}
}
