package microsoft

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// The Microsoft 365 admin center pages where the customer acts on the
// partner's invitations. The product links to
//
//	{admin center}/Adminportal/Home?invType=ResellerRelationship&partnerId={partner tenant}&msppId=0&DAP=false#/BillingAccounts/partner-invitation
//	{admin center}/AdminPortal/Home#/partners/invitation/granularAdminRelationships/{relationship id}
//
// A browser never sends the fragment, so the double tells the pages apart
// by the query: with invType=ResellerRelationship the reseller invitation,
// otherwise the partner invitations page, which acts on the signed-in
// user's tenant's approvalPending relationships from the partner (the one
// in the fragment when the page's script could read it into the form's
// relationshipId field; the form works without script).
//
// Each page is a plain form: a field login (the user's email; a browser
// signed in at the double may leave it empty) and two buttons named
// decision, accept and decline. Only a Global Administrator of the customer
// tenant may accept; anyone else gets the admin center's refusal and
// nothing changes. Declining the reseller invitation changes nothing;
// declining on the GDAP page changes nothing either, as the admin center
// has no refusal of a GDAP request (the request stays pending until it
// expires; see relationships.go).

type adminCenterPage struct {
	Title       string
	PartnerName string
	Reseller    bool
	PartnerID   string
	Login       string
	Pending     []adminCenterRelationship
	// RelationshipID is the relationship the form acts on ("" for all
	// pending ones of the user's tenant).
	RelationshipID string
	Error          string
	// Done is the confirmation shown after a decision.
	Done string
}

type adminCenterRelationship struct {
	ID, DisplayName, Duration, Roles, AutoExtend string
}

var adminCenterTemplate = template.Must(template.New("adminCenter").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - Microsoft 365 admin center</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }
label, input[type=email] { display: block; }
input[type=email] { width: 100%; padding: .4rem; margin: .3rem 0 1rem; }
button { margin-right: .5rem; padding: .4rem 1.2rem; }
.error { color: #a4262c; border-left: 4px solid #a4262c; padding-left: .6rem; }
.done { border-left: 4px solid #107c10; padding-left: .6rem; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Done}}<p class="done" role="status">{{.Done}}</p>
{{else}}
{{if .Reseller}}
<p><strong>{{.PartnerName}}</strong> invites your organization to accept it as your Microsoft Cloud Solution Provider (reseller).
By accepting, you authorize {{.PartnerName}} to sell you Microsoft cloud services and to see your organization in its Partner Center.</p>
{{else}}
<p><strong>{{.PartnerName}}</strong> asks for granular delegated admin privileges (GDAP) in your organization.</p>
{{if .Pending}}<ul>{{range .Pending}}<li><strong>{{.DisplayName}}</strong> (<code>{{.ID}}</code>): Microsoft Entra roles {{.Roles}}, for {{.Duration}}{{if .AutoExtend}}, extended automatically by {{.AutoExtend}}{{end}}.</li>{{end}}</ul>
{{else}}<p>Sign in to see the admin relationship requests waiting for your approval.</p>{{end}}
{{end}}
<p>Only a Global Administrator of your organization can accept. Local Microsoft double: no password is needed.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="">
{{if .Reseller}}<input type="hidden" name="invType" value="ResellerRelationship">
<input type="hidden" name="partnerId" value="{{.PartnerID}}">
{{else}}<input type="hidden" id="relationshipId" name="relationshipId" value="{{.RelationshipID}}">
{{end}}<label for="login">Email</label>
<input type="email" id="login" name="login" value="{{.Login}}" autocomplete="username" placeholder="admin@contoso.example">
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="decline">Decline</button>
</form>
{{if not .Reseller}}<script>
(function () {
  var m = /granularAdminRelationships\/([^\/?#]+)/.exec(location.hash);
  var f = document.getElementById("relationshipId");
  if (m && f && !f.value) { f.value = decodeURIComponent(m[1]); }
})();
</script>{{end}}
{{end}}
</main>
</body>
</html>
`))

// directoryRoleLabels names the common directory roles on the approval page.
var directoryRoleLabels = map[string]string{
	GlobalAdministratorRoleID:              "Global Administrator",
	PrivilegedRoleAdministratorRoleID:      "Privileged Role Administrator",
	CloudApplicationAdministratorRoleID:    "Cloud Application Administrator",
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
	"729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
	"f023fd81-a637-4b56-95fd-791ac0226033": "Service Support Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
	"b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
}

// serveAdminCenter serves /Adminportal/Home (any case).
func (s *Server) serveAdminCenter(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The request could not be read.", http.StatusBadRequest)
		return
	}
	partner := s.scenario.Partner
	page := adminCenterPage{PartnerName: partner.Name, PartnerID: r.Form.Get("partnerId")}
	page.Reseller = strings.EqualFold(r.Form.Get("invType"), "ResellerRelationship")
	page.RelationshipID = strings.TrimSpace(r.Form.Get("relationshipId"))
	page.Title = "Partner invitations"
	if page.Reseller {
		page.Title = "Accept the partner invitation"
		if !strings.EqualFold(page.PartnerID, partner.TenantID) {
			page.Error = "This invitation link isn't valid: it doesn't name a partner we know. Ask your partner for a new link."
			renderAdminCenter(w, http.StatusNotFound, page)
			return
		}
	}
	sess := s.session(r)
	if sess != nil {
		page.Login = sess.login
		if !page.Reseller {
			s.mu.Lock()
			s.refreshRelationships()
			page.Pending = s.pendingView(sess.tenantID, page.RelationshipID)
			s.mu.Unlock()
		}
	}
	if r.Method == http.MethodGet {
		renderAdminCenter(w, http.StatusOK, page)
		return
	}

	switch r.PostForm.Get("decision") {
	case "decline":
		if page.Reseller {
			page.Done = "You didn't accept the invitation. " + partner.Name + " isn't your reseller; nothing was changed."
		} else {
			page.Done = "You didn't approve the request. It stays pending until it expires, and " + partner.Name + " gets no admin roles in your organization."
		}
		renderAdminCenter(w, http.StatusOK, page)
		return
	case "accept":
	default:
		page.Error = "Choose Accept or Decline."
		renderAdminCenter(w, http.StatusBadRequest, page)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	if login == "" && sess != nil {
		login = sess.login
	}
	page.Login = login
	if login == "" {
		page.Error = "Enter the email address of a Global Administrator of your organization."
		renderAdminCenter(w, http.StatusOK, page)
		return
	}
	s.mu.Lock()
	t, u, msg := s.lookupUser(nil, login)
	partnerTenant := t != nil && strings.EqualFold(t.ID, partner.TenantID)
	s.mu.Unlock()
	switch {
	case msg != "":
		page.Error = msg
		renderAdminCenter(w, http.StatusOK, page)
		return
	case partnerTenant:
		page.Error = "This invitation is for a customer of " + partner.Name + ". Sign in with an account of your own organization, not the partner's."
		renderAdminCenter(w, http.StatusForbidden, page)
		return
	}
	if sess == nil || !strings.EqualFold(sess.login, u.UserPrincipalName) {
		s.startSession(w, r, u.UserPrincipalName, t.ID)
	}
	if !slices.Contains(u.DirectoryRoles(), GlobalAdministratorRoleID) {
		page.Error = "You don't have permission to accept this. Only a Global Administrator of " + t.DisplayName + " can accept a partner's invitation; ask your Global Administrator to open this link."
		renderAdminCenter(w, http.StatusForbidden, page)
		return
	}
	base := baseURL(r)
	if page.Reseller {
		if _, err := s.SetReseller(ResellerChange{Tenant: t.ID, Accept: true}, base); err != nil {
			page.Error = err.Error()
			renderAdminCenter(w, http.StatusInternalServerError, page)
			return
		}
		page.Done = "You've accepted the invitation. " + partner.Name + " is now your Microsoft Cloud Solution Provider (reseller) for " + t.DisplayName + "."
		renderAdminCenter(w, http.StatusOK, page)
		return
	}

	s.mu.Lock()
	s.refreshRelationships()
	targets := s.pendingRelationshipsFor(t.ID)
	if page.RelationshipID != "" {
		targets = slices.DeleteFunc(targets, func(g *gdapRelationship) bool { return !strings.EqualFold(g.id, page.RelationshipID) })
	}
	now := s.now().UTC()
	var approved []string
	var names []string
	for _, g := range targets {
		g.approve(now, t.ID, t.DisplayName)
		approved = append(approved, g.id)
		names = append(names, g.displayName+" (until "+g.end.Format("January 2, 2006")+")")
	}
	page.Pending = nil
	s.mu.Unlock()
	if len(approved) == 0 {
		page.Error = "There's no admin relationship request from " + partner.Name + " waiting for approval in " + t.DisplayName + "."
		if page.RelationshipID != "" {
			page.Error = "The admin relationship request " + page.RelationshipID + " isn't waiting for approval in " + t.DisplayName + " (it was already approved, has expired or was ended)."
		}
		renderAdminCenter(w, http.StatusNotFound, page)
		return
	}
	for _, id := range approved {
		s.gdapApproved(id, base)
	}
	page.Done = "Approved. " + partner.Name + " now has the admin roles you approved in " + t.DisplayName + ": " + strings.Join(names, "; ") + "."
	renderAdminCenter(w, http.StatusOK, page)
}

// pendingView lists the relationships a tenant can approve on the page.
// s.mu must be held.
func (s *Server) pendingView(tenantID, only string) []adminCenterRelationship {
	var out []adminCenterRelationship
	for _, g := range s.pendingRelationshipsFor(tenantID) {
		if only != "" && !strings.EqualFold(g.id, only) {
			continue
		}
		var roles []string
		for _, id := range g.roles {
			if name, ok := directoryRoleLabels[id]; ok {
				roles = append(roles, name)
			} else {
				roles = append(roles, id)
			}
		}
		v := adminCenterRelationship{ID: g.id, DisplayName: g.displayName, Duration: g.duration, Roles: strings.Join(roles, ", ")}
		if g.autoExtend == "P180D" {
			v.AutoExtend = g.autoExtend
		}
		out = append(out, v)
	}
	return out
}

func renderAdminCenter(w http.ResponseWriter, status int, page adminCenterPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = adminCenterTemplate.Execute(w, page)
}
