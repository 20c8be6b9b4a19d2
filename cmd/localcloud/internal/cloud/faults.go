package cloud

import "github.com/partnercloud/azure/cmd/localcloud/internal/dynamo"

// DynamoFaults is the embedded DynamoDB's fault switch (off by default):
// Set(share, dynamo.FaultThrottle) fails that share of calls. With an
// external DynamoDB endpoint it has no effect. The other switches:
// Host().KillNext (a function crashes mid-invocation), Engine().FailNext
// (Step Functions API calls fail), Outbox().ThrottleNext (SES throttles) and
// the Microsoft double's /_control/faults (Azure 429 and 5xx).
func (c *Cloud) DynamoFaults() *dynamo.Faults { return c.dynFaults }
