// Command initial-credentials serves GET and POST
// /providers/{id}/initial-credentials: a new customer tenant's initial
// administrator credentials, shown once through the single-use, expiring link
// of the completion email (GET shows a button, its POST shows the credentials).
package main

import (
	"context"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/awsconf/lazydynamodb"
	"github.com/partnercloud/azure/shared/awsconf/lazysecretsmanager"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/startup"
)

// secrets reads with secret.Get and deletes with secret.Store.
type secrets struct{ client *lazysecretsmanager.Client }

func (s secrets) Get(ctx context.Context, arn string) ([]byte, error) {
	return secret.Get(ctx, s.client, arn)
}

func (s secrets) Delete(ctx context.Context, arn string) error {
	return (&secret.Store{Client: s.client}).Delete(ctx, arn)
}

func main() {
	startup.Run(func(env *startup.Env, aws *startup.AWS) (any, error) {
		h := &Handler{
			Store:         lazydynamodb.Store(env, aws),
			Secrets:       secrets{client: lazysecretsmanager.New(aws)},
			Now:           func() time.Time { return time.Now().UTC() },
			PublicBaseURL: env.Optional("PUBLIC_BASE_URL", ""),
		}
		return api.Handle(h.Handle), nil
	})
}
