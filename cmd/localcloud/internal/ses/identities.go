package ses

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The calls a user or the AWS tooling makes to check an SES account before
// sending: GetAccount (`aws sesv2 get-account`), ListEmailIdentities and
// GetEmailIdentity. The local account is out of the sandbox with sending
// enabled, and every identity in Options.Identities is verified, with Easy
// DKIM signing, as an identity a deployment sends from is.

// Local sending quota, the default of an account out of the sandbox.
const (
	max24HourSend = 50000
	maxSendRate   = 14
)

// identityType is EMAIL_ADDRESS for an address and DOMAIN otherwise.
func identityType(name string) string {
	if strings.Contains(name, "@") {
		return "EMAIL_ADDRESS"
	}
	return "DOMAIN"
}

// identity finds a configured identity, case-insensitively (SES compares
// identities so).
func (o *Outbox) identity(name string) (string, bool) {
	for _, id := range o.identities {
		if strings.EqualFold(id, name) {
			return id, true
		}
	}
	return "", false
}

// getAccount answers GET /v2/email/account.
func (o *Outbox) getAccount(w http.ResponseWriter) {
	o.mu.Lock()
	since := o.now().Add(-24 * time.Hour)
	sent := 0
	for _, m := range o.messages {
		if m.Date.After(since) {
			sent++
		}
	}
	o.mu.Unlock()
	writeAPI(w, map[string]any{
		"DedicatedIpAutoWarmupEnabled": false,
		"EnforcementStatus":            "HEALTHY",
		"ProductionAccessEnabled":      true,
		"SendingEnabled":               true,
		"SendQuota": map[string]any{
			"Max24HourSend":   max24HourSend,
			"MaxSendRate":     maxSendRate,
			"SentLast24Hours": sent,
		},
		"SuppressionAttributes": map[string]any{"SuppressedReasons": []string{"BOUNCE", "COMPLAINT"}},
	})
}

// listEmailIdentities answers GET /v2/email/identities, in pages of PageSize
// (1 to 1000, default 100); NextToken is the index of the next identity.
func (o *Outbox) listEmailIdentities(w http.ResponseWriter, q url.Values) {
	size := 100
	if s := q.Get("PageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeSESError(w, badRequest("PageSize must be between 1 and 1000"))
			return
		}
		size = n
	}
	start := 0
	if s := q.Get("NextToken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > len(o.identities) {
			writeSESError(w, badRequest("Invalid NextToken"))
			return
		}
		start = n
	}
	ids := append([]string{}, o.identities...)
	sort.Strings(ids)
	end := min(start+size, len(ids))
	list := []map[string]any{}
	for _, id := range ids[start:end] {
		list = append(list, map[string]any{
			"IdentityName": id, "IdentityType": identityType(id),
			"SendingEnabled": true, "VerificationStatus": "SUCCESS",
		})
	}
	out := map[string]any{"EmailIdentities": list}
	if end < len(ids) {
		out["NextToken"] = strconv.Itoa(end)
	}
	writeAPI(w, out)
}

// getEmailIdentity answers GET /v2/email/identities/{EmailIdentity}.
func (o *Outbox) getEmailIdentity(w http.ResponseWriter, name string) {
	id, ok := o.identity(name)
	if !ok {
		writeSESError(w, &sesError{http.StatusNotFound, "NotFoundException", "Email identity " + name + " does not exist."})
		return
	}
	out := map[string]any{
		"IdentityType":             identityType(id),
		"FeedbackForwardingStatus": true,
		"VerifiedForSendingStatus": true,
		"VerificationStatus":       "SUCCESS",
		"Policies":                 map[string]string{},
		"Tags":                     []any{},
	}
	if identityType(id) == "DOMAIN" {
		out["DkimAttributes"] = map[string]any{
			"SigningEnabled":          true,
			"Status":                  "SUCCESS",
			"Tokens":                  dkimTokens(id),
			"SigningAttributesOrigin": "AWS_SES",
			"CurrentSigningKeyLength": "RSA_2048_BIT",
			"NextSigningKeyLength":    "RSA_2048_BIT",
		}
		out["MailFromAttributes"] = map[string]any{
			"MailFromDomain": "", "MailFromDomainStatus": "SUCCESS", "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
		}
	}
	writeAPI(w, out)
}

// dkimTokens are three stable 32-character tokens for a domain, the shape of
// the CNAME names Easy DKIM publishes.
func dkimTokens(domain string) []string {
	out := make([]string, 3)
	for i := range out {
		sum := sha256.Sum256([]byte(strings.ToLower(domain) + strconv.Itoa(i)))
		out[i] = hex.EncodeToString(sum[:16])
	}
	return out
}

// writeAPI writes an SES API answer (compact JSON, as SES sends).
func writeAPI(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
