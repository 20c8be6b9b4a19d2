package microsoft

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// declinedDescription is the error_description Microsoft sends when the
// administrator declines consent.
const declinedDescription = "AADSTS65004: User declined to consent to access the app."

// consentRequest is an admin-consent request, from the query (GET) or the
// hidden fields of the form (POST).
type consentRequest struct {
	TenantKey   string
	ClientID    string
	Scope       string
	RedirectURI string
	State       string
}

type consentPage struct {
	consentRequest
	PartnerName string
	AppName     string
	Login       string
	Error       string
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in to your account</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 3rem auto; padding: 0 1rem; }
label, input { display: block; }
input[type=email] { width: 100%; padding: .4rem; margin: .3rem 0 1rem; }
button { margin-right: .5rem; padding: .4rem 1.2rem; }
.error { color: #a4262c; border-left: 4px solid #a4262c; padding-left: .6rem; }
</style>
</head>
<body>
<main>
<h1>Permissions requested</h1>
<p><strong>{{.AppName}}</strong> ({{.PartnerName}}) asks an administrator of your organization to consent to:
access Azure Service Management as the organization (<code>{{.Scope}}</code>).</p>
<p>If you accept, this app gets access to the resources your organization grants it. Local Microsoft double: no password is needed.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<label for="login">Administrator email</label>
<input type="email" id="login" name="login" value="{{.Login}}" autocomplete="username" placeholder="admin@contoso.example">
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="decline">Decline</button>
</form>
</main>
</body>
</html>
`))

var consentErrorTemplate = template.Must(template.New("consentError").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<main>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p role="alert">{{.}}</p>
</main>
</body>
</html>
`))

// serveAdminConsent serves the admin-consent endpoint: a sign-in form on GET,
// and on POST the decision, answered with a redirect as Microsoft does.
// Requests with an unknown application or a redirect URI that is not allowed
// get an error page, never a redirect.
func (s *Server) serveAdminConsent(w http.ResponseWriter, r *http.Request, tenantKey string) {
	s.count(CallAdminConsent)
	if s.injectFault(w, r, CallAdminConsent) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		consentErrorPage(w, "AADSTS900144: The request could not be read.")
		return
	}
	// r.Form holds the query and, on POST, the form fields (which win).
	req := consentRequest{
		TenantKey:   tenantKey,
		ClientID:    r.Form.Get("client_id"),
		Scope:       r.Form.Get("scope"),
		RedirectURI: r.Form.Get("redirect_uri"),
		State:       r.Form.Get("state"),
	}
	if r.Method == http.MethodPost {
		for _, k := range []string{"client_id", "scope", "redirect_uri", "state"} {
			if v, ok := r.PostForm[k]; ok && len(v) > 0 {
				switch k {
				case "client_id":
					req.ClientID = v[0]
				case "scope":
					req.Scope = v[0]
				case "redirect_uri":
					req.RedirectURI = v[0]
				case "state":
					req.State = v[0]
				}
			}
		}
	}

	pathTenant, msg := s.validateConsent(req)
	if msg != "" {
		consentErrorPage(w, msg)
		return
	}
	if req.Scope == "" {
		redirectWith(w, r, req.RedirectURI, [][2]string{
			{"error", "invalid_request"},
			{"error_description", "AADSTS900144: The request body must contain the following parameter: 'scope'."},
		}, req.State)
		return
	}
	page := consentPage{consentRequest: req, PartnerName: s.scenario.Partner.Name, AppName: s.scenario.Partner.AppName}
	if page.AppName == "" {
		page.AppName = s.scenario.Partner.Name
	}
	// A browser already signed in here (the sign-in form or an earlier
	// consent) may leave the login field empty.
	sess := s.session(r)
	if r.Method == http.MethodGet {
		if sess != nil {
			page.Login = sess.login
		}
		renderConsent(w, http.StatusOK, page)
		return
	}

	switch r.PostForm.Get("decision") {
	case "decline":
		redirectWith(w, r, req.RedirectURI, [][2]string{{"error", "access_denied"}, {"error_description", declinedDescription}}, req.State)
		return
	case "accept":
	default:
		page.Error = "Choose Accept or Decline."
		renderConsent(w, http.StatusBadRequest, page)
		return
	}

	login := strings.TrimSpace(r.PostForm.Get("login"))
	if login == "" && sess != nil {
		login = sess.login
	}
	page.Login = login
	tid, errMsg := s.grantConsent(pathTenant, login)
	if errMsg != "" {
		page.Error = errMsg
		renderConsent(w, http.StatusOK, page)
		return
	}
	if sess == nil || !strings.EqualFold(sess.login, login) {
		s.startSession(w, r, login, tid)
	}
	redirectWith(w, r, req.RedirectURI, [][2]string{{"admin_consent", "True"}, {"tenant", tid}, {"scope", req.Scope}}, req.State)
}

// validateConsent checks the tenant in the path, the client id and the
// redirect URI. It returns the path's tenant (nil for "organizations") or an
// error message for the error page.
func (s *Server) validateConsent(req consentRequest) (*tenantState, string) {
	var pathTenant *tenantState
	switch strings.ToLower(req.TenantKey) {
	case "organizations":
	case "common", "consumers":
		return nil, fmt.Sprintf("AADSTS90130: The admin consent endpoint needs a tenant id or 'organizations'; '%s' is not supported.", req.TenantKey)
	default:
		s.mu.Lock()
		pathTenant = s.tenant(req.TenantKey)
		s.mu.Unlock()
		if pathTenant == nil {
			return nil, "AADSTS90002: " + tenantNotFoundMessage(req.TenantKey)
		}
	}
	partner := s.scenario.Partner
	switch {
	case req.ClientID == "":
		return nil, "AADSTS900144: The request body must contain the following parameter: 'client_id'."
	case !strings.EqualFold(req.ClientID, partner.AppID):
		dir := req.TenantKey
		if pathTenant != nil {
			dir = pathTenant.Name
		}
		return nil, "AADSTS700016: " + appNotFoundMessage(req.ClientID, dir)
	}
	if msg := checkRedirectURI(req.RedirectURI, partner); msg != "" {
		return nil, msg
	}
	return pathTenant, ""
}

// checkRedirectURI applies Microsoft's rules: https, or http on localhost or
// 127.0.0.1; at most 256 characters; no fragment; and, when the partner's
// reply URLs are listed, an exact match.
func checkRedirectURI(raw string, partner Partner) string {
	mismatch := fmt.Sprintf("AADSTS50011: The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", raw, partner.AppID)
	if raw == "" {
		return "AADSTS900144: The request body must contain the following parameter: 'redirect_uri'."
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || len(raw) > 256 {
		return mismatch
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" {
			return "AADSTS50011: " + fmt.Sprintf("The redirect URI '%s' must use https; plain http is allowed for localhost only.", raw)
		}
	default:
		return mismatch
	}
	if len(partner.RedirectURIs) > 0 {
		for _, r := range partner.RedirectURIs {
			if r == raw {
				return ""
			}
		}
		return mismatch
	}
	return ""
}

// grantConsent records an administrator's consent: the partner application
// gets its service principal in the administrator's tenant. It returns the
// tenant id, or a message for the form.
func (s *Server) grantConsent(pathTenant *tenantState, login string) (string, string) {
	if login == "" {
		return "", "Enter the administrator's email address."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, u, msg := s.lookupUser(pathTenant, login)
	if msg != "" {
		return "", msg
	}
	if !u.CanConsent() {
		return "", fmt.Sprintf("AADSTS90094: %s is not an administrator of %s; an administrator must grant consent for this app.", login, t.Name)
	}
	t.consented = true
	return t.ID, ""
}

// redirectWith redirects to target with the given query parameters (in
// order) and state appended, keeping any query target already has.
func redirectWith(w http.ResponseWriter, r *http.Request, target string, params [][2]string, state string) {
	var b strings.Builder
	b.WriteString(target)
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	if state != "" {
		params = append(params, [2]string{"state", state})
	}
	for _, p := range params {
		b.WriteString(sep)
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteString("=")
		b.WriteString(url.QueryEscape(p[1]))
		sep = "&"
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", b.String())
	w.WriteHeader(http.StatusFound)
}

func renderConsent(w http.ResponseWriter, status int, page consentPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = consentTemplate.Execute(w, page)
}

func consentErrorPage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = consentErrorTemplate.Execute(w, msg)
}

// SetConsent records (true) or revokes (false) the administrator's consent
// to the partner application in a tenant (by id, name or domain). Revoking
// deletes the partner's service principal there: tokens are refused with
// AADSTS700016 and its role assignments stop applying, until consent is
// given again (the service principal then keeps its scenario object id).
func (s *Server) SetConsent(tenantKey string, consented bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantKey)
	if t == nil {
		return fmt.Errorf("unknown tenant %q", tenantKey)
	}
	if strings.EqualFold(t.ID, s.scenario.Partner.TenantID) && !consented {
		return fmt.Errorf("the partner's home tenant cannot revoke its own application")
	}
	t.consented = consented
	return nil
}
