package provider

// View is a provider as the HTTP API shows it: every field of Provider (the
// execution ARN is never serialized) plus the next step for the user.
type View struct {
	*Provider
	NextStep string `json:"nextStep"`
}

// View returns the API representation of p, with empty lists rather than null.
func (p *Provider) View() View {
	c := *p
	if c.Subscriptions == nil {
		c.Subscriptions = []Subscription{}
	}
	if c.Timeline == nil {
		c.Timeline = []Event{}
	}
	return View{Provider: &c, NextStep: c.NextStep()}
}
