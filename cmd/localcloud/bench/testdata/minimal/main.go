// Command minimal is the baseline of `make bench`: the smallest aws-lambda-go
// function, answering every event with a constant API Gateway response. It
// is built and started exactly as the product's functions are, so the
// figures of each function are given as a ratio to it. Not part of the product.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

type response struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

func handle(context.Context, json.RawMessage) (response, error) {
	return response{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: `{"ok":true}`}, nil
}

func main() { lambda.Start(handle) }
