package account

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/config"
)

var testTerms = Terms{
	Partner:   TermsVersion{Document: PartnerTerms, Version: "2017-08", URL: "https://partner.example/terms"},
	Microsoft: TermsVersion{Document: MicrosoftTerms, Version: "2017-08", URL: "https://microsoft.example/terms"},
}

func TestCheckRequest(t *testing.T) {
	both := map[Document]map[string]bool{PartnerTerms: {"2017-08": true}, MicrosoftTerms: {"2017-08": true}}
	old := map[Document]map[string]bool{PartnerTerms: {"2016-01": true}, MicrosoftTerms: {"2016-01": true}}
	tests := []struct {
		name      string
		accepted  map[Document]map[string]bool
		inRequest map[Document]string
		wantCode  apperr.Code
		wantAdd   []Document
		wantField []string
	}{
		{name: "accepted before", accepted: both},
		{name: "accepted before and again in request", accepted: both, inRequest: map[Document]string{PartnerTerms: "2017-08", MicrosoftTerms: "2017-08"}},
		{name: "accepted in the request", inRequest: map[Document]string{PartnerTerms: "2017-08", MicrosoftTerms: "2017-08"}, wantAdd: []Document{PartnerTerms, MicrosoftTerms}},
		{name: "one before, one in the request", accepted: map[Document]map[string]bool{PartnerTerms: {"2017-08": true}}, inRequest: map[Document]string{MicrosoftTerms: "2017-08"}, wantAdd: []Document{MicrosoftTerms}},
		{name: "missing", wantCode: apperr.TermsNotAccepted, wantField: []string{"acceptedTerms.partner", "acceptedTerms.microsoft"}},
		{name: "only an old version accepted before", accepted: old, wantCode: apperr.TermsNotAccepted, wantField: []string{"acceptedTerms.partner", "acceptedTerms.microsoft"}},
		{name: "one missing", inRequest: map[Document]string{PartnerTerms: "2017-08"}, wantCode: apperr.TermsNotAccepted, wantField: []string{"acceptedTerms.microsoft"}},
		{name: "empty versions in the request", inRequest: map[Document]string{PartnerTerms: "", MicrosoftTerms: ""}, wantCode: apperr.TermsNotAccepted},
		{name: "stale version in the request", inRequest: map[Document]string{PartnerTerms: "2016-01", MicrosoftTerms: "2017-08"}, wantCode: apperr.TermsOutdated, wantField: []string{"acceptedTerms.partner"}},
		{name: "stale version even when current accepted before", accepted: both, inRequest: map[Document]string{MicrosoftTerms: "2016-01"}, wantCode: apperr.TermsOutdated, wantField: []string{"acceptedTerms.microsoft"}},
		{name: "outdated wins over missing", inRequest: map[Document]string{PartnerTerms: "2016-01"}, wantCode: apperr.TermsOutdated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add, err := testTerms.CheckRequest(tt.accepted, tt.inRequest)
			if tt.wantCode != "" {
				e, ok := err.(*apperr.Error)
				if !ok || e.Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				if api.HTTPStatus(e.Code) != 428 {
					t.Errorf("status = %d", api.HTTPStatus(e.Code))
				}
				fields := map[string]bool{}
				for _, d := range e.Details {
					fields[d.Field] = true
				}
				for _, f := range tt.wantField {
					if !fields[f] {
						t.Errorf("no detail for %s in %+v", f, e.Details)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			var got []Document
			for _, tv := range add {
				got = append(got, tv.Document)
				if tv.Version != "2017-08" {
					t.Errorf("adds version %q", tv.Version)
				}
			}
			if !reflect.DeepEqual(got, tt.wantAdd) {
				t.Fatalf("adds %v, want %v", got, tt.wantAdd)
			}
		})
	}
}

func TestAcceptedVersionsAndStatus(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	acc := []Acceptance{
		{Document: PartnerTerms, Version: "2016-01", AcceptedBy: "u0", AcceptedAt: at.Add(-time.Hour)},
		{Document: PartnerTerms, Version: "2017-08", AcceptedBy: "u1", AcceptedAt: at},
	}
	m := AcceptedVersions(acc)
	if !m[PartnerTerms]["2017-08"] || !m[PartnerTerms]["2016-01"] || m[MicrosoftTerms]["2017-08"] {
		t.Fatalf("AcceptedVersions = %v", m)
	}
	st := testTerms.Status(acc)
	if len(st) != 2 || st[0].Document != PartnerTerms || st[1].Document != MicrosoftTerms {
		t.Fatalf("Status order = %+v", st)
	}
	if !st[0].Accepted || st[0].AcceptedBy != "u1" || !st[0].AcceptedAt.Equal(at) || st[0].URL == "" {
		t.Errorf("partner = %+v", st[0])
	}
	if st[1].Accepted || st[1].AcceptedAt != nil || st[1].AcceptedBy != "" {
		t.Errorf("microsoft = %+v", st[1])
	}
}

func TestTermsFromEnv(t *testing.T) {
	full := map[string]string{
		"TERMS_PARTNER_VERSION": "2017-08", "TERMS_PARTNER_URL": "https://partner.example/terms",
		"TERMS_MICROSOFT_VERSION": "2017-08", "TERMS_MICROSOFT_URL": "https://microsoft.example/terms",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // a variable the error names; "" for none
	}{
		{"all set", full, ""},
		{"missing version", with("TERMS_PARTNER_VERSION", ""), "TERMS_PARTNER_VERSION"},
		{"missing URL", with("TERMS_MICROSOFT_URL", ""), "TERMS_MICROSOFT_URL"},
		{"relative URL", with("TERMS_PARTNER_URL", "/terms"), "TERMS_PARTNER_URL"},
		{"not http", with("TERMS_MICROSOFT_URL", "ftp://x.example/t"), "TERMS_MICROSOFT_URL"},
		{"version with space", with("TERMS_MICROSOFT_VERSION", "2017 08"), "TERMS_MICROSOFT_VERSION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			terms, err := TermsFromEnv(env)
			if env.Err() != nil {
				err = env.Err()
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if terms.Partner.Version != "2017-08" || terms.Microsoft.URL != "https://microsoft.example/terms" || terms.Microsoft.Document != MicrosoftTerms {
					t.Fatalf("terms = %+v", terms)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}
