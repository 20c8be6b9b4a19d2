package provider

import "time"

// View is a provider as the HTTP API shows it: every field of Provider (the
// execution ARN is never serialized) plus the next step for the user.
type View struct {
	*Provider
	// Steps are a migration's customer steps with their states (option
	// migrate only).
	Steps []Step `json:"steps,omitempty"`
	// RelationshipWait is the wait for the customer's relationship steps
	// after consent.
	RelationshipWait *StepWait `json:"relationshipWait,omitempty"`
	NextStep         string    `json:"nextStep"`
	// Stuck and WaitingSince are the operators' listing's (OperatorView):
	// whether the provider has waited on its current step longer than the
	// threshold, and since when it waits (open providers only). Absent
	// everywhere else.
	Stuck        *bool      `json:"stuck,omitempty"`
	WaitingSince *time.Time `json:"waitingSince,omitempty"`
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
	v := View{Provider: &c, NextStep: c.NextStep(), Steps: c.Steps()}
	if c.MovePlan != nil {
		plan := *c.MovePlan
		plan.Warning = MoveWarning
		c.MovePlan = &plan
	}
	if c.Relationships != nil && c.Relationships.Wait != nil {
		w := *c.Relationships.Wait
		v.RelationshipWait = &w
	}
	return v
}
