// Command publish-events publishes a provider's status and health changes
// on the product's EventBridge bus, read from the table's stream.
package main

import (
	"github.com/partnercloud/azure/shared/awsconf/lazyeventbridge"
	"github.com/partnercloud/azure/shared/startup"
)

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{Publisher: lazyeventbridge.Publisher(env, aws)}
		return h.Handle, nil
	})
}
