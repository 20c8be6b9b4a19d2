package mail

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/partnercloud/azure/shared/config"
)

//go:embed templates
var templateFS embed.FS

// The templates are parsed on first use: most functions that link this
// package never render an email, and parsing at package init cost each of
// their cold starts.
var (
	invitationHTML = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/invitation.html"))
	})
	invitationText = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/invitation.txt"))
	})
	noticeHTML = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/notice.html"))
	})
	noticeText = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/notice.txt"))
	})
)

// Brand is who the emails come from.
type Brand struct {
	PartnerName  string
	ContactEmail string
}

// Invitation is the consent email to the customer's Azure administrator.
type Invitation struct {
	Brand
	// Kind is "invitation", "reminder" or "resend".
	Kind    string
	OrgName string
	// ProviderName is the name the organization gave the provider.
	ProviderName  string
	Requester     string
	Link          string
	ExpiresAt     time.Time
	Subscriptions []string
	// ResellerLink and ApprovalLink are the Microsoft 365 admin center's
	// reseller relationship invitation and the admin relationship's
	// approval page ("" when not known yet).
	ResellerLink, ApprovalLink string
	// StillToDo and Done are, in a reminder, the customer's steps still
	// open and those Microsoft already reports done (a step may be done
	// before the sign-in), in the checklist's order.
	StillToDo, Done []string
}

// RenderInvitation renders the consent email.
func RenderInvitation(to string, d Invitation) (Message, error) {
	subject := d.OrgName + ": approve moving your Azure account to " + d.PartnerName
	switch d.Kind {
	case "reminder":
		subject = "Reminder: " + subject
	case "resend":
		subject = "Resent: " + subject
	}
	data := struct {
		Invitation
		Subject     string
		ExpiresText string
	}{d, subject, d.ExpiresAt.UTC().Format("Monday 2 January 2006, 15:04 MST")}
	return render(to, subject, invitationHTML(), invitationText(), data)
}

// Notice is a plain notification: to the partner's representatives, or to
// the requester on completion or failure.
type Notice struct {
	Brand
	Subject    string
	Heading    string
	Paragraphs []string
	Items      []string
	Link       string
}

// RenderNotice renders a notification.
func RenderNotice(to string, n Notice) (Message, error) {
	return render(to, n.Subject, noticeHTML(), noticeText(), n)
}

func render(to, subject string, h *htmltemplate.Template, t *texttemplate.Template, data any) (Message, error) {
	var hb, tb bytes.Buffer
	if err := h.ExecuteTemplate(&hb, "layout", data); err != nil {
		return Message{}, err
	}
	if err := t.Execute(&tb, data); err != nil {
		return Message{}, err
	}
	// A subject is one line whatever the data held.
	subject = strings.Join(strings.Fields(subject), " ")
	return Message{To: to, Subject: subject, Text: tb.String(), HTML: hb.String()}, nil
}

// BrandFromEnv reads PARTNER_NAME and CONTACT_EMAIL (with the product's defaults).
func BrandFromEnv(env *config.Env) Brand {
	return Brand{PartnerName: env.Optional("PARTNER_NAME", "Partner Cloud"), ContactEmail: env.Optional("CONTACT_EMAIL", "cloudintegration@partner.example")}
}
