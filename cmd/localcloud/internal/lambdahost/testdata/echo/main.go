// Command echo is a test Lambda function for the local cloud's tests. Its
// input selects a behaviour: echo the event, return a named error type, sleep,
// exit the process, or report its environment. With ECHO_FORWARD_URL set, a
// stream event ({"Records": [...]}) is posted there and the answer returned
// (a non-200 answer is a SinkError). With ECHO_INIT_ERROR set it
// reports an init error through the Runtime API and exits, as a runtime
// whose initialisation failed does.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// ProviderNotFound is a named error type; Lambda reports its type name as errorType.
type ProviderNotFound struct{ ID string }

func (e ProviderNotFound) Error() string { return "provider " + e.ID + " not found" }

type request struct {
	Action string          `json:"action"`
	Ms     int             `json:"ms"`
	Code   int             `json:"code"`
	Keys   []string        `json:"keys"`
	Reply  json.RawMessage `json:"reply"`
	// RawPath and friends let the function echo an API Gateway event too.
	RawPath string `json:"rawPath"`
}

// SinkError is the error a forwarded event's non-200 answer becomes.
type SinkError struct{ Answer string }

func (e SinkError) Error() string { return "sink answered " + e.Answer }

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if url := os.Getenv("ECHO_FORWARD_URL"); url != "" && bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`{"Records"`)) {
		return forward(url, raw)
	}
	var req request
	_ = json.Unmarshal(raw, &req)
	if req.RawPath != "" {
		// An API Gateway event: echo it back as a JSON response.
		return map[string]any{"statusCode": 200, "headers": map[string]string{"content-type": "application/json"}, "body": string(raw)}, nil
	}
	switch req.Action {
	case "error":
		return nil, ProviderNotFound{ID: "p-1"}
	case "sleep":
		time.Sleep(time.Duration(req.Ms) * time.Millisecond)
		lc, _ := lambdacontext.FromContext(ctx)
		return map[string]any{"slept": req.Ms, "pid": os.Getpid(), "requestId": lc.AwsRequestID}, nil
	case "exit":
		fmt.Println("exiting on request")
		os.Exit(req.Code)
	case "env":
		out := map[string]string{}
		for _, k := range req.Keys {
			out[k] = os.Getenv(k)
		}
		return out, nil
	case "reply":
		return req.Reply, nil
	case "deadline":
		d, _ := ctx.Deadline()
		return map[string]any{"deadlineMs": d.UnixMilli(), "arn": mustLC(ctx).InvokedFunctionArn}, nil
	}
	fmt.Fprintln(os.Stderr, "echo called")
	return raw, nil
}

func forward(url string, raw []byte) (any, error) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, SinkError{Answer: string(body)}
	}
	return json.RawMessage(body), nil
}

func mustLC(ctx context.Context) *lambdacontext.LambdaContext {
	lc, _ := lambdacontext.FromContext(ctx)
	return lc
}

func main() {
	if msg := os.Getenv("ECHO_INIT_ERROR"); msg != "" {
		body, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": "ConfigError"})
		req, _ := http.NewRequest(http.MethodPost, "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "ConfigError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.Start(handle)
}
