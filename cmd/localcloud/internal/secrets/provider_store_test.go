package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	sharedsecret "github.com/partnercloud/azure/shared/secret"
)

// The product's secret store (shared/secret.Store) against this emulation,
// with the real aws-sdk-go-v2 client: a provider's credential secret is
// created with its tags, read back, and deleted at once.
func TestProviderSecretStoreAdapter(t *testing.T) {
	ctx := context.Background()
	client, emu, _ := newClient(t, nil)
	st := &sharedsecret.Store{Client: client}
	const value = "contoso-local-secret"
	name := sharedsecret.ProviderSecretName("acct-eligible", "prv_01jd2y5q8w3v6t9x0b1c2d3e4f")
	if name != "partner-cloud/providers/acct-eligible/prv_01jd2y5q8w3v6t9x0b1c2d3e4f" {
		t.Fatalf("name = %q", name)
	}

	arn, err := st.Create(ctx, name, value, sharedsecret.ProviderTags("acct-eligible", "prv_01jd2y5q8w3v6t9x0b1c2d3e4f"))
	if err != nil {
		t.Fatal(err)
	}
	if m := arnPattern.FindStringSubmatch(arn); m == nil || m[1] != name {
		t.Fatalf("ARN %q", arn)
	}
	got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil || aws.ToString(got.SecretString) != value {
		t.Fatalf("GetSecretValue = %v, %v", got, err)
	}
	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range desc.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if len(tags) != 2 || tags["account"] != "acct-eligible" || tags["provider"] != "prv_01jd2y5q8w3v6t9x0b1c2d3e4f" {
		t.Fatalf("tags = %v", tags)
	}

	// A second secret of that name is refused; the error never shows the value.
	if _, err := st.Create(ctx, name, value, nil); err == nil || strings.Contains(err.Error(), value) {
		t.Fatalf("duplicate create: %v", err)
	}
	// Created once: a step run again finds the secret's ARN, and the
	// secret keeps the first value.
	again, err := st.CreateOnce(ctx, name, "another-value", nil)
	if err != nil || again != arn {
		t.Fatalf("CreateOnce of an existing secret = %q, %v; want %q", again, err, arn)
	}
	if got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}); err != nil || aws.ToString(got.SecretString) != value {
		t.Fatalf("after CreateOnce: %v, %v; want the first value", got, err)
	}

	if err := st.Delete(ctx, arn); err != nil {
		t.Fatal(err)
	}
	var nf *types.ResourceNotFoundException
	if _, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}); !errors.As(err, &nf) {
		t.Fatalf("after Delete: %v, want ResourceNotFoundException (deleted without a recovery window)", err)
	}
	for _, v := range emu.Values() {
		if v.Name == name {
			t.Fatalf("the secret is still stored: %+v", v.Name)
		}
	}
	// Deleting again (a retried DELETE) is not an error.
	if err := st.Delete(ctx, arn); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}
