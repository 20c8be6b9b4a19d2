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
	// described is the secret DescribeSecret was asked for; describeErr its
	// answer's error.
	described   string
	describeErr error
}

func (f *fakeAPI) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	f.described = aws.ToString(in.SecretId)
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	return &secretsmanager.DescribeSecretOutput{ARN: aws.String("arn:aws:secretsmanager:us-east-1:1:secret:" + f.described + "-XyZwVu")}, nil
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

// TestCreateOnce: a new secret is created as Create does; one that exists
// already (a step that ran before) answers its own ARN, found by name; other
// failures stay errors that never carry the value.
func TestCreateOnce(t *testing.T) {
	ctx := context.Background()
	const name = "partner-cloud/providers/a/p/initial-admin"
	for _, tt := range []struct {
		label                  string
		createErr, descErr     error
		wantARN, wantDescribed string
		wantErr                bool
	}{
		{"new", nil, nil, "arn:aws:secretsmanager:us-east-1:1:secret:" + name + "-AbCdEf", "", false},
		{"there already", &types.ResourceExistsException{Message: aws.String("exists")}, nil, "arn:aws:secretsmanager:us-east-1:1:secret:" + name + "-XyZwVu", name, false},
		{"there, not readable", &types.ResourceExistsException{Message: aws.String("exists")}, errors.New("AccessDenied"), "", name, true},
		{"throttled", errors.New("throttled"), nil, "", "", true},
	} {
		t.Run(tt.label, func(t *testing.T) {
			api := &fakeAPI{err: tt.createErr, describeErr: tt.descErr}
			arn, err := (&Store{Client: api}).CreateOnce(ctx, name, "s3cret", nil)
			if arn != tt.wantARN || (err != nil) != tt.wantErr || api.described != tt.wantDescribed {
				t.Fatalf("CreateOnce = %q, %v (described %q); want %q, error %v, described %q", arn, err, api.described, tt.wantARN, tt.wantErr, tt.wantDescribed)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
}
