package e2e

// The default path (issue 11): a migration without subscription ids (they
// are optional) is created, listed and invited like any other, and one
// provider item that cannot be read does not take the account's list down.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/store"
)

func TestMigrateWithoutSubscriptionIDs(t *testing.T) {
	t.Parallel()
	e := cloudFor(t, "standard")
	acct := e.freshAccount(t)
	admin := e.token(t, acct, "admin")
	member := e.token(t, acct)

	absent := migrate("No subscription ids " + apiSuffix())
	delete(absent, "subscriptionIds")
	empty := migrate("Empty subscription ids " + apiSuffix()) // "subscriptionIds": []
	var ids []string
	for _, body := range []map[string]any{absent, empty} {
		r := e.call(t, "POST", "/providers", admin, body)
		wantAPIOK(t, r, 202)
		id, _ := r.json["id"].(string)
		if id == "" {
			t.Fatalf("create answered %s", r.raw)
		}
		e.cancelLater(t, admin, id)
		ids = append(ids, id)
		if subs, ok := r.json["subscriptions"].([]any); !ok || len(subs) != 0 {
			t.Errorf("created provider's subscriptions: %s", r.raw)
		}
	}

	list := func() response {
		t.Helper()
		r := e.call(t, "GET", "/providers", member, nil)
		wantAPIOK(t, r, 200)
		return r
	}
	listed := func(r response) map[string]bool {
		out := map[string]bool{}
		for _, p := range r.json["providers"].([]any) {
			out[p.(map[string]any)["id"].(string)] = true
		}
		return out
	}
	r := list()
	if got := listed(r); len(got) != 2 || !got[ids[0]] || !got[ids[1]] {
		t.Fatalf("GET /providers: %s", r.raw)
	}
	if _, ok := r.json["skipped"]; ok {
		t.Errorf("nothing to skip, yet: %s", r.raw)
	}

	// The invitation task reads them like any other provider: the email goes
	// out (a decode failure retried as transient would hold it back).
	for _, id := range ids {
		p := e.waitFor(t, member, id, 30*time.Second, "invitation sent", func(p providerView) bool {
			return strings.Contains(p.NextStep, "link in their email expires")
		})
		if p.Status != "pending_consent" || p.Subscriptions == nil || len(p.Subscriptions) != 0 {
			t.Errorf("provider %s: %+v", id, p)
		}
	}
	if r := list(); len(listed(r)) != 2 {
		t.Fatalf("GET /providers after the invitations: %s", r.raw)
	}

	// An item that cannot be decoded (what the local DynamoDB once gave
	// back: subscriptions as a string) is left out; the rest is served.
	bad := store.NewProviderID(time.Now())
	ddb := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.ep["dynamodb"]),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	tables := e.c.Template().Tables
	if len(tables) != 1 {
		t.Fatalf("the template has %d tables, want the one ProvidersTable", len(tables))
	}
	_, err := ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tables[0].Name), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + acct}, "sk": &types.AttributeValueMemberS{Value: "PROVIDER#" + bad},
		"accountId": &types.AttributeValueMemberS{Value: acct}, "id": &types.AttributeValueMemberS{Value: bad},
		"name": &types.AttributeValueMemberS{Value: "Damaged"}, "status": &types.AttributeValueMemberS{Value: "pending_consent"},
		"subscriptions": &types.AttributeValueMemberS{Value: "pending_consent"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r = list()
	if got := listed(r); len(got) != 2 || !got[ids[0]] || !got[ids[1]] || r.json["skipped"] != float64(1) {
		t.Fatalf("GET /providers with a damaged item: %s", r.raw)
	}
	// Alone it is a fault: 500 internal, nothing of the decoder shown.
	g := e.call(t, "GET", "/providers/"+bad, member, nil)
	if g.status != 500 || g.errorCode() != "internal" || strings.Contains(string(g.raw), "unmarshal") {
		t.Errorf("GET the damaged provider: %d %s", g.status, g.raw)
	}
}
