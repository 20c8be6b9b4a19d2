package store

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/logging"
	"github.com/partnercloud/azure/shared/provider"
)

// Limits of ListProviders' page size.
const (
	MinListLimit = 1
	MaxListLimit = 100
)

const (
	// updateRetries is how often UpdateProvider re-reads and retries after
	// losing an optimistic race, each after a jittered back-off (sleep):
	// a migration's parallel subscriptions, its health check and the
	// outbox relay may all write one provider at once, and a writer that
	// gives up after sending an email (the relay) sends it again.
	updateRetries = 8
	// createAttempts bounds CreateProvider's attempts when DynamoDB cancels
	// the transaction for a conflict with a concurrent transaction.
	createAttempts = 5
)

// ErrConcurrentUpdate is the cause (inside an internal *apperr.Error) when
// UpdateProvider lost the optimistic race on every attempt.
var ErrConcurrentUpdate = errors.New("store: provider changed concurrently; retries exhausted")

func providerSK(id string) string     { return providerPrefix + id }
func nameSK(name string) string       { return namePrefix + strings.ToLower(name) }
func providerGSI1PK(id string) string { return providerPrefix + id }

// notFound is the answer for a provider that does not exist, or that belongs
// to another account (never reveal which).
func notFound() *apperr.Error {
	return apperr.New(apperr.NotFound, "The provider does not exist.")
}

func nameTaken() *apperr.Error {
	return apperr.New(apperr.NameTaken, "A provider with this name already exists in this account.",
		apperr.Detail{Field: "name", Code: "taken", Message: "choose another name"})
}

// providerItem is the stored form of p: its attributes plus keys and the
// indexes' keys: gsi1 (by id), gsi2 (by status, last change) and, while the
// provider waits on a step, gsi3 (by status, since when it waits). Every
// provider write goes through here, so the indexes follow every change; a
// provider that stops waiting leaves gsi3 (the item is replaced whole).
// The subscriptions and the timeline are always stored as lists, empty ones
// included (the SDK's encoder would store a nil slice as NULL).
func providerItem(p *provider.Provider) (map[string]types.AttributeValue, error) {
	stored := *p
	if stored.Subscriptions == nil {
		stored.Subscriptions = []provider.Subscription{}
	}
	if stored.Timeline == nil {
		stored.Timeline = []provider.Event{}
	}
	item, err := attributevalue.MarshalMap(&stored)
	if err != nil {
		return nil, err
	}
	addKey(item, p.AccountID, providerSK(p.ID))
	item[AttrGSI1PK] = str(providerGSI1PK(p.ID))
	item[AttrGSI1SK] = str(providerGSI1SK)
	item[AttrGSI2PK] = str(statusPK(p.Status))
	item[AttrGSI2SK] = str(indexSK(p.UpdatedAt, p.ID))
	if since, ok := p.WaitingSince(); ok {
		item[AttrGSI3PK] = str(waitingPK(p.Status))
		item[AttrGSI3SK] = str(indexSK(since, p.ID))
	}
	if p.Status == provider.StatusActive {
		item[AttrGSI4PK] = str(activeGSI4PK)
		item[AttrGSI4SK] = str(p.ID)
	}
	return item, nil
}

// decodeProvider reads a stored provider. A NULL list (items written before
// lists were always stored as lists) reads as an empty one. An item that
// cannot be decoded is apperr.Undecodable: permanent, never worth a retry.
func decodeProvider(item map[string]types.AttributeValue) (*provider.Provider, error) {
	var p provider.Provider
	if err := attributevalue.UnmarshalMap(item, &p); err != nil {
		return nil, apperr.Undecodable(err, "decode provider")
	}
	return &p, nil
}

// prepareNew fills what a new provider lacks: id, times and version 1.
func prepareNew(p *provider.Provider, now time.Time) {
	if p.ID == "" {
		p.ID = NewProviderID(now)
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	if p.Version == 0 {
		p.Version = 1
	}
}

// txIndex says which transaction item is which (-1: absent).
type txIndex struct{ idem, name, provider int }

// CreateProvider writes the provider, its name claim and, when idem is not
// nil, the idempotency record in one transaction. It fills p's missing id
// (NewProviderID), CreatedAt, UpdatedAt and Version (1), and sets
// idem.ProviderID to p.ID.
//
// Errors: ErrIdempotencyKeyUsed when an unexpired record of idem.Key exists
// (it wins over a taken name: a retried request also claims its own name);
// *apperr.Error name_taken when the account has a provider of that name,
// case-insensitively; otherwise internal.
func (s *Store) CreateProvider(ctx context.Context, p *provider.Provider, idem *IdempotencyRecord) error {
	if err := s.checkNew(p, idem); err != nil {
		return err
	}
	now := s.now()
	prepareNew(p, now)
	if !ValidProviderID(p.ID) {
		return apperr.Wrap(errors.New("malformed provider id"), "create provider")
	}
	in, idx, err := s.createTransaction(p, idem, now)
	if err != nil {
		return apperr.Wrap(err, "encode provider")
	}
	for attempt := 1; ; attempt++ {
		_, err := s.client.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		retry, out := s.createFailure(ctx, err, p, idem, idx)
		if !retry || attempt == createAttempts {
			return out
		}
		if err := sleep(ctx, attempt); err != nil {
			return apperr.Wrap(err, "create provider")
		}
	}
}

// checkNew rejects a provider the store cannot write.
func (s *Store) checkNew(p *provider.Provider, idem *IdempotencyRecord) error {
	if p == nil {
		return apperr.Wrap(errors.New("nil provider"), "create provider")
	}
	if err := requireAccount(p.AccountID); err != nil {
		return err
	}
	if p.Name == "" {
		return apperr.Wrap(errors.New("provider without a name"), "create provider")
	}
	if idem != nil {
		return checkIdempotencyKey(idem.Key)
	}
	return nil
}

// createTransaction builds the transaction of CreateProvider.
func (s *Store) createTransaction(p *provider.Provider, idem *IdempotencyRecord, now time.Time) (*dynamodb.TransactWriteItemsInput, txIndex, error) {
	idx := txIndex{idem: -1}
	var items []types.TransactWriteItem
	if idem != nil {
		idem.ProviderID = p.ID
		put, err := s.idempotencyPut(p.AccountID, idem, now)
		if err != nil {
			return nil, idx, err
		}
		idx.idem = len(items)
		items = append(items, put)
	}
	idx.name = len(items)
	items = append(items, s.putNew(map[string]types.AttributeValue{
		AttrPK: str(accountPK(p.AccountID)), AttrSK: str(nameSK(p.Name)),
		attrProvider: str(p.ID), attrAccountID: str(p.AccountID),
	}))
	item, err := providerItem(p)
	if err != nil {
		return nil, idx, err
	}
	idx.provider = len(items)
	items = append(items, s.putNew(item))
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}, idx, nil
}

// putNew is a transaction put that fails if the item exists.
func (s *Store) putNew(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	}}
}

// createFailure turns a failed create transaction into the method's error,
// and says whether to try again (a conflict with a concurrent transaction).
// It reads the cancellation reasons; without them it reads the items.
func (s *Store) createFailure(ctx context.Context, err error, p *provider.Provider, idem *IdempotencyRecord, idx txIndex) (bool, error) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false, apperr.Wrap(err, "create provider")
	}
	failed := map[int]bool{}
	conflict := false
	for i, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			failed[i] = true
		case "TransactionConflict":
			conflict = true
		}
	}
	switch {
	case idx.idem >= 0 && failed[idx.idem]:
		return false, ErrIdempotencyKeyUsed
	case failed[idx.name]:
		return false, nameTaken()
	case failed[idx.provider]:
		return false, apperr.Wrap(err, "create provider: id collision")
	case conflict:
		return true, apperr.Wrap(err, "create provider: transaction conflicts persisted")
	case len(tce.CancellationReasons) == 0:
		return false, s.classifyByReading(ctx, err, p, idem)
	}
	return false, apperr.Wrap(err, "create provider")
}

// classifyByReading decides why a create transaction failed when DynamoDB
// gave no cancellation reasons, by reading the conflicting items.
func (s *Store) classifyByReading(ctx context.Context, cause error, p *provider.Provider, idem *IdempotencyRecord) error {
	if idem != nil {
		live, err := s.idempotencyLive(ctx, p.AccountID, idem.Key)
		if err != nil {
			return err
		}
		if live {
			return ErrIdempotencyKeyUsed
		}
	}
	claim, err := s.getItem(ctx, keyOf(p.AccountID, nameSK(p.Name)))
	if err != nil {
		return apperr.Wrap(err, "get name claim")
	}
	if claim != nil {
		return nameTaken()
	}
	return apperr.Wrap(cause, "create provider")
}

// sleep waits a short, jittered, growing time before attempt+1.
func sleep(ctx context.Context, attempt int) error {
	d := time.Duration(attempt)*20*time.Millisecond + time.Duration(rand.Int64N(int64(20*time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// GetProvider returns the account's provider; not_found when the account has
// no provider of that id.
func (s *Store) GetProvider(ctx context.Context, accountID, providerID string) (*provider.Provider, error) {
	if err := requireAccount(accountID); err != nil {
		return nil, err
	}
	if !ValidProviderID(providerID) {
		return nil, notFound()
	}
	item, err := s.getItem(ctx, keyOf(accountID, providerSK(providerID)))
	if err != nil {
		return nil, apperr.Wrap(err, "get provider")
	}
	if item == nil {
		return nil, notFound()
	}
	return decodeProvider(item)
}

// ProviderPage is a page of an account's providers.
type ProviderPage struct {
	// Providers are the page's providers that could be read, newest first.
	Providers []provider.Provider
	// Next is the cursor of the next page ("" on the last page).
	Next string
	// Skipped counts the page's items that could not be decoded and were
	// left out (each is logged with its key); the page then holds fewer
	// providers than asked for, and Next still continues after them.
	Skipped int
}

// ListProviders returns a page of the account's providers, newest first, and
// the cursor of the next page ("" on the last page); see ListProvidersPage.
func (s *Store) ListProviders(ctx context.Context, accountID string, limit int, cursor string) ([]provider.Provider, string, error) {
	page, err := s.ListProvidersPage(ctx, accountID, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	return page.Providers, page.Next, nil
}

// ListProvidersPage returns a page of the account's providers, newest first.
// limit is clamped to 1..100. A cursor that is not one this method returned
// is invalid_request. An item that cannot be decoded does not fail the page:
// it is logged (its key only), counted in Skipped and left out.
func (s *Store) ListProvidersPage(ctx context.Context, accountID string, limit int, cursor string) (ProviderPage, error) {
	if err := requireAccount(accountID); err != nil {
		return ProviderPage{}, err
	}
	limit = min(max(limit, MinListLimit), MaxListLimit)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(accountID)), ":prefix": str(providerPrefix)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	if cursor != "" {
		sk, err := decodeCursor(cursor)
		if err != nil {
			return ProviderPage{}, err
		}
		in.ExclusiveStartKey = keyOf(accountID, sk)
	}
	// One item more than the page tells whether a next page exists.
	items, err := s.queryUpTo(ctx, in, limit+1)
	if err != nil {
		return ProviderPage{}, apperr.Wrap(err, "query providers")
	}
	page := ProviderPage{Providers: make([]provider.Provider, 0, min(len(items), limit))}
	if len(items) > limit {
		items = items[:limit]
		page.Next = encodeCursor(items[limit-1][AttrSK])
	}
	for _, item := range items {
		p, err := decodeProvider(item)
		if err != nil {
			page.Skipped++
			logging.From(ctx).Error("skipped a provider item that cannot be decoded",
				"pk", keyString(item[AttrPK]), "sk", keyString(item[AttrSK]), "problem", decodeProblem(err))
			continue
		}
		page.Providers = append(page.Providers, *p)
	}
	return page, nil
}

// decodeProblem describes a decode failure for logs by types only: the
// decoder's own text can quote the stored value.
func decodeProblem(err error) string {
	var te *attributevalue.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		switch te.Value {
		case "binary", "binary set", "bool", "list", "map", "number", "number set", "string", "string set":
			return "a " + te.Value + " where " + te.Type.String() + " was expected"
		}
		return "a value that does not fit " + te.Type.String()
	}
	var ue *attributevalue.UnmarshalError
	if errors.As(err, &ue) && ue.Type != nil {
		return "a value that does not fit " + ue.Type.String()
	}
	return "the item does not decode"
}

// keyString is the text of a key attribute, for logs.
func keyString(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// queryUpTo runs in until it has n items or the results end.
func (s *Store) queryUpTo(ctx context.Context, in *dynamodb.QueryInput, n int) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for len(items) < n {
		in.Limit = aws.Int32(int32(n - len(items)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return items, nil
}

// encodeCursor makes the opaque token of a provider's sort key.
func encodeCursor(sk types.AttributeValue) string {
	v, _ := sk.(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(v.Value))
}

// decodeCursor returns the sort key of a cursor, or invalid_request.
func decodeCursor(cursor string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	sk := string(raw)
	if err != nil || !strings.HasPrefix(sk, providerPrefix) || !ValidProviderID(strings.TrimPrefix(sk, providerPrefix)) {
		return "", apperr.New(apperr.InvalidRequest, "The cursor is not valid; start again from the first page.",
			apperr.Detail{Field: "cursor", Code: "invalid", Message: "use the cursor of a previous page"})
	}
	return sk, nil
}

// UpdateProvider reads the account's provider, applies mutate to the read
// copy, bumps Version and UpdatedAt, and writes it only if the stored version
// is still the one read. On a lost race it waits a jittered moment, re-reads
// and calls mutate again, up to 8 more times. An error from mutate aborts and is returned as is. mutate
// must not change AccountID, ID or Name. Returns the stored provider.
func (s *Store) UpdateProvider(ctx context.Context, accountID, providerID string, mutate func(*provider.Provider) error) (*provider.Provider, error) {
	for attempt := 0; attempt <= updateRetries; attempt++ {
		p, err := s.GetProvider(ctx, accountID, providerID)
		if err != nil {
			return nil, err
		}
		done, err := s.tryUpdate(ctx, p, mutate)
		if err != nil {
			return nil, err
		}
		if done {
			s.releaseIfEnded(ctx, p, false)
			return p, nil
		}
		if attempt < updateRetries {
			if err := sleep(ctx, attempt+1); err != nil {
				return nil, apperr.Wrap(err, "update provider")
			}
		}
	}
	return nil, apperr.Wrap(ErrConcurrentUpdate, "update provider")
}

// tryUpdate applies mutate to p and writes it conditionally; false, nil when
// another writer changed the provider since p was read.
func (s *Store) tryUpdate(ctx context.Context, p *provider.Provider, mutate func(*provider.Provider) error) (bool, error) {
	before := *p
	if err := mutate(p); err != nil {
		return false, err
	}
	if p.AccountID != before.AccountID || p.ID != before.ID || p.Name != before.Name {
		return false, apperr.Wrap(errors.New("mutate changed the provider's account, id or name"), "update provider")
	}
	p.Version = before.Version + 1
	p.UpdatedAt = s.now()
	item, err := providerItem(p)
	if err != nil {
		return false, apperr.Wrap(err, "encode provider")
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("#v = :expected"),
		ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":expected": &types.AttributeValueMemberN{Value: strconv.Itoa(before.Version)}},
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	}
	return false, apperr.Wrap(err, "put provider")
}

// FindProvider returns a provider by id alone, through gsi1, for operators;
// not_found when absent. The index is eventually consistent: a provider
// created a moment ago may not be found yet.
func (s *Store) FindProvider(ctx context.Context, providerID string) (*provider.Provider, error) {
	if !ValidProviderID(providerID) {
		return nil, notFound()
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexGSI1),
		KeyConditionExpression:    aws.String("#gpk = :gpk AND #gsk = :gsk"),
		ExpressionAttributeNames:  map[string]string{"#gpk": AttrGSI1PK, "#gsk": AttrGSI1SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":gpk": str(providerGSI1PK(providerID)), ":gsk": str(providerGSI1SK)},
	})
	if err != nil {
		return nil, apperr.Wrap(err, "query gsi1")
	}
	if len(out.Items) == 0 {
		return nil, notFound()
	}
	k := out.Items[0]
	item, err := s.getItem(ctx, map[string]types.AttributeValue{AttrPK: k[AttrPK], AttrSK: k[AttrSK]})
	if err != nil {
		return nil, apperr.Wrap(err, "get provider")
	}
	if item == nil {
		return nil, notFound()
	}
	return decodeProvider(item)
}

// DeleteProvider deletes the account's provider and its name claim in one
// transaction, conditional on the provider's version being the one read, so
// that check sees the provider as it is deleted. It reads the provider, calls
// check (nil: none; an error aborts and is returned as is), and deletes; when
// the provider changed meanwhile it reads and checks again, up to 3 more
// times. A name claim that belongs to another provider is left alone.
// not_found when the account has no provider of that id.
func (s *Store) DeleteProvider(ctx context.Context, accountID, providerID string, check func(*provider.Provider) error) error {
	keepClaim := false
	for attempt := 0; attempt <= updateRetries; attempt++ {
		p, err := s.GetProvider(ctx, accountID, providerID)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(p); err != nil {
				return err
			}
		}
		_, err = s.client.TransactWriteItems(ctx, s.deleteTransaction(p, keepClaim))
		if err == nil {
			s.releaseIfEnded(ctx, p, true)
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return apperr.Wrap(err, "delete provider")
		}
		// Lost a race, or the name claim is another provider's: read the
		// claim to know which, then try again.
		claim, err := s.getItem(ctx, keyOf(accountID, nameSK(p.Name)))
		if err != nil {
			return apperr.Wrap(err, "get name claim")
		}
		if owner, _ := claim[attrProvider].(*types.AttributeValueMemberS); claim != nil && (owner == nil || owner.Value != p.ID) {
			keepClaim = true
		}
		if err := sleep(ctx, attempt+1); err != nil {
			return apperr.Wrap(err, "delete provider")
		}
	}
	return apperr.Wrap(ErrConcurrentUpdate, "delete provider")
}

// deleteTransaction deletes p if its version is unchanged, and its name
// claim unless keepClaim (an absent claim is fine).
func (s *Store) deleteTransaction(p *provider.Provider, keepClaim bool) *dynamodb.TransactWriteItemsInput {
	items := []types.TransactWriteItem{{Delete: &types.Delete{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(p.AccountID, providerSK(p.ID)),
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.Itoa(p.Version)}},
	}}}
	if !keepClaim {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(p.AccountID, nameSK(p.Name)),
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #p = :id"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#p": attrProvider},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(p.ID)},
		}})
	}
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}
}

// ProviderKey reads a provider item's primary key (pk, sk), as a table
// stream's record carries it: the account and provider ids, and false for
// any other item.
func ProviderKey(pk, sk string) (accountID, providerID string, ok bool) {
	accountID, okPK := strings.CutPrefix(pk, accountPrefix)
	providerID, okSK := strings.CutPrefix(sk, providerPrefix)
	if !okPK || !okSK || accountID == "" || !ValidProviderID(providerID) {
		return "", "", false
	}
	return accountID, providerID, true
}
