// Package mail renders the product's emails, multipart HTML and plain text,
// from embedded templates; mail/ses sends them through SES v2. Rendering
// links no AWS SDK: the many functions that render nothing still link this
// package (through consent and store), and SES v2's client costs every cold
// start of a function that links it.
package mail

// Message is one email.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}
