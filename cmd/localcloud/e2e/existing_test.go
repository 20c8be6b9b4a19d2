package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// The contoso tenant's own application (cmd/localcloud/scenario/default.json):
// Reader on ownedSub, no role on missingSub.
const (
	contosoApp       = "00000000-0000-0000-0000-00000000c0de"
	contosoAppSecret = "contoso-local-secret"
	// wrongSecret is sent in the bad-secret case; it must not be stored either.
	wrongSecret = "e2e-wrong-secret-value-7Qx"
)

// existingBody is an existing-option request for name with the given
// credentials.
func existingBody(name, tenant, client, secret, subscription string) map[string]any {
	return map[string]any{"name": name, "type": "azure", "option": "existing",
		"tenantId": tenant, "clientId": client, "clientSecret": secret, "subscriptionId": subscription}
}

// leakWatch records every API answer of a test, to be scanned for secrets.
type leakWatch struct {
	e   *env
	mu  sync.Mutex
	raw []string
}

func (w *leakWatch) call(t *testing.T, method, path, token string, body any, headers ...string) response {
	t.Helper()
	r := w.e.call(t, method, path, token, body, headers...)
	w.mu.Lock()
	w.raw = append(w.raw, string(r.raw))
	for k, vs := range r.header {
		w.raw = append(w.raw, k+": "+strings.Join(vs, ","))
	}
	w.mu.Unlock()
	return r
}

// check fails if a secret appears in an API answer, a DynamoDB item or the
// local cloud's logs (the functions' logs included). It returns the items
// scanned, as JSON.
func (w *leakWatch) check(t *testing.T, secrets ...string) string {
	t.Helper()
	ctx := context.Background()
	ddb := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.e.ep["dynamodb"]),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	var items []string
	for _, table := range w.e.c.Template().Tables {
		p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(table.Name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(page.Items)
			items = append(items, string(raw))
		}
	}
	w.mu.Lock()
	answers := strings.Join(w.raw, "\n")
	w.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(answers, s) {
			t.Errorf("an API answer shows %q", s)
		}
		if strings.Contains(strings.Join(items, "\n"), s) {
			t.Errorf("DynamoDB holds %q", s)
		}
		if strings.Contains(w.e.logBuf.String(), s) {
			t.Errorf("the logs show %q", s)
		}
	}
	return strings.Join(items, "\n")
}

func (e *env) secretsClient() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.ep["secretsmanager"]),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
}

// providerSecrets lists the names of the account's provider credential secrets.
func (e *env) providerSecrets(t *testing.T, account string) []string {
	t.Helper()
	out, err := e.secretsClient().ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range out.SecretList {
		if n := aws.ToString(s.Name); strings.HasPrefix(n, "partner-cloud/providers/"+account+"/") {
			names = append(names, n)
		}
	}
	return names
}

// TestExistingProvider: a member connects the customer's own application;
// the provider is active at once, billed to the customer directly, and the
// client secret lives only in Secrets Manager until the provider is deleted.
func TestExistingProvider(t *testing.T) {
	e := cloudFor(t, "standard")
	w := &leakWatch{e: e}
	const account = "acct-existing-e2e"
	tok := e.token(t, account) // a member: no roles
	name := "Existing " + time.Now().Format("150405.000")

	r := w.call(t, "POST", "/providers", tok, existingBody(name, strings.ToUpper(contosoTenant), contosoApp, contosoAppSecret, ownedSub))
	if r.status != 202 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id, _ := r.json["id"].(string)
	if r.header.Get("Location") != "/providers/"+id {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	gr := w.call(t, "GET", "/providers/"+id, tok, nil)
	var p providerView
	if err := json.Unmarshal(gr.raw, &p); gr.status != 200 || err != nil {
		t.Fatalf("GET: %d %s", gr.status, gr.raw)
	}
	if p.Status != "active" || p.Billing != "customer_direct" || p.TenantID != contosoTenant || len(p.Subscriptions) != 1 ||
		p.Subscriptions[0].ID != ownedSub || p.Subscriptions[0].State != "verified" || p.NextStep != "" || len(p.Timeline) != 1 {
		t.Fatalf("provider: %s", gr.raw)
	}
	var raw map[string]any
	_ = json.Unmarshal(gr.raw, &raw)
	if raw["clientId"] != contosoApp || raw["option"] != "existing" {
		t.Fatalf("provider: %s", gr.raw)
	}
	if lr := w.call(t, "GET", "/providers", tok, nil); lr.status != 200 || !strings.Contains(string(lr.raw), id) {
		t.Fatalf("list: %d %s", lr.status, lr.raw)
	}

	// The secret is in Secrets Manager, named and tagged after the provider.
	ctx := context.Background()
	sm := e.secretsClient()
	secretName := "partner-cloud/providers/" + account + "/" + id
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretName)})
	if err != nil || aws.ToString(got.SecretString) != contosoAppSecret {
		t.Fatalf("the secret in Secrets Manager: %v", err)
	}
	desc, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretName)})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range desc.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["account"] != account || tags["provider"] != id {
		t.Fatalf("tags = %v", tags)
	}
	// The table holds the secret's ARN, never the secret.
	if items := w.check(t, contosoAppSecret); !strings.Contains(items, aws.ToString(got.ARN)) {
		t.Fatalf("no DynamoDB item holds the secret's ARN %s", aws.ToString(got.ARN))
	}

	// Another account cannot see or delete it.
	other := e.token(t, "acct-eligible", "admin")
	if dr := w.call(t, "DELETE", "/providers/"+id, other, nil); dr.status != 404 || dr.errorCode() != "not_found" {
		t.Fatalf("another account's DELETE: %d %s", dr.status, dr.raw)
	}
	// The name is taken, and the refused request leaves no second secret.
	if cr := w.call(t, "POST", "/providers", tok, existingBody(strings.ToLower(name), contosoTenant, contosoApp, contosoAppSecret, ownedSub)); cr.status != 409 || cr.errorCode() != "name_taken" {
		t.Fatalf("same name: %d %s", cr.status, cr.raw)
	}
	if names := e.providerSecrets(t, account); len(names) != 1 || names[0] != secretName {
		t.Fatalf("secrets after the refused create: %v", names)
	}

	// DELETE removes the provider and its secret.
	dr := w.call(t, "DELETE", "/providers/"+id, tok, nil)
	if dr.status != 204 || len(dr.raw) != 0 || dr.header.Get("X-Request-Id") == "" {
		t.Fatalf("DELETE: %d %s", dr.status, dr.raw)
	}
	if gr := w.call(t, "GET", "/providers/"+id, tok, nil); gr.status != 404 {
		t.Fatalf("GET after DELETE: %d %s", gr.status, gr.raw)
	}
	var nf *smtypes.ResourceNotFoundException
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretName)}); !errors.As(err, &nf) {
		t.Fatalf("the secret after DELETE: %v, want ResourceNotFoundException", err)
	}
	if dr := w.call(t, "DELETE", "/providers/"+id, tok, nil); dr.status != 404 {
		t.Fatalf("second DELETE: %d %s", dr.status, dr.raw)
	}
	w.check(t, contosoAppSecret)
}

// TestExistingBadCredentials: each bad credential gets its own code and
// stores nothing: no provider, no secret.
func TestExistingBadCredentials(t *testing.T) {
	e := cloudFor(t, "standard")
	w := &leakWatch{e: e}
	const account = "acct-existing-bad-e2e"
	tok := e.token(t, account)
	tests := []struct {
		name                                 string
		tenant, client, secret, subscription string
		wantCode                             string
	}{
		{"wrong secret", contosoTenant, contosoApp, wrongSecret, ownedSub, "invalid_client_secret"},
		{"unknown tenant", "20000000-0000-4000-8000-0000000000ff", contosoApp, contosoAppSecret, ownedSub, "tenant_not_found"},
		{"unknown application", contosoTenant, "00000000-0000-0000-0000-00000000dead", contosoAppSecret, ownedSub, "app_not_found"},
		{"unknown subscription", contosoTenant, contosoApp, contosoAppSecret, unknownSub, "subscription_not_found"},
		// Resource Manager answers 404 for a subscription the app has no role on.
		{"subscription without a role for the app", contosoTenant, contosoApp, contosoAppSecret, missingSub, "subscription_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "Bad " + tt.name + " " + time.Now().Format("150405.000")
			r := w.call(t, "POST", "/providers", tok, existingBody(name, tt.tenant, tt.client, tt.secret, tt.subscription))
			if r.status != 422 || r.errorCode() != tt.wantCode {
				t.Fatalf("%d %s, want 422 %s", r.status, r.raw, tt.wantCode)
			}
			if e, _ := r.json["error"].(map[string]any); e["message"] == "" || e["requestId"] == "" {
				t.Fatalf("error body: %s", r.raw)
			}
		})
	}
	if lr := w.call(t, "GET", "/providers", tok, nil); lr.status != 200 || strings.Contains(string(lr.raw), "Bad ") {
		t.Fatalf("providers after the refusals: %d %s", lr.status, lr.raw)
	}
	if names := e.providerSecrets(t, account); len(names) != 0 {
		t.Fatalf("secrets after the refusals: %v", names)
	}
	w.check(t, contosoAppSecret, wrongSecret)
}

// TestDeleteUnfinishedMigration: a pending migration cannot be deleted; once
// cancelled, it can.
func TestDeleteUnfinishedMigration(t *testing.T) {
	e := cloudFor(t, "standard")
	tok := e.token(t, "acct-eligible", "admin")
	id := e.create(t, tok, migrate("Delete pending "+time.Now().Format("150405.000"), ownedSub))
	if r := e.call(t, "DELETE", "/providers/"+id, tok, nil); r.status != 409 || r.errorCode() != "invalid_state" {
		t.Fatalf("DELETE of a pending migration: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "DELETE", "/providers/"+id, e.token(t, "acct-eligible"), nil); r.status != 403 || r.errorCode() != "admin_required" {
		t.Fatalf("DELETE of a migration by a member: %d %s", r.status, r.raw)
	}
	if p := e.get(t, tok, id); p.Status != "pending_consent" {
		t.Fatalf("status after the refused DELETE: %s", p.Status)
	}
	if r := e.call(t, "POST", "/providers/"+id+"/cancel", tok, nil); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "DELETE", "/providers/"+id, tok, nil); r.status != 204 {
		t.Fatalf("DELETE of a cancelled migration: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/providers/"+id, tok, nil); r.status != 404 {
		t.Fatalf("GET after DELETE: %d %s", r.status, r.raw)
	}
}
