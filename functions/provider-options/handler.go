package main

import (
	"context"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// Handler serves GET /provider-options?type=azure: the options this caller may pick.
type Handler struct{}

// optionsResponse is the body of a successful answer.
type optionsResponse struct {
	Type    string                `json:"type"`
	Options []provider.OptionInfo `json:"options"`
}

// Handle answers one request.
func (h *Handler) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerFrom(req)
	if err != nil {
		return api.Response{}, err
	}
	if t := req.QueryStringParameters["type"]; t != provider.TypeAzure {
		return api.Response{}, apperr.New(apperr.InvalidRequest, `The query parameter "type" must be "azure".`,
			apperr.Detail{Field: "type", Code: "invalid", Message: `must be "azure"`})
	}
	return api.JSON(req, api.StatusOK, optionsResponse{Type: provider.TypeAzure, Options: provider.OptionsFor(caller.IsAdmin())}), nil
}
