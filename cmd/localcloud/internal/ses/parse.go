package ses

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

var wordDecoder = &mime.WordDecoder{}

// parseMessage reads an RFC 5322 message: its addresses, decoded subject,
// date, first text/plain and text/html bodies, and the links in them.
func parseMessage(raw []byte) (*Message, error) {
	mm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	m := &Message{To: []string{}}
	h := mm.Header
	m.From = decodeHeader(h.Get("From"))
	m.To = addressList(h, "To")
	m.Cc = addressList(h, "Cc")
	if rt := addressList(h, "Reply-To"); len(rt) > 0 {
		m.ReplyTo = rt
	}
	m.Subject = decodeHeader(h.Get("Subject"))
	if d, err := h.Date(); err == nil {
		m.Date = d.UTC()
	}
	if err := walkPart(h, mm.Body, m, 0); err != nil {
		return nil, err
	}
	m.Links = extractLinks(m.Text, m.HTML)
	return m, nil
}

type headerGetter interface{ Get(string) string }

func decodeHeader(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

func addressList(h mail.Header, key string) []string {
	if h.Get(key) == "" {
		return nil
	}
	list, err := h.AddressList(key)
	if err != nil {
		return []string{decodeHeader(h.Get(key))}
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		if a.Name != "" {
			out = append(out, fmt.Sprintf("%s <%s>", a.Name, a.Address))
		} else {
			out = append(out, a.Address)
		}
	}
	return out
}

// walkPart descends a MIME entity and keeps the first text/plain and
// text/html bodies that are not attachments.
func walkPart(h headerGetter, body io.Reader, m *Message, depth int) error {
	if depth > 10 {
		return fmt.Errorf("MIME nesting too deep")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header, p, m, depth+1); err != nil {
				return err
			}
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return nil
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decode %s part: %w", mediaType, err)
	}
	if mediaType == "text/plain" && m.Text == "" {
		m.Text = string(data)
	}
	if mediaType == "text/html" && m.HTML == "" {
		m.HTML = string(data)
	}
	return nil
}

// newlineStripper drops CR and LF so base64 bodies split over lines decode.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		c, err := n.r.Read(p)
		j := 0
		for _, b := range p[:c] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
