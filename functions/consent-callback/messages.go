package main

import (
	"github.com/partnercloud/azure/shared/api"
	"github.com/partnercloud/azure/shared/apperr"
	"github.com/partnercloud/azure/shared/consent"
	"github.com/partnercloud/azure/shared/provider"
	"github.com/partnercloud/azure/shared/signin"
)

// message is the content of a plain page: a heading, paragraphs, steps.
type message struct {
	Title      string
	Heading    string
	Paragraphs []string
	Steps      []string
	// Code is an error code reported by Microsoft (validated, escaped).
	Code string
}

type messageData struct {
	chrome
	Heading    string
	Paragraphs []string
	Steps      []string
	Code       string
}

func (h *Handler) message(req api.Request, status int, m message) api.Response {
	if m.Title == "" {
		m.Title = m.Heading
	}
	c := h.chrome(req, m.Title)
	return render(req, status, messagePage(messageData{chrome: c, Heading: m.Heading, Paragraphs: m.Paragraphs, Steps: m.Steps, Code: m.Code}))
}

var (
	notFound = message{
		Heading:    "This link is not valid",
		Paragraphs: []string{"We could not find an invitation for this link. Check that you copied the whole link from the email."},
		Steps:      []string{"Open the link in the email again, or ask the person who requested the move to send a new invitation."},
	}
	invalidResponse = message{
		Title:      "Sign-in response not valid",
		Heading:    "This sign-in response is not valid",
		Paragraphs: []string{"We could not match this response from Microsoft to an invitation, or it has expired. Nothing was changed."},
		Steps:      []string{"Open the link in your email again and follow the steps from there."},
	}
	usedResponse = message{
		Title:      "Sign-in response already used",
		Heading:    "This sign-in response was already used",
		Paragraphs: []string{"Each sign-in response can be used only once, and this one did not complete the authorization."},
		Steps:      []string{"Open the link in your email again and choose Sign in with Microsoft once more."},
	}
	declined = message{
		Title:      "You declined",
		Heading:    "You declined the request",
		Paragraphs: []string{"You declined to authorize the partner's application. Nothing was moved and no access was granted; the request is now closed, and the person who asked for the move is told."},
		Steps: []string{
			"If this was a mistake, ask the person who requested the move to create a new request; you will get a new email.",
			"If you have questions about the move, write to the contact address below.",
		},
	}
	notEffective = message{
		Title:      "Authorization did not take effect",
		Heading:    "The authorization did not take effect",
		Paragraphs: []string{"Microsoft sent you back here, but the partner's application cannot sign in to your tenant yet. This can happen right after consent while Microsoft finishes setting it up, or when consent was given with an account that is not an administrator of the tenant."},
		Steps: []string{
			"Wait a minute, then open the link in your email again and choose Sign in with Microsoft once more.",
			"Sign in with a Global Administrator or Privileged Role Administrator of your tenant.",
		},
	}
	unavailable = message{
		Title:      "Try again in a minute",
		Heading:    "We could not confirm your authorization right now",
		Paragraphs: []string{"Microsoft's sign-in service did not answer in time, so we could not confirm your tenant. Nothing was recorded yet."},
		Steps:      []string{"Try again in a minute: open the link in your email again and choose Sign in with Microsoft once more. This sign-in response cannot be reused."},
	}
	internalError = message{
		Title:      "Something went wrong",
		Heading:    "Something went wrong on our side",
		Paragraphs: []string{"We could not complete this request. Nothing you did caused it."},
		Steps:      []string{"Try again in a few minutes by opening the link in your email again. If it keeps happening, write to the contact address below with the reference shown."},
	}
)

// goneMessages are the landing page's 410 pages by reason.
var goneMessages = map[string]message{
	consent.ClosedExpired: {
		Title: "Link expired", Heading: "This link has expired",
		Paragraphs: []string{"The invitation is no longer valid. Nothing was changed."},
		Steps:      []string{"Ask the person who requested the move to create a new request, or write to the contact address below."},
	},
	consent.ClosedUsed: {
		Title: "Link already used", Heading: "This link was already used",
		Paragraphs: []string{"The partner's application was already authorized with this invitation. There is nothing more to do on this page."},
		Steps:      []string{"If you still need to grant Owner access, or have questions, write to the contact address below."},
	},
	consent.ClosedCancelled: {
		Title: "Request cancelled", Heading: "This request was cancelled",
		Paragraphs: []string{"The person who requested the move cancelled it, so this link no longer works. Nothing was changed."},
		Steps:      []string{"If you expected to approve a move, ask the person who requested it, or write to the contact address below."},
	},
	consent.ClosedDeclined: {
		Title: "Request declined", Heading: "This request was declined",
		Paragraphs: []string{"An administrator declined this request, so the link no longer works."},
		Steps:      []string{"If this was a mistake, ask the person who requested the move to create a new request, or write to the contact address below."},
	},
	consent.ClosedOther: {
		Title: "Request closed", Heading: "This request is closed",
		Paragraphs: []string{"The move this link belongs to has ended, so the link no longer works."},
		Steps:      []string{"Write to the contact address below if you have questions."},
	},
}

// closedMessages are the callback's pages for an invitation that closed
// before the response arrived (status 400: the response cannot be used).
var closedMessages = goneMessages

// notCompleted is the page for an error Microsoft reported other than
// access_denied: the invitation stays open, so the admin can retry.
func notCompleted(q callbackQuery) message {
	m := message{
		Title:      "Authorization not completed",
		Heading:    "The authorization did not complete",
		Paragraphs: []string{"Microsoft reported a problem, so the partner's application was not authorized. Nothing was changed, and your invitation is still open."},
		Steps:      []string{"Open the link in your email again and choose Sign in with Microsoft once more."},
		Code:       q.Error,
	}
	if q.AADSTS != "" {
		m.Code += " (" + q.AADSTS + ")"
	}
	switch q.Error {
	case "consent_required", "invalid_client", "unauthorized_client":
		m.Steps = append(m.Steps, "Sign in with a Global Administrator or Privileged Role Administrator of your tenant: only they can authorize an application for the whole organization.")
	case "temporarily_unavailable", "server_error":
		m.Steps = []string{"Microsoft's service was briefly unavailable. Wait a minute, then open the link in your email again."}
	}
	m.Steps = append(m.Steps, "If it keeps happening, write to the contact address below with the error code.")
	return m
}

var tooManyAttempts = message{
	Title:      "Too many attempts",
	Heading:    "Too many attempts with this link",
	Paragraphs: []string{"This link was opened too many times in a short while, so we paused it. Nothing was changed, and your invitation is still open."},
	Steps:      []string{"Wait an hour, then open the link in your email again."},
}

// needsAdminRole is the page for a user who signed in but cannot grant
// tenant-wide admin consent: it names the roles that can.
func needsAdminRole(p signin.Proof) message {
	roles := make([]string, 0, len(signin.ConsentRoles))
	for _, r := range signin.ConsentRoles {
		roles = append(roles, r.Name)
	}
	who := "The account you signed in with"
	if p.Username != "" {
		who = "The account " + p.Username
	}
	return message{
		Title:      "An administrator must sign in",
		Heading:    "An administrator of your organization must sign in",
		Paragraphs: []string{who + " cannot authorize an application for the whole organization. Nothing was changed, and your invitation is still open."},
		Steps: append([]string{"Ask a person who holds one of these Microsoft Entra roles to open the link in the email and sign in:"}, append(roles,
			"Or forward the email to them: the link works for any administrator of your organization.")...),
	}
}

// tenantRefused is the page for a tenant connected through another
// provider. It says whom to contact and nothing of the other provider.
func tenantRefused(code string) message {
	refusal := apperr.TenantAlreadyConnected
	if code == provider.FailureMigrationInProgress {
		refusal = apperr.MigrationInProgress
	}
	m := message{
		Title:      "Already connected",
		Heading:    "This Azure tenant is already connected",
		Paragraphs: []string{provider.EndReason(refusal, provider.StatusFailed), "Nothing was changed in your tenant, and this request is now closed."},
		Steps:      []string{"Write to the contact address below, quoting the reference shown, and the partner will sort out which request should go ahead."},
	}
	if code == provider.FailureMigrationInProgress {
		m.Steps = []string{"Ask the person who requested the move: your organization already has a request for this tenant in progress.", "If you have questions, write to the contact address below."}
	}
	return m
}
