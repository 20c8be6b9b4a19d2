package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
)

// Invitation and consent-state items live outside the account partitions:
// the public consent pages know only the link, never the account.
//
//	INVITATION#<hash of invitation id> / INVITATION   consent.Record
//	STATE#<jti>                        / STATE        a consumed state (TTL expiresAt)
const (
	invitationPrefix = "INVITATION#"
	invitationSK     = "INVITATION"
	statePrefix      = "STATE#"
	stateSK          = "STATE"
)

func invitationKey(hash string) map[string]types.AttributeValue {
	return key(invitationPrefix+hash, invitationSK)
}

// PutInvitation writes the invitation record (a new one, or a renewed task
// token or a closing status on an open one). A record that is already closed
// is never reopened or changed: that is an invalid_state error.
func (s *Store) PutInvitation(ctx context.Context, r consent.Record) error {
	if len(r.Hash) != 64 || r.AccountID == "" || r.ProviderID == "" {
		return apperr.Wrap(fmt.Errorf("incomplete invitation record"), "put invitation")
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return apperr.Wrap(err, "marshal invitation")
	}
	for k, v := range invitationKey(r.Hash) {
		item[k] = v
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR (#status = :open AND #provider = :provider)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#status": "status", "#provider": attrProvider},
		ExpressionAttributeValues: map[string]types.AttributeValue{":open": str(string(consent.StatusOpen)), ":provider": str(r.ProviderID)},
	})
	if isConditionFailed(err) {
		return apperr.New(apperr.InvalidState, "The invitation is closed.")
	}
	if err != nil {
		return apperr.Wrap(err, "put invitation")
	}
	return nil
}

// GetInvitation returns the record behind an invitation hash; not_found when none.
func (s *Store) GetInvitation(ctx context.Context, hash string) (*consent.Record, error) {
	if len(hash) != 64 {
		return nil, apperr.New(apperr.NotFound, "No such invitation.")
	}
	item, err := s.getItem(ctx, invitationKey(hash))
	if err != nil {
		return nil, apperr.Wrap(err, "get invitation")
	}
	if item == nil {
		return nil, apperr.New(apperr.NotFound, "No such invitation.")
	}
	var r consent.Record
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return nil, apperr.Undecodable(err, "decode invitation")
	}
	return &r, nil
}

// CloseInvitation moves an open invitation to a closed status (consented,
// declined, cancelled, expired) and returns the record as it was written,
// task token included. Exactly one caller wins: any other gets invalid_state
// (read the record to see how it ended). A status that resumes the workflow
// (consent.Status.ResumesWorkflow) sets resumeSince in the same write: the
// outbox relay resumes the wait (ResumeDone).
func (s *Store) CloseInvitation(ctx context.Context, hash string, to consent.Status, tenantID string) (*consent.Record, error) {
	return s.closeInvitation(ctx, hash, to, tenantID, "")
}

// RefuseInvitation closes an open invitation as refused, keeping why
// (refusal), as CloseInvitation does.
func (s *Store) RefuseInvitation(ctx context.Context, hash string, refusal apperr.Code) (*consent.Record, error) {
	return s.closeInvitation(ctx, hash, consent.StatusRefused, "", refusal)
}

func (s *Store) closeInvitation(ctx context.Context, hash string, to consent.Status, tenantID string, refusal apperr.Code) (*consent.Record, error) {
	now := s.now()
	set := "SET #status = :to, #updated = :now"
	values := map[string]types.AttributeValue{
		":to": str(string(to)), ":open": str(string(consent.StatusOpen)), ":now": str(now.Format(time.RFC3339Nano)),
	}
	names := map[string]string{"#pk": AttrPK, "#status": "status", "#updated": "updatedAt"}
	if to == consent.StatusConsented {
		set += ", #tenant = :tenant, #consentedAt = :now"
		values[":tenant"] = str(tenantID)
		names["#tenant"], names["#consentedAt"] = "tenantId", "consentedAt"
	}
	if refusal != "" {
		set += ", #refusal = :refusal"
		values[":refusal"] = str(string(refusal))
		names["#refusal"] = "refusal"
	}
	if to.ResumesWorkflow() {
		set += ", #resume = :now"
		names["#resume"] = attrResumeSince
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       invitationKey(hash),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #status = :open"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil, apperr.New(apperr.InvalidState, "The invitation is no longer open.")
	}
	if err != nil {
		return nil, apperr.Wrap(err, "close invitation")
	}
	var r consent.Record
	if err := attributevalue.UnmarshalMap(out.Attributes, &r); err != nil {
		return nil, apperr.Undecodable(err, "decode invitation")
	}
	return &r, nil
}

// attrResumeSince marks an invitation whose workflow wait must be resumed
// (the table stream's filter wakes the outbox relay on it).
const attrResumeSince = "resumeSince"

// InvitationKey reads an invitation item's primary key, as a table stream's
// record carries it: the invitation's hash, and false for any other item.
func InvitationKey(pk, sk string) (hash string, ok bool) {
	hash, ok = strings.CutPrefix(pk, invitationPrefix)
	if !ok || sk != invitationSK || len(hash) != 64 {
		return "", false
	}
	return hash, true
}

// ResumeDone clears an invitation's resumeSince once the workflow was
// resumed (or no longer waits); clearing it twice is harmless. It is set to
// NULL rather than removed: the stream's filter matches a string, so NULL
// wakes no one, it reads back as no time, and the embedded DynamoDB of the
// local cloud and the tests (minidyn v0.8.2) does not apply REMOVE.
func (s *Store) ResumeDone(ctx context.Context, hash string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       invitationKey(hash),
		UpdateExpression:          aws.String("SET #resume = :null"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#resume": attrResumeSince, "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":null": &types.AttributeValueMemberNULL{Value: true}},
	})
	if err != nil && !isConditionFailed(err) {
		return apperr.Wrap(err, "resume done")
	}
	return nil
}

// ConsumeState records that a signed state's id was used. The first call
// wins; a replay gets invalid_state. The record expires with the state.
func (s *Store) ConsumeState(ctx context.Context, jti string, expires time.Time) error {
	if len(jti) != 32 {
		return apperr.New(apperr.InvalidRequest, "The state is malformed.")
	}
	item := key(statePrefix+jti, stateSK)
	item[TTLAttribute] = &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Add(time.Hour).Unix(), 10)}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if isConditionFailed(err) {
		return apperr.New(apperr.InvalidState, "The sign-in response was already used.")
	}
	if err != nil {
		return apperr.Wrap(err, "consume state")
	}
	return nil
}

// StateUsed reports whether ConsumeState recorded the state's id.
func (s *Store) StateUsed(ctx context.Context, jti string) (bool, error) {
	if len(jti) != 32 {
		return false, nil
	}
	item, err := s.getItem(ctx, key(statePrefix+jti, stateSK))
	if err != nil {
		return false, apperr.Wrap(err, "get state")
	}
	return item != nil, nil
}
