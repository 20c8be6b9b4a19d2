package account

import (
	"time"

	"github.com/partnercloud/azure/shared/apperr"
)

// Document names a terms document.
type Document string

const (
	PartnerTerms   Document = "partner"
	MicrosoftTerms Document = "microsoft"
)

// Documents lists every terms document, in display order.
var Documents = []Document{PartnerTerms, MicrosoftTerms}

// TermsVersion is the current version of one terms document (configuration).
type TermsVersion struct {
	Document Document `json:"document"`
	Version  string   `json:"version"`
	URL      string   `json:"url"`
}

// Acceptance records that an account accepted a version of a document.
type Acceptance struct {
	Document   Document  `json:"document" dynamodbav:"document"`
	Version    string    `json:"version" dynamodbav:"version"`
	AcceptedBy string    `json:"acceptedBy" dynamodbav:"acceptedBy"`
	AcceptedAt time.Time `json:"acceptedAt" dynamodbav:"acceptedAt"`
}

// Terms is the current version of each document.
type Terms struct {
	Partner   TermsVersion
	Microsoft TermsVersion
}

// Current returns the current versions in display order.
func (t Terms) Current() []TermsVersion { return []TermsVersion{t.Partner, t.Microsoft} }

// CheckRequest decides whether a create request may proceed, given the
// versions the account accepted earlier (document → versions) and those in the
// request (empty when absent). It returns the acceptances the request adds.
//
// A version in the request that is not current is terms_outdated; a document
// with no current acceptance, earlier or now, is terms_not_accepted.
func (t Terms) CheckRequest(accepted map[Document]map[string]bool, inRequest map[Document]string) ([]TermsVersion, error) {
	var add []TermsVersion
	var outdated, missing []apperr.Detail
	for _, cur := range t.Current() {
		v, given := inRequest[cur.Document]
		switch {
		case given && v != "" && v != cur.Version:
			outdated = append(outdated, apperr.Detail{Field: "acceptedTerms." + string(cur.Document), Code: "outdated", Message: "the current version is " + cur.Version})
		case given && v == cur.Version:
			if !accepted[cur.Document][cur.Version] {
				add = append(add, cur)
			}
		case !accepted[cur.Document][cur.Version]:
			missing = append(missing, apperr.Detail{Field: "acceptedTerms." + string(cur.Document), Code: "not_accepted", Message: "accept version " + cur.Version + " at " + cur.URL})
		}
	}
	if len(outdated) > 0 {
		return nil, apperr.New(apperr.TermsOutdated, "The terms version in the request is not the current one; review and accept the current terms.", outdated...)
	}
	if len(missing) > 0 {
		return nil, apperr.New(apperr.TermsNotAccepted, "The partner's and Microsoft's current terms must be accepted first.", missing...)
	}
	return add, nil
}
