package provider

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partnercloud/azure/shared/config"
)

// This file decides, once, how a provider's things are named to people:
// the API's nextStep, the consent pages and the representatives' emails
// render these words and never build their own.

// FormatTime is a moment as people read it, with its zone:
// "25 November 2026, 14:00 UTC".
func FormatTime(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 MST") }

// Count is n things with the noun in the right number: "1 subscription",
// "2 subscriptions". plural "" means singular + "s".
func Count(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	if plural == "" {
		plural = singular + "s"
	}
	return fmt.Sprintf("%d %s", n, plural)
}

// Named is a display name beside its id, "Display name (id)", or the id
// alone when the name is not known.
func Named(name, id string) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return id
	case id == "":
		return name
	}
	return name + " (" + id + ")"
}

// Label is the subscription as the Azure portal shows it, its display name
// with its id ("Contoso Production (0000…)"), or the id alone while no
// check has read the name.
func (s Subscription) Label() string { return Named(s.DisplayName, s.ID) }

// Labels are the subscriptions' labels, in order.
func Labels(subs []Subscription) []string {
	out := make([]string, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.Label())
	}
	return out
}

// DefaultPartnerAppName is the partner application's display name when
// PARTNER_APP_NAME is unset.
const DefaultPartnerAppName = "Partner Cloud for Azure"

// maxAppNameLen is Microsoft Entra ID's limit on an application's display name.
const maxAppNameLen = 256

// PartnerAppNameFromEnv reads PARTNER_APP_NAME, the display name of the
// partner's multi-tenant application as administrators see it in Microsoft
// Entra ID (DefaultPartnerAppName when unset); a value that is not 1-256
// printable characters is recorded in env.
func PartnerAppNameFromEnv(env *config.Env) string {
	return strings.TrimSpace(env.Check("PARTNER_APP_NAME", DefaultPartnerAppName, ValidateAppName))
}

// ValidateAppName is "" for a usable application display name, else what
// is wrong with it.
func ValidateAppName(name string) string {
	n := strings.TrimSpace(name)
	if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxAppNameLen || strings.IndexFunc(n, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Sprintf("must be 1-%d printable characters", maxAppNameLen)
	}
	return ""
}

// RecordPartnerApp records the display name of the partner application
// whose service principal the checks look for (configuration), so that
// pages and next steps name it beside its object id. An empty name keeps
// the one recorded.
func (p *Provider) RecordPartnerApp(name string) {
	if name = strings.TrimSpace(name); name != "" {
		p.PartnerAppName = name
	}
}

// OwnerPrincipalLabel names the principal that must hold Owner as people
// see it: the partner application's display name beside its service
// principal's id ("Partner Cloud for Azure (1000…)"), or the id alone (a
// principal an operator named, or an application whose name is not
// recorded); "" while no principal is known.
func (p *Provider) OwnerPrincipalLabel() string {
	if p.OwnerPrincipal != "" {
		return p.OwnerPrincipal
	}
	if p.PrincipalID == "" {
		return ""
	}
	return Named(p.PartnerAppName, p.PrincipalID)
}

// OwnerRequest is what the customer's administrator must still do for
// Owner access: grant it to Principal on Missing; NotFound are named but
// not visible in the tenant. Both hold only what is still to do: a
// subscription already owned is in neither.
type OwnerRequest struct {
	Principal string
	Missing   []Subscription
	NotFound  []Subscription
	// Deadline is when the migration fails if Owner is still missing; nil
	// before the wait began.
	Deadline *time.Time
	// Named is false when no subscription was named (every visible one is
	// to be moved) and none was discovered yet.
	Named bool
}

// OwnerRequest is the provider's OwnerRequest now.
func (p *Provider) OwnerRequest() OwnerRequest {
	r := OwnerRequest{Principal: p.OwnerPrincipalLabel(), Named: len(p.Subscriptions) > 0}
	for _, s := range p.Subscriptions {
		switch s.State {
		case SubscriptionMissingOwner, SubscriptionPending:
			r.Missing = append(r.Missing, s)
		case SubscriptionNotFound:
			r.NotFound = append(r.NotFound, s)
		}
	}
	if w := p.OwnershipWait; w != nil {
		d := w.Deadline
		r.Deadline = &d
	}
	return r
}

// Done reports whether nothing is left to grant on the named subscriptions.
func (r OwnerRequest) Done() bool { return r.Named && len(r.Missing) == 0 && len(r.NotFound) == 0 }

// PrincipalOr is the principal's label, or fallback while it is not known.
func (r OwnerRequest) PrincipalOr(fallback string) string {
	if r.Principal == "" {
		return fallback
	}
	return r.Principal
}

// MissingText is "1 subscription" or "n subscriptions" still lacking Owner.
func (r OwnerRequest) MissingText() string { return Count(len(r.Missing), "subscription", "") }

// MissingLabels are the labels of the subscriptions still lacking Owner.
func (r OwnerRequest) MissingLabels() []string { return Labels(r.Missing) }

// DeadlineText is the deadline as people read it, "" when there is none.
func (r OwnerRequest) DeadlineText() string {
	if r.Deadline == nil {
		return ""
	}
	return FormatTime(*r.Deadline)
}

// Sentences is the request in sentences, for nextStep: who must grant
// Owner to whom on what, what was not found, and the deadline. Empty when
// nothing is left to do.
func (r OwnerRequest) Sentences() []string {
	principal := r.PrincipalOr("the partner's principal")
	var parts []string
	if n := len(r.Missing); n > 0 {
		parts = append(parts, fmt.Sprintf("The Azure administrator must grant Owner to %s on %s: %s.",
			principal, r.MissingText(), strings.Join(r.MissingLabels(), ", ")))
	}
	if nf := r.NotFoundSentence(); nf != "" {
		parts = append(parts, nf)
	}
	if len(parts) > 0 && r.Deadline != nil {
		parts = append(parts, "The partner's representatives will help; the migration fails if this is not done by "+r.DeadlineText()+".")
	}
	return parts
}

// NotFoundSentence says which named subscriptions are not visible in the
// tenant and what to do about it; "" when every one is visible.
func (r OwnerRequest) NotFoundSentence() string {
	n := len(r.NotFound)
	if n == 0 {
		return ""
	}
	verb, them, ids := "was", "it", "the id"
	if n > 1 {
		verb, them, ids = "were", "them", "the ids"
	}
	return fmt.Sprintf("%s %s not found in the tenant: %s. Check %s, or grant %s access so it can see %s.",
		Count(n, "subscription", ""), verb, strings.Join(Labels(r.NotFound), ", "), ids, r.PrincipalOr("the partner's principal"), them)
}
