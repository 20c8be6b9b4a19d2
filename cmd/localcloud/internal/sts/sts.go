// Package sts serves the one STS call a user makes to check that the AWS CLI
// or an SDK is configured for the local cloud: GetCallerIdentity (`aws sts
// get-caller-identity`), in STS's query protocol (a form-encoded POST
// answered in XML). The caller is the local account's root, whatever dummy
// credentials sign the request, as the local services accept any.
package sts

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Options configures the handler.
type Options struct {
	// AccountID is the local account (e.g. "000000000000").
	AccountID string
}

const namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type callerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// Handler returns the STS endpoint.
func Handler(opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID()
		w.Header().Set("X-Amzn-Requestid", id)
		var form url.Values
		switch r.Method {
		case http.MethodPost:
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				writeError(w, id, http.StatusBadRequest, "InvalidRequest", "could not read the request")
				return
			}
			if form, err = url.ParseQuery(string(body)); err != nil {
				writeError(w, id, http.StatusBadRequest, "MalformedQueryString", "the request body is not form-encoded")
				return
			}
		case http.MethodGet:
			form = r.URL.Query()
		default:
			writeError(w, id, http.StatusMethodNotAllowed, "InvalidRequest", "STS takes POST")
			return
		}
		action := form.Get("Action")
		if action != "GetCallerIdentity" {
			if action == "" {
				writeError(w, id, http.StatusBadRequest, "MissingAction", "Missing Action")
				return
			}
			writeError(w, id, http.StatusBadRequest, "InvalidAction", "Could not find operation "+action+" for version 2011-06-15 (the local STS serves GetCallerIdentity)")
			return
		}
		var out callerIdentityResponse
		out.Xmlns = namespace
		out.Result.Account = opts.AccountID
		out.Result.UserID = opts.AccountID
		out.Result.Arn = "arn:aws:iam::" + opts.AccountID + ":root"
		out.RequestID = id
		writeXML(w, http.StatusOK, out)
	})
}

func writeError(w http.ResponseWriter, id string, status int, code, msg string) {
	var e errorResponse
	e.Xmlns = namespace
	e.Error.Type, e.Error.Code, e.Error.Message = "Sender", code, msg
	e.RequestID = id
	writeXML(w, status, e)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.Copy(w, strings.NewReader(string(b)+"\n"))
}

// requestID is a random request id in the UUID shape STS uses.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Beside serves STS on another service's port: a request signed for the
// service "sts" (its SigV4 credential scope ends in /sts/aws4_request), or an
// unsigned form-encoded POST without X-Amz-Target, goes to STS; every other
// request goes to next. The AWS services tell their calls apart the same way
// behind one endpoint, and it spares the local cloud a port for one call.
func Beside(next http.Handler, opts Options) http.Handler {
	h := Handler(opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsSTS(r) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsSTS tells whether r is meant for STS (see Beside).
func IsSTS(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return strings.Contains(auth, "/sts/aws4_request")
	}
	ct := r.Header.Get("Content-Type")
	return r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") == "" &&
		strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}
