// Package secrets emulates the part of AWS Secrets Manager the project uses,
// in memory, over the AWS JSON 1.1 protocol (POST / with an
// `X-Amz-Target: secretsmanager.<Operation>` header), so that the real
// aws-sdk-go-v2 secretsmanager client and the AWS CLI talk to it unchanged.
//
// Supported operations: CreateSecret (with Tags), GetSecretValue,
// PutSecretValue, DescribeSecret, DeleteSecret (with a recovery window or
// ForceDeleteWithoutRecovery), RestoreSecret and ListSecrets. Secrets are found
// by name, by full ARN, or by partial ARN (the ARN without its random
// six-character suffix), as AWS does. Errors use the AWS shapes
// (`{"__type":"ResourceNotFoundException","message":"..."}`) so that the SDK
// maps them to its typed errors.
//
// Besides the AWS protocol, the handler answers `GET /_control/secrets` with
// every stored secret and all of its values, for tests that scan logs and
// tables for leaked secrets.
package secrets

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Version stages that Secrets Manager maintains itself.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Region goes into ARNs; default "us-east-1".
	Region string
	// AccountID goes into ARNs; default "000000000000".
	AccountID string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is an in-memory Secrets Manager. It is an http.Handler serving the
// AWS JSON 1.1 protocol; it is safe for concurrent use.
type Store struct {
	region    string
	accountID string
	now       func() time.Time

	mu      sync.Mutex
	secrets map[string]*secret // by name
}

type version struct {
	id      string
	str     *string
	bin     []byte
	created time.Time
	stages  []string
}

type secret struct {
	name         string
	arn          string
	description  string
	kmsKeyID     string
	tags         []Tag
	created      time.Time
	lastChanged  time.Time
	lastAccessed time.Time
	deletionDate time.Time // zero unless scheduled for deletion
	versions     map[string]*version
	order        []string // version ids, oldest first
}

// Tag is a Secrets Manager tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// New makes a Store preloaded with the given secrets (name → SecretString).
func New(preload map[string]string, opts Options) *Store {
	s := &Store{
		region:    opts.Region,
		accountID: opts.AccountID,
		now:       opts.Now,
		secrets:   map[string]*secret{},
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.accountID == "" {
		s.accountID = "000000000000"
	}
	if s.now == nil {
		s.now = time.Now
	}
	names := make([]string, 0, len(preload))
	for name := range preload {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := preload[name]
		if _, err := s.create(createInput{Name: name, SecretString: &v}); err != nil {
			// Names in a map are unique, so create cannot collide; keep the
			// first error visible to anyone debugging a bad preload anyway.
			panic(fmt.Sprintf("secrets: preload %q: %v", name, err))
		}
	}
	return s
}

// SecretValues is one stored secret with every value it has held, as returned
// by Values and by `GET /_control/secrets`.
type SecretValues struct {
	Name   string   `json:"name"`
	ARN    string   `json:"arn"`
	Values []string `json:"values"`
}

// Values returns every secret (including those scheduled for deletion) with
// all of its versions' values, sorted by name. Binary values are returned as
// their raw bytes converted to a string.
func (s *Store) Values() []SecretValues {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SecretValues, 0, len(s.secrets))
	for _, sec := range s.secrets {
		sv := SecretValues{Name: sec.name, ARN: sec.arn, Values: []string{}}
		for _, id := range sec.order {
			v := sec.versions[id]
			if v.str != nil {
				sv.Values = append(sv.Values, *v.str)
			}
			if v.bin != nil {
				sv.Values = append(sv.Values, string(v.bin))
			}
		}
		out = append(out, sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// apiError is an AWS JSON protocol error.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func notFound() *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
}

func invalidParam(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, a...)}
}

func invalidRequest(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestException", fmt.Sprintf(format, a...)}
}

// ServeHTTP implements the AWS JSON 1.1 protocol and the control endpoint.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/_control/secrets" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Values())
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, &apiError{http.StatusNotFound, "UnknownOperationException", "only POST / with X-Amz-Target is served"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "secretsmanager.")
	if !ok {
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("unknown target %q", target)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "could not read the request body"})
		return
	}
	var out any
	switch op {
	case "CreateSecret":
		var in createInput
		if err = decode(body, &in); err == nil {
			out, err = s.create(in)
		}
	case "GetSecretValue":
		var in getInput
		if err = decode(body, &in); err == nil {
			out, err = s.get(in)
		}
	case "PutSecretValue":
		var in putInput
		if err = decode(body, &in); err == nil {
			out, err = s.put(in)
		}
	case "DescribeSecret":
		var in secretIDInput
		if err = decode(body, &in); err == nil {
			out, err = s.describe(in)
		}
	case "DeleteSecret":
		var in deleteInput
		if err = decode(body, &in); err == nil {
			out, err = s.delete(in)
		}
	case "RestoreSecret":
		var in secretIDInput
		if err = decode(body, &in); err == nil {
			out, err = s.restore(in)
		}
	case "ListSecrets":
		out, err = s.list()
	default:
		err = &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("operation %s is not supported by the local Secrets Manager", op)}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, "InternalServiceError", err.Error()}
		}
		writeError(w, ae)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func decode(body []byte, v any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "could not parse the request body as JSON: " + err.Error()}
	}
	return nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

// epoch renders a time as the AWS JSON protocol does (seconds, fractional).
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(t).UnixMilli())/1000)), nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type createInput struct {
	Name               string  `json:"Name"`
	Description        string  `json:"Description"`
	KmsKeyID           string  `json:"KmsKeyId"`
	SecretString       *string `json:"SecretString"`
	SecretBinary       []byte  `json:"SecretBinary"`
	ClientRequestToken string  `json:"ClientRequestToken"`
	Tags               []Tag   `json:"Tags"`
}

type createOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionID string `json:"VersionId,omitempty"`
}

func (s *Store) create(in createInput) (*createOutput, error) {
	if in.Name == "" {
		return nil, invalidParam("You must provide a value for the Name parameter.")
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.secrets[in.Name]; ok {
		if !existing.deletionDate.IsZero() {
			return nil, invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		// A retried request with the same token and value succeeds again.
		if v, ok := existing.versions[in.ClientRequestToken]; ok && in.ClientRequestToken != "" && sameValue(v, in.SecretString, in.SecretBinary) {
			return &createOutput{ARN: existing.arn, Name: existing.name, VersionID: v.id}, nil
		}
		return nil, &apiError{http.StatusBadRequest, "ResourceExistsException", fmt.Sprintf("The operation failed because the secret %s already exists.", in.Name)}
	}
	now := s.now()
	sec := &secret{
		name:        in.Name,
		arn:         fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.region, s.accountID, in.Name, randomSuffix()),
		description: in.Description,
		kmsKeyID:    in.KmsKeyID,
		tags:        append([]Tag(nil), in.Tags...),
		created:     now,
		lastChanged: now,
		versions:    map[string]*version{},
	}
	s.secrets[in.Name] = sec
	out := &createOutput{ARN: sec.arn, Name: sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		out.VersionID = sec.addVersion(in.ClientRequestToken, in.SecretString, in.SecretBinary, []string{StageCurrent}, now)
	}
	return out, nil
}

func sameValue(v *version, str *string, bin []byte) bool {
	if (v.str == nil) != (str == nil) {
		return false
	}
	if v.str != nil && *v.str != *str {
		return false
	}
	return string(v.bin) == string(bin)
}

// addVersion stores a new version with the given stages, moving AWSCURRENT
// (and AWSPREVIOUS) as Secrets Manager does, and returns its id.
func (sec *secret) addVersion(id string, str *string, bin []byte, stages []string, now time.Time) string {
	if id == "" {
		id = uuid.NewString()
	}
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	for _, st := range stages {
		for _, old := range sec.versions {
			if st == StageCurrent && old.hasStage(StageCurrent) {
				for _, o := range sec.versions {
					o.removeStage(StagePrevious)
				}
				old.removeStage(StageCurrent)
				old.stages = append(old.stages, StagePrevious)
			} else {
				old.removeStage(st)
			}
		}
	}
	v := &version{id: id, created: now, stages: append([]string(nil), stages...)}
	if str != nil {
		c := *str
		v.str = &c
	}
	if bin != nil {
		v.bin = append([]byte(nil), bin...)
	}
	sec.versions[id] = v
	sec.order = append(sec.order, id)
	sec.lastChanged = now
	return id
}

func (v *version) hasStage(st string) bool {
	for _, s := range v.stages {
		if s == st {
			return true
		}
	}
	return false
}

func (v *version) removeStage(st string) {
	out := v.stages[:0]
	for _, s := range v.stages {
		if s != st {
			out = append(out, s)
		}
	}
	v.stages = out
}

func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// find looks a secret up by name, full ARN or partial ARN. s.mu must be held.
func (s *Store) find(id string) (*secret, error) {
	if id == "" {
		return nil, invalidParam("You must provide a value for the SecretId parameter.")
	}
	if sec, ok := s.secrets[id]; ok {
		return sec, nil
	}
	if strings.HasPrefix(id, "arn:") {
		for _, sec := range s.secrets {
			if sec.arn == id || sec.arn[:len(sec.arn)-7] == id {
				return sec, nil
			}
		}
	}
	return nil, notFound()
}

type getInput struct {
	SecretID     string `json:"SecretId"`
	VersionID    string `json:"VersionId"`
	VersionStage string `json:"VersionStage"`
}

type getOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   *epoch   `json:"CreatedDate,omitempty"`
}

func (s *Store) get(in getInput) (*getOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretID)
	if err != nil {
		return nil, err
	}
	if !sec.deletionDate.IsZero() {
		return nil, invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	var v *version
	switch {
	case in.VersionID != "":
		v = sec.versions[in.VersionID]
		if v != nil && in.VersionStage != "" && !v.hasStage(in.VersionStage) {
			v = nil
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = StageCurrent
		}
		for _, id := range sec.order {
			if sec.versions[id].hasStage(stage) {
				v = sec.versions[id]
			}
		}
	}
	if v == nil {
		if in.VersionID == "" && in.VersionStage == "" {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"}
		}
		return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId or VersionStage."}
	}
	sec.lastAccessed = s.now().UTC().Truncate(24 * time.Hour)
	return &getOutput{
		ARN:           sec.arn,
		Name:          sec.name,
		VersionID:     v.id,
		SecretString:  v.str,
		SecretBinary:  v.bin,
		VersionStages: append([]string{}, v.stages...),
		CreatedDate:   epochPtr(v.created),
	}, nil
}

type putInput struct {
	SecretID           string   `json:"SecretId"`
	SecretString       *string  `json:"SecretString"`
	SecretBinary       []byte   `json:"SecretBinary"`
	ClientRequestToken string   `json:"ClientRequestToken"`
	VersionStages      []string `json:"VersionStages"`
}

type putOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
}

func (s *Store) put(in putInput) (*putOutput, error) {
	if in.SecretString == nil && in.SecretBinary == nil {
		return nil, invalidParam("You must provide either SecretString or SecretBinary.")
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretID)
	if err != nil {
		return nil, err
	}
	if !sec.deletionDate.IsZero() {
		return nil, invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	if v, ok := sec.versions[in.ClientRequestToken]; ok && in.ClientRequestToken != "" {
		if sameValue(v, in.SecretString, in.SecretBinary) {
			return &putOutput{ARN: sec.arn, Name: sec.name, VersionID: v.id, VersionStages: append([]string{}, v.stages...)}, nil
		}
		return nil, &apiError{http.StatusBadRequest, "ResourceExistsException", "A resource with the ID you requested already exists."}
	}
	id := sec.addVersion(in.ClientRequestToken, in.SecretString, in.SecretBinary, in.VersionStages, s.now())
	return &putOutput{ARN: sec.arn, Name: sec.name, VersionID: id, VersionStages: append([]string{}, sec.versions[id].stages...)}, nil
}

type secretIDInput struct {
	SecretID string `json:"SecretId"`
}

type describeOutput struct {
	ARN                string              `json:"ARN"`
	Name               string              `json:"Name"`
	Description        string              `json:"Description,omitempty"`
	KmsKeyID           string              `json:"KmsKeyId,omitempty"`
	Tags               []Tag               `json:"Tags,omitempty"`
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
	CreatedDate        *epoch              `json:"CreatedDate,omitempty"`
	LastChangedDate    *epoch              `json:"LastChangedDate,omitempty"`
	LastAccessedDate   *epoch              `json:"LastAccessedDate,omitempty"`
	DeletedDate        *epoch              `json:"DeletedDate,omitempty"`
	RotationEnabled    bool                `json:"RotationEnabled"`
}

func (sec *secret) describe() *describeOutput {
	out := &describeOutput{
		ARN:              sec.arn,
		Name:             sec.name,
		Description:      sec.description,
		KmsKeyID:         sec.kmsKeyID,
		Tags:             append([]Tag(nil), sec.tags...),
		CreatedDate:      epochPtr(sec.created),
		LastChangedDate:  epochPtr(sec.lastChanged),
		LastAccessedDate: epochPtr(sec.lastAccessed),
		DeletedDate:      epochPtr(sec.deletionDate),
	}
	for id, v := range sec.versions {
		if len(v.stages) == 0 {
			continue
		}
		if out.VersionIdsToStages == nil {
			out.VersionIdsToStages = map[string][]string{}
		}
		out.VersionIdsToStages[id] = append([]string{}, v.stages...)
	}
	return out
}

func (s *Store) describe(in secretIDInput) (*describeOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretID)
	if err != nil {
		return nil, err
	}
	return sec.describe(), nil
}

type deleteInput struct {
	SecretID                   string `json:"SecretId"`
	ForceDeleteWithoutRecovery bool   `json:"ForceDeleteWithoutRecovery"`
	RecoveryWindowInDays       *int64 `json:"RecoveryWindowInDays"`
}

type deleteOutput struct {
	ARN          string `json:"ARN"`
	Name         string `json:"Name"`
	DeletionDate *epoch `json:"DeletionDate"`
}

func (s *Store) delete(in deleteInput) (*deleteOutput, error) {
	if in.ForceDeleteWithoutRecovery && in.RecoveryWindowInDays != nil {
		return nil, invalidParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, invalidParam("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if in.ForceDeleteWithoutRecovery {
		delete(s.secrets, sec.name)
		return &deleteOutput{ARN: sec.arn, Name: sec.name, DeletionDate: epochPtr(now)}, nil
	}
	if sec.deletionDate.IsZero() {
		sec.deletionDate = now.Add(time.Duration(days) * 24 * time.Hour)
	}
	return &deleteOutput{ARN: sec.arn, Name: sec.name, DeletionDate: epochPtr(sec.deletionDate)}, nil
}

type restoreOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

func (s *Store) restore(in secretIDInput) (*restoreOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(in.SecretID)
	if err != nil {
		return nil, err
	}
	sec.deletionDate = time.Time{}
	return &restoreOutput{ARN: sec.arn, Name: sec.name}, nil
}

type listEntry struct {
	*describeOutput
	VersionIdsToStages     map[string][]string `json:"VersionIdsToStages,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

type listOutput struct {
	SecretList []listEntry `json:"SecretList"`
}

func (s *Store) list() (*listOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &listOutput{SecretList: []listEntry{}}
	for _, sec := range s.secrets {
		if sec.deletionDate.IsZero() {
			d := sec.describe()
			out.SecretList = append(out.SecretList, listEntry{describeOutput: d, SecretVersionsToStages: d.VersionIdsToStages})
		}
	}
	sort.Slice(out.SecretList, func(i, j int) bool { return out.SecretList[i].Name < out.SecretList[j].Name })
	return out, nil
}

// String reports the number of secrets, never their values.
func (s *Store) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("secrets.Store{%d secrets}", len(s.secrets))
}

var _ http.Handler = (*Store)(nil)
