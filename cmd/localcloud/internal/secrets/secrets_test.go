package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func newClient(t *testing.T, preload map[string]string) (*secretsmanager.Client, *Store, string) {
	t.Helper()
	store := New(preload, Options{})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	client := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret-key", ""),
	})
	return client, store, srv.URL
}

var arnPattern = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:([A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$`)

func TestPreloadedSecretByNameAndARN(t *testing.T) {
	ctx := context.Background()
	client, _, _ := newClient(t, map[string]string{"partner/azure/client-secret": "partner-local-secret"})

	byName, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("partner/azure/client-secret")})
	if err != nil {
		t.Fatalf("GetSecretValue by name: %v", err)
	}
	if got := aws.ToString(byName.SecretString); got != "partner-local-secret" {
		t.Fatalf("SecretString = %q", got)
	}
	m := arnPattern.FindStringSubmatch(aws.ToString(byName.ARN))
	if m == nil || m[1] != "partner/azure/client-secret" {
		t.Fatalf("ARN %q does not have the AWS shape", aws.ToString(byName.ARN))
	}
	if len(byName.VersionStages) != 1 || byName.VersionStages[0] != StageCurrent {
		t.Fatalf("VersionStages = %v", byName.VersionStages)
	}
	if byName.CreatedDate == nil || byName.CreatedDate.IsZero() {
		t.Fatal("CreatedDate missing")
	}

	arn := aws.ToString(byName.ARN)
	for name, id := range map[string]string{"full ARN": arn, "partial ARN": arn[:len(arn)-7]} {
		t.Run(name, func(t *testing.T) {
			out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
			if err != nil {
				t.Fatalf("GetSecretValue(%s): %v", id, err)
			}
			if aws.ToString(out.SecretString) != "partner-local-secret" {
				t.Fatalf("SecretString = %q", aws.ToString(out.SecretString))
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	client, store, _ := newClient(t, nil)

	created, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("providers/p-1/client-secret"),
		Description:  aws.String("customer app secret"),
		SecretString: aws.String("v1"),
		Tags:         []types.Tag{{Key: aws.String("provider"), Value: aws.String("p-1")}},
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if !arnPattern.MatchString(aws.ToString(created.ARN)) || aws.ToString(created.VersionId) == "" {
		t.Fatalf("CreateSecret output %+v", created)
	}

	_, err = client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("providers/p-1/client-secret"), SecretString: aws.String("other")})
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("second CreateSecret error = %v, want ResourceExistsException", err)
	}

	put, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String("v2")})
	if err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("providers/p-1/client-secret")})
	if err != nil || aws.ToString(got.SecretString) != "v2" || aws.ToString(got.VersionId) != aws.ToString(put.VersionId) {
		t.Fatalf("GetSecretValue after put = %+v, %v", got, err)
	}
	prev, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.Name, VersionStage: aws.String(StagePrevious)})
	if err != nil || aws.ToString(prev.SecretString) != "v1" {
		t.Fatalf("AWSPREVIOUS = %+v, %v", prev, err)
	}

	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: created.Name})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	if aws.ToString(desc.Description) != "customer app secret" || len(desc.Tags) != 1 || aws.ToString(desc.Tags[0].Value) != "p-1" {
		t.Fatalf("DescribeSecret = %+v", desc)
	}
	if len(desc.VersionIdsToStages) != 2 {
		t.Fatalf("VersionIdsToStages = %v", desc.VersionIdsToStages)
	}

	values := store.Values()
	if len(values) != 1 || strings.Join(values[0].Values, ",") != "v1,v2" {
		t.Fatalf("Values() = %+v", values)
	}

	if _, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: created.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	_, err = client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.Name})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetSecretValue after delete error = %v, want ResourceNotFoundException", err)
	}
	if len(store.Values()) != 0 {
		t.Fatal("secret still listed after forced deletion")
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	client, _, _ := newClient(t, map[string]string{"scheduled": "x"})
	if _, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("scheduled"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatalf("DeleteSecret with recovery window: %v", err)
	}

	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"get unknown name", func() error {
			_, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
			return err
		}, new(*types.ResourceNotFoundException)},
		{"get unknown ARN", func() error {
			_, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-abcdef")})
			return err
		}, new(*types.ResourceNotFoundException)},
		{"put unknown", func() error {
			_, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("x")})
			return err
		}, new(*types.ResourceNotFoundException)},
		{"describe unknown", func() error {
			_, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("nope")})
			return err
		}, new(*types.ResourceNotFoundException)},
		{"delete unknown", func() error {
			_, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("nope"), ForceDeleteWithoutRecovery: aws.Bool(true)})
			return err
		}, new(*types.ResourceNotFoundException)},
		{"get scheduled for deletion", func() error {
			_, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("scheduled")})
			return err
		}, new(*types.InvalidRequestException)},
		{"create over scheduled for deletion", func() error {
			_, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("scheduled"), SecretString: aws.String("y")})
			return err
		}, new(*types.InvalidRequestException)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !errors.As(err, tc.want) {
				t.Fatalf("error = %v, want %T", err, tc.want)
			}
		})
	}
}

func TestControlValuesEndpoint(t *testing.T) {
	_, _, url := newClient(t, map[string]string{"a": "alpha", "b": "beta"})
	resp, err := http.Get(url + "/_control/secrets")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []SecretValues
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[0].Values[0] != "alpha" || got[1].Values[0] != "beta" {
		t.Fatalf("control values = %+v", got)
	}
}
