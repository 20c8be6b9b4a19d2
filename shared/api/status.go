package api

import (
	"net/http"

	"github.com/partnercloud/azure/shared/apperr"
)

// statusByCode is the one table from an error code to the HTTP status it is
// answered with. A code it does not hold (an outcome of the state machines,
// say) is answered 500.
var statusByCode = map[apperr.Code]int{
	apperr.InvalidRequest:      http.StatusBadRequest,
	apperr.Unauthenticated:     http.StatusUnauthorized,
	apperr.AdminRequired:       http.StatusForbidden,
	apperr.OperatorRequired:    http.StatusForbidden,
	apperr.NotFound:            http.StatusNotFound,
	apperr.MethodNotAllowed:    http.StatusMethodNotAllowed,
	apperr.NameTaken:           http.StatusConflict,
	apperr.DomainTaken:         http.StatusConflict,
	apperr.MigrationInProgress: http.StatusConflict,
	apperr.InvalidState:        http.StatusConflict,
	apperr.IdempotencyConflict: http.StatusConflict,
	apperr.BodyTooLarge:        http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia:    http.StatusUnsupportedMediaType,
	apperr.Ineligible:          http.StatusUnprocessableEntity,
	apperr.TermsNotAccepted:    http.StatusPreconditionRequired,
	apperr.TermsOutdated:       http.StatusPreconditionRequired,
	apperr.TooManyRequests:     http.StatusTooManyRequests,
	apperr.NotImplemented:      http.StatusNotImplemented,
	apperr.Internal:            http.StatusInternalServerError,

	apperr.InvalidClientSecret:      http.StatusUnprocessableEntity,
	apperr.TenantNotFound:           http.StatusUnprocessableEntity,
	apperr.AppNotFound:              http.StatusUnprocessableEntity,
	apperr.CredentialsRejected:      http.StatusUnprocessableEntity,
	apperr.SubscriptionNotFound:     http.StatusUnprocessableEntity,
	apperr.SubscriptionAccessDenied: http.StatusUnprocessableEntity,
	apperr.AzureUnavailable:         http.StatusServiceUnavailable,
	apperr.Unavailable:              http.StatusServiceUnavailable,
}

// HTTPStatus returns the HTTP status of an error code; unknown codes are 500.
func HTTPStatus(c apperr.Code) int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}
