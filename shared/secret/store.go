package secret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// ProviderSecretPrefix starts the name of every provider's credential secret;
// the functions' IAM policies are scoped to it.
const ProviderSecretPrefix = "partner-cloud/providers/"

// Tag keys of a provider's credential secret.
const (
	TagAccount  = "account"
	TagProvider = "provider"
)

// safeSegment reports whether Secrets Manager accepts s in a name segment
// and a tag value: 1 to 128 of A-Z a-z 0-9 _+=.@- (no "/", so that segments
// stay unambiguous). A loop: as a regular expression the bounded repetition
// compiles to a large program, built on a request's path.
func safeSegment(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("_+=.@-", c) >= 0) {
			return false
		}
	}
	return true
}

// Segment returns s when Secrets Manager accepts it in a secret name and a
// tag value, else "sha256-" and its SHA-256 in hex: stable, and still unique.
func Segment(s string) string {
	if safeSegment(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// ProviderSecretName is the name of a provider's credential secret:
// partner-cloud/providers/<accountId>/<providerId>.
func ProviderSecretName(accountID, providerID string) string {
	return ProviderSecretPrefix + Segment(accountID) + "/" + Segment(providerID)
}

// ProviderTags are the tags of a provider's credential secret.
func ProviderTags(accountID, providerID string) map[string]string {
	return map[string]string{TagAccount: Segment(accountID), TagProvider: Segment(providerID)}
}

// API is the part of the Secrets Manager client that Store calls.
type API interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Store creates and deletes secrets. Errors name the secret, never its value.
type Store struct {
	Client API
}

// Create stores value as a new secret with tags and returns its ARN.
func (s *Store) Create(ctx context.Context, name, value string, tags map[string]string) (string, error) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tt := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		tt = append(tt, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	out, err := s.Client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(value),
		Tags:         tt,
	})
	if err != nil {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	arn := aws.ToString(out.ARN)
	if arn == "" {
		return "", fmt.Errorf("create secret %s: no ARN in the answer", name)
	}
	return arn, nil
}

// CreateOnce is Create for a step that may run again after it stored the
// secret but stopped before it recorded the ARN: when the secret named name
// exists already, its ARN is returned and it keeps what it holds (the first
// run stored the value as it was issued).
func (s *Store) CreateOnce(ctx context.Context, name, value string, tags map[string]string) (string, error) {
	arn, err := s.Create(ctx, name, value, tags)
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		return arn, err
	}
	out, err := s.Client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("find the existing secret %s: %w", name, err)
	}
	if arn = aws.ToString(out.ARN); arn == "" {
		return "", fmt.Errorf("find the existing secret %s: no ARN in the answer", name)
	}
	return arn, nil
}

// Delete deletes the secret at once, without a recovery window. A secret
// that does not exist is not an error, so a retried delete succeeds.
func (s *Store) Delete(ctx context.Context, arn string) error {
	_, err := s.Client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId:                   aws.String(arn),
		ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete secret %s: %w", arn, err)
	}
	return nil
}
