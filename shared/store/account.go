package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/account"
	"github.com/partnercloud/azure/shared/apperr"
)

// AccountItem returns the item of an account record (its dynamodbav
// attributes plus pk/sk), as PutAccount writes it. Seeders use it too.
func AccountItem(a account.Account) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return nil, err
	}
	item[AttrPK] = str(accountPK(a.ID))
	item[AttrSK] = str(accountSK)
	return item, nil
}

// GetAccount returns the account record, or nil, nil when there is none.
func (s *Store) GetAccount(ctx context.Context, accountID string) (*account.Account, error) {
	if err := requireAccount(accountID); err != nil {
		return nil, err
	}
	item, err := s.getItem(ctx, key(accountPK(accountID), accountSK))
	if err != nil {
		return nil, apperr.Wrap(err, "get account")
	}
	if item == nil {
		return nil, nil
	}
	var a account.Account
	if err := attributevalue.UnmarshalMap(item, &a); err != nil {
		return nil, apperr.Undecodable(err, "decode account")
	}
	return &a, nil
}

// PutAccount writes (creates or replaces) the account record.
func (s *Store) PutAccount(ctx context.Context, a account.Account) error {
	if err := requireAccount(a.ID); err != nil {
		return err
	}
	item, err := AccountItem(a)
	if err != nil {
		return apperr.Wrap(err, "encode account")
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return apperr.Wrap(err, "put account")
	}
	return nil
}

// TermsAccepted returns every terms acceptance of the account, in sort-key
// order (document, then version).
func (s *Store) TermsAccepted(ctx context.Context, accountID string) ([]account.Acceptance, error) {
	if err := requireAccount(accountID); err != nil {
		return nil, err
	}
	items, err := s.queryPrefix(ctx, accountPK(accountID), termsPrefix)
	if err != nil {
		return nil, apperr.Wrap(err, "query terms acceptances")
	}
	out := make([]account.Acceptance, 0, len(items))
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, apperr.Undecodable(err, "decode terms acceptances")
	}
	return out, nil
}

// RecordAcceptances stores each acceptance unless the account already
// accepted that version: the first acceptance (who and when) is kept.
// An acceptance without a time is stamped with the store's clock.
func (s *Store) RecordAcceptances(ctx context.Context, accountID string, acc []account.Acceptance) error {
	if err := requireAccount(accountID); err != nil {
		return err
	}
	for _, a := range acc {
		if err := s.recordAcceptance(ctx, accountID, a); err != nil {
			return err
		}
	}
	return nil
}

// recordAcceptance writes one acceptance if its version is not recorded yet.
func (s *Store) recordAcceptance(ctx context.Context, accountID string, a account.Acceptance) error {
	if a.Document == "" || a.Version == "" {
		return apperr.Wrap(errors.New("acceptance without document or version"), "record acceptance")
	}
	if a.AcceptedAt.IsZero() {
		a.AcceptedAt = s.now()
	}
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return apperr.Wrap(err, "encode acceptance")
	}
	item[AttrPK] = str(accountPK(accountID))
	item[AttrSK] = str(termsPrefix + string(a.Document) + "#" + a.Version)
	item[attrAccountID] = str(accountID)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if err != nil && !isConditionFailed(err) {
		return apperr.Wrap(err, "put acceptance")
	}
	return nil
}
