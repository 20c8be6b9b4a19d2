// Command provider-options is the Lambda function of GET /provider-options.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/logging"
)

func main() {
	logging.Setup(nil)
	h := &Handler{}
	lambda.Start(api.Handle(h.Handle))
}
