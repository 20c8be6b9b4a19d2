package microsoft

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Partner Center webhooks. The partner registers one callback URL and the
// events it wants (registering again replaces the registration):
//
//	POST|PUT /webhooks/v1/registration                   {"WebhookUrl", "WebhookEvents": [...]} → the registration
//	GET      /webhooks/v1/registration                   → the registration (404 when none)
//	DELETE   /webhooks/v1/registration                   → 204
//	POST     /webhooks/v1/registration/validationEvents  → sends a test-created event; {"correlationId"}
//
// with the same tokens as Partner Center's other calls. When the customer
// accepts the reseller relationship the double POSTs
// reseller-relationship-accepted-by-customer (ResourceUri
// {double}/v1/customers/{customer tenant id}, ResourceName "customer");
// when the customer approves a GDAP relationship,
// granular-admin-relationship-approved (ResourceUri
// {double}/v1.0/tenantRelationships/delegatedAdminRelationships/{id},
// ResourceName "delegatedAdminRelationship"). The body is Partner Center's:
//
//	{"EventName", "ResourceUri", "ResourceName", "AuditUri": null, "ResourceChangeUtcDate"}
//
// signed as Partner Center signs it: RSA PKCS #1 v1.5 over the SHA-256 of
// the body, base64 in "Authorization: Signature <signature>", with
// "X-MS-Signature-Algorithm: rsa-sha256" and "X-MS-Certificate-Url"
// pointing at the signing certificate, which the double serves (PEM) at
// /cert/pcnotifications-dispatch.microsoft.com.cer on its own TLS host. The
// certificate (O=Microsoft Corporation, CN=pcnotifications-dispatch.microsoft.com)
// is issued by the local cloud's CA (UseCA); without one the double makes
// a CA of its own.
//
// Delivery is best-effort, as at Partner Center: WebhookAttempts tries
// with growing pauses, a 2xx answer ends them. The control API switches
// delivery to drop (never sent), duplicate (sent twice) or delay (sent
// after a pause) for tests.

// Partner Center webhook event names the double sends.
const (
	EventTestCreated      = "test-created"
	EventResellerAccepted = "reseller-relationship-accepted-by-customer"
	EventGDAPApproved     = "granular-admin-relationship-approved"
)

// WebhookCertificatePath is where the double serves the signing certificate.
const WebhookCertificatePath = "/cert/pcnotifications-dispatch.microsoft.com.cer"

// WebhookAttempts is the number of delivery attempts of one event.
const WebhookAttempts = 3

// Webhook delivery modes (POST /_control/webhooks).
const (
	WebhookNormal    = "normal"
	WebhookDrop      = "drop"
	WebhookDuplicate = "duplicate"
	WebhookDelay     = "delay"
)

// WebhookRegistration is the partner's webhook registration, in Partner
// Center's shape.
type WebhookRegistration struct {
	SubscriberID  string   `json:"SubscriberId"`
	WebhookURL    string   `json:"WebhookUrl"`
	WebhookEvents []string `json:"WebhookEvents"`
}

// WebhookDelivery records one event the double sent, or meant to send.
type WebhookDelivery struct {
	ID        string `json:"id"`
	EventName string `json:"eventName"`
	URL       string `json:"url"`
	Mode      string `json:"mode"`
	// Copies is the number of copies sent (2 in duplicate mode).
	Copies int `json:"copies"`
	// Attempts counts the POSTs made; Status is the last answer's HTTP
	// status (0 when none came).
	Attempts  int    `json:"attempts"`
	Status    int    `json:"status"`
	Delivered bool   `json:"delivered"`
	Error     string `json:"error,omitempty"`
	Time      string `json:"time"`
}

// WebhookState is what GET /_control/webhooks shows.
type WebhookState struct {
	Registration *WebhookRegistration `json:"registration"`
	Mode         string               `json:"mode"`
	DelaySeconds int                  `json:"delaySeconds,omitempty"`
	Deliveries   []WebhookDelivery    `json:"deliveries"`
}

// WebhookModeChange is the body of POST /_control/webhooks.
type WebhookModeChange struct {
	Mode string `json:"mode"`
	// DelaySeconds is the pause of delay mode; default 5.
	DelaySeconds int `json:"delaySeconds,omitempty"`
}

// webhookSigner is the signing key and its certificate.
type webhookSigner struct {
	key     *rsa.PrivateKey
	certPEM []byte
	client  *http.Client
}

// UseCA makes the webhook signing certificate with the local cloud's CA,
// so that a receiver trusting that CA can verify the certificate's chain,
// and delivers to https callbacks trusting it.
func (s *Server) UseCA(ca *CA) error {
	signer, err := newWebhookSigner(ca)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signer = signer
	return nil
}

func newWebhookSigner(ca *CA) (*webhookSigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "pcnotifications-dispatch.microsoft.com", Organization: []string{"Microsoft Corporation"}, Country: []string{"US"}},
		DNSNames:    []string{"pcnotifications-dispatch.microsoft.com"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, &key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("webhook signing certificate: %w", err)
	}
	client := &http.Client{Transport: ca.Transport(), Timeout: 10 * time.Second}
	return &webhookSigner{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), client: client}, nil
}

// webhookSigner returns the signer, made with a CA of its own when UseCA
// was not called. s.mu must be held.
func (s *Server) webhookSigner() (*webhookSigner, error) {
	if s.signer != nil {
		return s.signer, nil
	}
	ca, err := NewCA("")
	if err != nil {
		return nil, err
	}
	if s.signer, err = newWebhookSigner(ca); err != nil {
		return nil, err
	}
	return s.signer, nil
}

// WebhookCertificatePEM returns the signing certificate in PEM.
func (s *Server) WebhookCertificatePEM() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	signer, err := s.webhookSigner()
	if err != nil {
		return nil, err
	}
	return signer.certPEM, nil
}

// RegisterWebhook registers (or replaces) the partner's webhook callback,
// as the partner does once in production; events default to
// test-created, reseller-relationship-accepted-by-customer and
// granular-admin-relationship-approved.
func (s *Server) RegisterWebhook(callback string, events []string) error {
	if err := checkWebhookURL(callback); err != nil {
		return err
	}
	if len(events) == 0 {
		events = []string{EventTestCreated, EventResellerAccepted, EventGDAPApproved}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = &WebhookRegistration{SubscriberID: s.scenario.Partner.TenantID, WebhookURL: callback, WebhookEvents: slices.Clone(events)}
	return nil
}

// checkWebhookURL accepts https URLs, and http ones on loopback (the local
// product's API).
func checkWebhookURL(callback string) error {
	u, err := url.Parse(callback)
	if err != nil || u.Host == "" {
		return fmt.Errorf("WebhookUrl %q is not an absolute URL", callback)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1"):
	default:
		return fmt.Errorf("WebhookUrl %q must use https", callback)
	}
	return nil
}

// WebhookState returns the registration, the delivery mode and the
// deliveries so far.
func (s *Server) WebhookState() WebhookState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := WebhookState{Mode: s.webhookMode, Deliveries: append([]WebhookDelivery{}, s.deliveries...)}
	if st.Mode == WebhookDelay {
		st.DelaySeconds = int(s.webhookDelay / time.Second)
	}
	if s.webhook != nil {
		reg := *s.webhook
		reg.WebhookEvents = slices.Clone(reg.WebhookEvents)
		st.Registration = &reg
	}
	return st
}

// SetWebhookMode switches how events are delivered.
func (s *Server) SetWebhookMode(ch WebhookModeChange) error {
	switch ch.Mode {
	case WebhookNormal, WebhookDrop, WebhookDuplicate, WebhookDelay:
	default:
		return fmt.Errorf("unknown webhook mode %q (want normal, drop, duplicate or delay)", ch.Mode)
	}
	if ch.DelaySeconds < 0 {
		return fmt.Errorf("delaySeconds must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookMode = ch.Mode
	s.webhookDelay = 5 * time.Second
	if ch.DelaySeconds > 0 {
		s.webhookDelay = time.Duration(ch.DelaySeconds) * time.Second
	}
	return nil
}

// WaitWebhooks waits until every delivery started so far has ended.
func (s *Server) WaitWebhooks() { s.webhookWG.Wait() }

func (s *Server) resellerAccepted(tenantID, base string) {
	s.emit(EventResellerAccepted, base+"/v1/customers/"+tenantID, "customer", base)
}

func (s *Server) gdapApproved(relationshipID, base string) {
	s.emit(EventGDAPApproved, base+"/v1.0/tenantRelationships/delegatedAdminRelationships/"+relationshipID, "delegatedAdminRelationship", base)
}

// emit sends an event to the registered callback if it asked for it,
// asynchronously and as the delivery mode says.
func (s *Server) emit(event, resourceURI, resourceName, base string) {
	s.mu.Lock()
	reg := s.webhook
	if reg == nil || !slices.ContainsFunc(reg.WebhookEvents, func(e string) bool { return strings.EqualFold(e, event) }) {
		s.mu.Unlock()
		return
	}
	signer, err := s.webhookSigner()
	d := &WebhookDelivery{ID: uuid.NewString(), EventName: event, URL: reg.WebhookURL, Mode: s.webhookMode, Copies: 1, Time: graphTime(s.now())}
	if d.Mode == "" {
		d.Mode = WebhookNormal
	}
	delay := s.webhookDelay
	body, _ := json.Marshal(struct {
		EventName             string
		ResourceURI           string `json:"ResourceUri"`
		ResourceName          string
		AuditURI              *string `json:"AuditUri"`
		ResourceChangeUtcDate string
	}{event, resourceURI, resourceName, nil, s.now().UTC().Format("2006-01-02T15:04:05.0000000+00:00")})
	switch {
	case err != nil:
		d.Error = err.Error()
	case d.Mode == WebhookDrop:
		d.Error = "dropped (webhook mode drop)"
	case d.Mode == WebhookDuplicate:
		d.Copies = 2
	}
	s.deliveries = append(s.deliveries, *d)
	index := len(s.deliveries) - 1
	s.mu.Unlock()
	if err != nil || d.Mode == WebhookDrop {
		return
	}
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, signer.key, crypto.SHA256, sum[:])
	if err != nil {
		return
	}
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("Authorization", "Signature "+base64.StdEncoding.EncodeToString(sig))
	header.Set("X-MS-Certificate-Url", base+WebhookCertificatePath)
	header.Set("X-MS-Signature-Algorithm", "rsa-sha256")
	s.webhookWG.Add(1)
	go func() {
		defer s.webhookWG.Done()
		if d.Mode == WebhookDelay {
			time.Sleep(delay)
		}
		for range d.Copies {
			s.deliver(signer.client, reg.WebhookURL, header, body, index)
		}
	}()
}

// deliver POSTs one copy of an event, retrying until a 2xx answer or
// WebhookAttempts tries, and records the outcome.
func (s *Server) deliver(client *http.Client, callback string, header http.Header, body []byte, index int) {
	pause := s.webhookRetryDelay
	for attempt := 1; attempt <= WebhookAttempts; attempt++ {
		status, errText := 0, ""
		req, err := http.NewRequest(http.MethodPost, callback, bytes.NewReader(body))
		if err == nil {
			req.Header = header.Clone()
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				status = resp.StatusCode
			}
		}
		if err != nil {
			errText = err.Error()
		}
		ok := status >= 200 && status < 300
		s.mu.Lock()
		if index < len(s.deliveries) {
			d := &s.deliveries[index]
			d.Attempts++
			d.Status = status
			d.Error = errText
			if ok {
				d.Delivered = true
			} else if errText == "" {
				d.Error = fmt.Sprintf("answered %d", status)
			}
		}
		s.mu.Unlock()
		if ok {
			return
		}
		if attempt < WebhookAttempts {
			time.Sleep(pause)
			pause *= 2
		}
	}
}

// serveWebhookCertificate serves the signing certificate.
func (s *Server) serveWebhookCertificate(w http.ResponseWriter) {
	pemBytes, err := s.WebhookCertificatePEM()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pemBytes)
}

// serveWebhookRegistration serves /webhooks/v1/registration[/validationEvents].
func (s *Server) serveWebhookRegistration(w http.ResponseWriter, r *http.Request, lower string) {
	s.count(CallPartnerCenterWebhooks)
	w.Header().Set("MS-RequestId", uuid.NewString())
	if cid := r.Header.Get("MS-CorrelationId"); cid != "" {
		w.Header().Set("MS-CorrelationId", cid)
	}
	if s.injectFault(w, r, CallPartnerCenterWebhooks) {
		return
	}
	if !s.pcAuthorized(w, r) {
		return
	}
	if lower == "/webhooks/v1/registration/validationevents" {
		if r.Method != http.MethodPost {
			pcError(w, http.StatusMethodNotAllowed, 405, "Method "+r.Method+" is not supported here.")
			return
		}
		s.mu.Lock()
		reg := s.webhook
		s.mu.Unlock()
		if reg == nil {
			pcError(w, http.StatusNotFound, 404, "No webhook registration was found for the partner.")
			return
		}
		id := uuid.NewString()
		s.emit(EventTestCreated, baseURL(r)+"/webhooks/v1/registration/validationEvents/"+id, "test", baseURL(r))
		writeJSON(w, http.StatusOK, map[string]any{"correlationId": id})
		return
	}
	switch r.Method {
	case http.MethodGet:
		st := s.WebhookState()
		if st.Registration == nil {
			pcError(w, http.StatusNotFound, 404, "No webhook registration was found for the partner.")
			return
		}
		writeJSON(w, http.StatusOK, st.Registration)
	case http.MethodPost, http.MethodPut:
		var reg WebhookRegistration
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&reg); err != nil {
			pcError(w, http.StatusBadRequest, 400, "The request body is not valid JSON.")
			return
		}
		if len(reg.WebhookEvents) == 0 {
			pcError(w, http.StatusBadRequest, 400, "WebhookEvents must name at least one event.")
			return
		}
		if err := s.RegisterWebhook(reg.WebhookURL, reg.WebhookEvents); err != nil {
			pcError(w, http.StatusBadRequest, 400, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.WebhookState().Registration)
	case http.MethodDelete:
		s.mu.Lock()
		s.webhook = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		pcError(w, http.StatusMethodNotAllowed, 405, "Method "+r.Method+" is not supported here.")
	}
}
