package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/provider"
)

// Tenant records and state-mint counters live outside the account
// partitions: a tenant belongs to no account until one proves it.
//
//	TENANT#<tenant id>                 / TENANT   the provider connecting the tenant
//	MINT#<invitation hash>#<window>    / MINT     states issued in a window (TTL expiresAt)
const (
	tenantPrefix = "TENANT#"
	tenantSK     = "TENANT"
	mintPrefix   = "MINT#"
	mintSK       = "MINT"
)

// TenantHolder is the provider that connects a tenant.
type TenantHolder struct {
	AccountID  string    `dynamodbav:"accountId"`
	ProviderID string    `dynamodbav:"providerId"`
	Since      time.Time `dynamodbav:"since"`
}

// Is reports whether h is the given provider of the given account.
func (h TenantHolder) Is(accountID, providerID string) bool {
	return h.AccountID == accountID && h.ProviderID == providerID
}

func tenantKey(tenantID string) map[string]types.AttributeValue {
	return key(tenantPrefix+strings.ToLower(tenantID), tenantSK)
}

// claimAttempts bounds ClaimTenant's take-overs of stale records.
const claimAttempts = 3

// ClaimTenant makes the provider the holder of the tenant, with a
// conditional put: the first provider to prove a tenant holds it until it
// ends. It returns the holder after the call: the provider itself when it
// won (or already held the tenant), else the provider that holds it. A
// record whose provider no longer holds its tenant (ended, deleted: a
// release that did not happen) is taken over, conditional on it being
// unchanged, so exactly one of two racing claimants wins.
func (s *Store) ClaimTenant(ctx context.Context, tenantID, accountID, providerID string) (TenantHolder, error) {
	if tenantID == "" || accountID == "" || providerID == "" {
		return TenantHolder{}, apperr.Wrap(errors.New("incomplete tenant claim"), "claim tenant")
	}
	me := TenantHolder{AccountID: accountID, ProviderID: providerID, Since: s.now()}
	stale := ""
	for attempt := 0; attempt < claimAttempts; attempt++ {
		err := s.putTenant(ctx, tenantID, me, stale)
		if err == nil {
			return me, nil
		}
		if !isConditionFailed(err) {
			return TenantHolder{}, apperr.Wrap(err, "claim tenant")
		}
		holder, found, err := s.tenantHolder(ctx, tenantID)
		if err != nil {
			return TenantHolder{}, err
		}
		switch {
		case !found:
			stale = "" // released meanwhile: claim afresh
			continue
		case holder.Is(accountID, providerID):
			return holder, nil
		}
		holds, err := s.stillHolds(ctx, holder)
		if err != nil {
			return TenantHolder{}, err
		}
		if holds {
			return holder, nil
		}
		stale = holder.ProviderID
	}
	return TenantHolder{}, apperr.Wrap(ErrConcurrentUpdate, "claim tenant")
}

// putTenant writes the tenant record if it is absent, already ours, or
// (stale != "") still held by the stale provider.
func (s *Store) putTenant(ctx context.Context, tenantID string, me TenantHolder, stale string) error {
	item, err := attributevalue.MarshalMap(me)
	if err != nil {
		return err
	}
	for k, v := range tenantKey(tenantID) {
		item[k] = v
	}
	cond := "attribute_not_exists(#pk) OR (#acct = :acct AND #prov = :prov)"
	values := map[string]types.AttributeValue{":acct": str(me.AccountID), ":prov": str(me.ProviderID)}
	if stale != "" {
		cond += " OR #prov = :stale"
		values[":stale"] = str(stale)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#acct": attrAccountID, "#prov": attrProvider},
		ExpressionAttributeValues: values,
	})
	return err
}

// TenantHolder returns the provider holding the tenant; found is false when none does.
func (s *Store) tenantHolder(ctx context.Context, tenantID string) (TenantHolder, bool, error) {
	item, err := s.getItem(ctx, tenantKey(tenantID))
	if err != nil {
		return TenantHolder{}, false, apperr.Wrap(err, "get tenant")
	}
	if item == nil {
		return TenantHolder{}, false, nil
	}
	var h TenantHolder
	if err := attributevalue.UnmarshalMap(item, &h); err != nil {
		return TenantHolder{}, false, apperr.Undecodable(err, "decode tenant")
	}
	return h, true, nil
}

// stillHolds reads the holder's provider: a deleted one, or one that ended,
// no longer holds the tenant.
func (s *Store) stillHolds(ctx context.Context, h TenantHolder) (bool, error) {
	p, err := s.GetProvider(ctx, h.AccountID, h.ProviderID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.HoldsTenant(), nil
}

// ReleaseTenant deletes the tenant record if the provider holds it; a
// record of another provider is left alone.
func (s *Store) ReleaseTenant(ctx context.Context, tenantID, providerID string) error {
	if tenantID == "" {
		return nil
	}
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       tenantKey(tenantID),
		ConditionExpression:       aws.String("#prov = :prov"),
		ExpressionAttributeNames:  map[string]string{"#prov": attrProvider},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prov": str(providerID)},
	})
	if err != nil && !isConditionFailed(err) {
		return apperr.Wrap(err, "release tenant")
	}
	return nil
}

// releaseIfEnded releases the tenant of a provider that no longer holds it
// (or was deleted). Best effort: the provider's own write already landed,
// and a record left behind is taken over by the next claimant (ClaimTenant
// reads its provider).
func (s *Store) releaseIfEnded(ctx context.Context, p *provider.Provider, deleted bool) {
	if p == nil || p.TenantID == "" || (!deleted && p.HoldsTenant()) {
		return
	}
	_ = s.ReleaseTenant(ctx, p.TenantID, p.ID)
}

// CountStateMint counts one more state issued for the invitation in the
// window starting at windowStart, refusing with too_many_requests once max
// were issued in it: a landing page cannot mint unlimited states.
func (s *Store) CountStateMint(ctx context.Context, invitationHash string, windowStart time.Time, window time.Duration, max int) error {
	if len(invitationHash) != 64 || max < 1 {
		return apperr.Wrap(errors.New("bad mint count"), "count state")
	}
	k := key(mintPrefix+invitationHash+"#"+strconv.FormatInt(windowStart.Unix(), 10), mintSK)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 k,
		UpdateExpression:    aws.String("ADD #n :one SET #exp = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(#n) OR #n < :max"),
		ExpressionAttributeNames: map[string]string{
			"#n": "issued", "#exp": TTLAttribute,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":max": &types.AttributeValueMemberN{Value: strconv.Itoa(max)},
			":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(windowStart.Add(window+time.Hour).Unix(), 10)},
		},
	})
	if isConditionFailed(err) {
		return apperr.New(apperr.TooManyRequests, "Too many sign-in attempts for this invitation; try again later.")
	}
	if err != nil {
		return apperr.Wrap(err, "count state")
	}
	return nil
}

// TenantHolderOf returns the provider holding the tenant's record (written
// when a sign-in proved the tenant); found is false when none does.
func (s *Store) TenantHolderOf(ctx context.Context, tenantID string) (TenantHolder, bool, error) {
	if tenantID == "" {
		return TenantHolder{}, false, nil
	}
	return s.tenantHolder(ctx, tenantID)
}
