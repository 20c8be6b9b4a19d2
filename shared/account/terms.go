package account

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
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

// TermsFromEnv reads the current terms versions and URLs from TERMS_PARTNER_VERSION,
// TERMS_PARTNER_URL, TERMS_MICROSOFT_VERSION and TERMS_MICROSOFT_URL (all required;
// a missing one is recorded in env). The error names each variable that is set
// but malformed.
func TermsFromEnv(env *config.Env) (Terms, error) {
	var errs []error
	read := func(doc Document, prefix string) TermsVersion {
		tv := TermsVersion{Document: doc, Version: env.Required(prefix + "_VERSION"), URL: env.Required(prefix + "_URL")}
		if tv.Version != "" && !validVersion(tv.Version) {
			errs = append(errs, fmt.Errorf("environment variable %s_VERSION must be at most 32 printable characters such as 2017-08", prefix))
		}
		if u, err := url.Parse(tv.URL); tv.URL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			errs = append(errs, fmt.Errorf("environment variable %s_URL must be an absolute http(s) URL", prefix))
		}
		return tv
	}
	t := Terms{Partner: read(PartnerTerms, "TERMS_PARTNER"), Microsoft: read(MicrosoftTerms, "TERMS_MICROSOFT")}
	return t, errors.Join(errs...)
}

func validVersion(v string) bool {
	if len(v) > 32 {
		return false
	}
	for _, r := range v {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// AcceptedVersions indexes acceptances as CheckRequest takes them: document → versions.
func AcceptedVersions(acc []Acceptance) map[Document]map[string]bool {
	m := make(map[Document]map[string]bool, len(Documents))
	for _, a := range acc {
		if m[a.Document] == nil {
			m[a.Document] = map[string]bool{}
		}
		m[a.Document][a.Version] = true
	}
	return m
}

// TermsStatus is one current terms document and whether the account accepted it.
type TermsStatus struct {
	TermsVersion
	Accepted   bool       `json:"accepted"`
	AcceptedAt *time.Time `json:"acceptedAt,omitempty"`
	AcceptedBy string     `json:"acceptedBy,omitempty"`
}

// Status reports, for each current document in display order, whether its
// current version is among the account's acceptances (and who accepted it, when).
func (t Terms) Status(acc []Acceptance) []TermsStatus {
	out := make([]TermsStatus, 0, len(Documents))
	for _, cur := range t.Current() {
		st := TermsStatus{TermsVersion: cur}
		for _, a := range acc {
			if a.Document == cur.Document && a.Version == cur.Version {
				at := a.AcceptedAt
				st.Accepted, st.AcceptedAt, st.AcceptedBy = true, &at, a.AcceptedBy
				break
			}
		}
		out = append(out, st)
	}
	return out
}
