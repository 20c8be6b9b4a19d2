// Command provider-options is the Lambda function of GET /provider-options.
package main

import (
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(*startup.Env, *startup.AWS) (any, error) {
		h := &Handler{}
		return api.Handle(h.Handle), nil
	})
}
