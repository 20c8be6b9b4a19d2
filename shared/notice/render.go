package notice

import (
	"fmt"

	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
)

// Render is the email of an outbox entry, with the provider as it is now
// (so a notice sent late tells the current state, not the state when it
// was written). An entry goes to the partner's representatives unless its
// Audience is the requester (the health notices go to both, one entry
// each).
func Render(p *provider.Provider, e provider.OutboxEntry, brand mail.Brand, representatives string) (mail.Message, error) {
	n := mail.Notice{Brand: brand}
	to := representatives
	switch e.Audience {
	case "", provider.AudienceRepresentatives:
	case provider.AudienceRequester:
		if p.RequesterEmail == "" {
			return mail.Message{}, fmt.Errorf("notice: %s for the requester, who has no address", e.Kind)
		}
		to = p.RequesterEmail
	case provider.AudienceCustomer:
		to = p.CustomerContact(e.Subscription)
		if to == "" {
			return mail.Message{}, fmt.Errorf("notice: %s for the customer, who has no address", e.Kind)
		}
	default:
		return mail.Message{}, fmt.Errorf("notice: unknown audience %q", e.Audience)
	}
	switch e.Kind {
	case provider.NoticeHealthAttention, provider.NoticeHealthCleared, provider.NoticeGDAPEnding:
		health(&n, p, e)
	case provider.NoticeOwnerWaitStarted, provider.NoticeOwnerDeadlineNear:
		n.Subject = "Migration waiting for Owner access: " + p.Name
		n.Heading = "A customer's Azure migration is waiting for Owner access"
		if e.Kind == provider.NoticeOwnerDeadlineNear {
			n.Subject = "Deadline near: " + n.Subject
			n.Heading = "A customer's Azure migration fails soon unless Owner access is granted"
		}
		n.Paragraphs = []string{
			fmt.Sprintf("Provider %s (%s) of account %s consented, but the partner principal %s does not yet hold Owner on every subscription to be moved. Please contact the customer's Azure administrator and guide them through granting it.", p.Name, p.ID, p.AccountID, p.OwnerPrincipalLabel()),
		}
		if w := p.OwnershipWait; w != nil {
			n.Paragraphs = append(n.Paragraphs, "The migration fails on "+provider.FormatTime(w.Deadline)+" if this is not done.")
		}
		n.Items = subscriptionLines(p)
	case provider.NoticeCustomerStuck:
		since := e.At
		if e.Since != nil {
			since = *e.Since
		}
		n.Subject = "Customer stuck on a step: " + p.Name
		n.Heading = "A customer's Azure migration has been waiting on the same step"
		n.Paragraphs = []string{
			fmt.Sprintf("Provider %s (%s) of account %s has been waiting since %s for the customer to %s. Please contact the customer's Azure administrator and guide them through it.", p.Name, p.ID, p.AccountID, provider.FormatTime(since), provider.StepName(e.Step)),
		}
		if r := p.Relationships; r != nil && r.Wait != nil {
			n.Paragraphs = append(n.Paragraphs, "The migration fails on "+provider.FormatTime(r.Wait.Deadline)+" if the customer's steps are not done by then.")
		}
		n.Items = stepLines(p)
	case provider.NoticeBillingFailed:
		if !billingFailed(&n, p, e) {
			return mail.Message{}, fmt.Errorf("notice: %s about subscription %q, not on the provider", e.Kind, e.Subscription)
		}
	default:
		return mail.Message{}, fmt.Errorf("notice: no email for kind %q", e.Kind)
	}
	return mail.RenderNotice(to, n)
}

// health fills the notice of a health entry: what is new (attention), what
// cleared, or when the admin relationship ends; and the provider's
// findings as they are now, each with what to do.
func health(n *mail.Notice, p *provider.Provider, e provider.OutboxEntry) {
	who := fmt.Sprintf("Provider %s (%s) of account %s", p.Name, p.ID, p.AccountID)
	switch e.Kind {
	case provider.NoticeHealthAttention:
		n.Subject = "Azure provider needs attention: " + p.Name
		n.Heading = "A check of an active Azure provider found something wrong"
		n.Paragraphs = []string{who + " stays active, but the last check of what the partner holds in the customer's tenant found:"}
		n.Paragraphs = append(n.Paragraphs, e.Findings...)
	case provider.NoticeHealthCleared:
		n.Subject = "Azure provider healthy again: " + p.Name
		n.Heading = "An active Azure provider is healthy again"
		n.Paragraphs = []string{who + ": the last check no longer found what needed attention."}
		n.Paragraphs = append(n.Paragraphs, e.Findings...)
	case provider.NoticeGDAPEnding:
		end := "soon"
		if e.EndsAt != nil {
			end = "on " + provider.FormatTime(*e.EndsAt)
		}
		n.Subject = "Admin relationship ending: " + p.Name
		n.Heading = "The partner's admin relationship with a customer ends soon"
		n.Paragraphs = []string{who + ": the admin relationship (GDAP) with the customer's tenant " + p.TenantID + " ends " + end +
			" and does not extend automatically. Ask the customer's Global Administrator to approve a new admin relationship before then."}
	}
	if h := p.Health; h != nil {
		for _, f := range h.Findings {
			n.Items = append(n.Items, f.What+" (since "+provider.FormatTime(f.Since)+") What to do: "+f.Do)
		}
	}
}

func subscriptionLines(p *provider.Provider) []string {
	lines := make([]string, 0, len(p.Subscriptions))
	for _, s := range p.Subscriptions {
		lines = append(lines, s.Label()+": "+string(s.State))
	}
	return lines
}

// stepLines are the customer's steps, each with its state and, when not
// done, where it is done.
func stepLines(p *provider.Provider) []string {
	var lines []string
	for _, s := range p.Steps() {
		line := provider.StepName(s.Key()) + ": " + s.Status
		if s.State != "" {
			line += " (Microsoft reports " + s.State + ")"
		}
		if !s.Done() && s.Link != "" {
			line += " - " + s.Link
		}
		lines = append(lines, line)
	}
	return lines
}

// billingFailed fills the notice of a subscription whose billing could not
// come under the partner: which one, why, and what can be done. It reports
// false when the subscription is not the provider's.
func billingFailed(n *mail.Notice, p *provider.Provider, e provider.OutboxEntry) bool {
	s, ok := p.Subscription(e.Subscription)
	if !ok {
		return false
	}
	n.Subject = "Subscription billing not moved: " + s.Label()
	n.Heading = "A subscription's billing could not come under the partner"
	why := s.FailureReason
	if why == "" {
		why = "Microsoft did not confirm the change."
	}
	n.Paragraphs = []string{
		fmt.Sprintf("Provider %s (%s): the billing of subscription %s did not move to the partner. %s", p.Name, p.ID, s.Label(), why),
	}
	if e.Audience == provider.AudienceCustomer {
		n.Paragraphs = append(n.Paragraphs, p.BillingChange(s.ID)+" If this was not intended, contact the partner: it can send a new request.")
	} else {
		n.Paragraphs = append(n.Paragraphs, p.BillingChange(s.ID)+" Please contact the customer to agree on the next step (a new transfer request, or moving the resources).")
	}
	n.Items = subscriptionLines(p)
	return true
}
