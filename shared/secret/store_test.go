package secret

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestProviderSecretName(t *testing.T) {
	for _, tt := range []struct{ account, want string }{
		{"acct-eligible", "partner-cloud/providers/acct-eligible/prv_1"},
		{"a.b@c+d=e_f", "partner-cloud/providers/a.b@c+d=e_f/prv_1"},
		// Characters Secrets Manager refuses (and "/") are hashed, stably.
		{"acct/../other", "partner-cloud/providers/sha256-"},
		{"compte été", "partner-cloud/providers/sha256-"},
	} {
		got := ProviderSecretName(tt.account, "prv_1")
		if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, "/prv_1") || got != ProviderSecretName(tt.account, "prv_1") {
			t.Errorf("ProviderSecretName(%q) = %q, want %s…/prv_1", tt.account, got, tt.want)
		}
		if tags := ProviderTags(tt.account, "prv_1"); !strings.Contains(got, tags[TagAccount]) || tags[TagProvider] != "prv_1" {
			t.Errorf("tags %v do not match the name %q", tags, got)
		}
	}
	if ProviderSecretName("a/b", "p") == ProviderSecretName("a_b", "p") {
		t.Fatal("two accounts share a secret name")
	}
}

// fakeAPI records the calls; err makes them fail.
type fakeAPI struct {
	create *secretsmanager.CreateSecretInput
	del    *secretsmanager.DeleteSecretInput
	err    error
}

func (f *fakeAPI) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.create = in
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.CreateSecretOutput{ARN: aws.String("arn:aws:secretsmanager:us-east-1:1:secret:" + aws.ToString(in.Name) + "-AbCdEf")}, nil
}

func (f *fakeAPI) DeleteSecret(_ context.Context, in *secretsmanager.DeleteSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	f.del = in
	return &secretsmanager.DeleteSecretOutput{}, f.err
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	api := &fakeAPI{}
	s := &Store{Client: api}
	arn, err := s.Create(ctx, "partner-cloud/providers/a/p", "v4lue", map[string]string{"provider": "p", "account": "a"})
	if err != nil || !strings.HasSuffix(arn, "partner-cloud/providers/a/p-AbCdEf") {
		t.Fatalf("Create = %q, %v", arn, err)
	}
	if aws.ToString(api.create.SecretString) != "v4lue" || len(api.create.Tags) != 2 || aws.ToString(api.create.Tags[0].Key) != "account" {
		t.Fatalf("CreateSecret input = %+v", api.create)
	}
	if err := s.Delete(ctx, arn); err != nil || !aws.ToBool(api.del.ForceDeleteWithoutRecovery) || aws.ToString(api.del.SecretId) != arn {
		t.Fatalf("Delete = %v, input %+v", err, api.del)
	}
	api.err = &types.ResourceNotFoundException{Message: aws.String("gone")}
	if err := s.Delete(ctx, arn); err != nil {
		t.Fatalf("deleting an absent secret: %v", err)
	}
	api.err = errors.New("throttled")
	if err := s.Delete(ctx, arn); err == nil || !strings.Contains(err.Error(), arn) {
		t.Fatalf("Delete error = %v", err)
	}
	if _, err := s.Create(ctx, "n", "v4lue", nil); err == nil || strings.Contains(err.Error(), "v4lue") {
		t.Fatalf("Create error = %v", err)
	}
}
