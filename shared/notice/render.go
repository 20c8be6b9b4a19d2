package notice

import (
	"fmt"

	"github.com/partnercloud/azure/shared/mail"
	"github.com/partnercloud/azure/shared/provider"
)

// Render is the email of an outbox entry, with the provider as it is now
// (so a notice sent late tells the current state, not the state when it
// was written). Every kind so far goes to the partner's representatives.
func Render(p *provider.Provider, e provider.OutboxEntry, brand mail.Brand, representatives string) (mail.Message, error) {
	n := mail.Notice{Brand: brand}
	switch e.Kind {
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
	default:
		return mail.Message{}, fmt.Errorf("notice: no email for kind %q", e.Kind)
	}
	return mail.RenderNotice(representatives, n)
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
