package ses

import (
	"encoding/json"
	"html/template"
	"net/http"
	"os"
	"strings"
)

// PageHandler serves the outbox:
//
//	GET    /                    HTML page, newest message first, with links
//	GET    /messages            JSON list of Message, newest first
//	DELETE /messages            delete every message
//	GET    /messages/{id}       JSON of one Message
//	GET    /messages/{id}.eml   the raw .eml file (message/rfc822)
//	GET    /_control/faults     the fault switches (Faults)
//	POST   /_control/faults     set them: {"throttle":N,"reject":["a@b"],"off":true}
func (o *Outbox) PageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", o.servePage)
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, o.Messages())
	})
	mux.HandleFunc("DELETE /messages", func(w http.ResponseWriter, r *http.Request) {
		if err := o.Clear(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /messages/{file}", o.serveMessage)
	mux.HandleFunc("GET /_control/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, o.faults())
	})
	mux.HandleFunc("POST /_control/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, "body must be JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if f.Off {
			o.ClearFaults()
		}
		if f.Throttle > 0 {
			o.ThrottleNext(f.Throttle)
		}
		for _, a := range f.Reject {
			o.Reject(a)
		}
		writeJSON(w, http.StatusOK, o.faults())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (o *Outbox) find(id string) (Message, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.messages {
		if m.ID == id {
			return *m, true
		}
	}
	return Message{}, false
}

func (o *Outbox) serveMessage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	id, raw := strings.CutSuffix(name, ".eml")
	m, ok := o.find(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !raw {
		writeJSON(w, http.StatusOK, m)
		return
	}
	data, err := os.ReadFile(m.File)
	if err != nil {
		http.Error(w, "message file is gone: "+err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Disposition", `inline; filename="`+id+`.eml"`)
	_, _ = w.Write(data)
}

var pageTemplate = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Local outbox</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: .5rem; text-align: left; vertical-align: top; }
ul { margin: 0; padding-left: 1.2rem; }
</style>
</head>
<body>
<h1>Local outbox</h1>
<p>Messages sent through the local SES, newest first. Folder: <code>{{.Dir}}</code>.
JSON: <a href="/messages">/messages</a>.</p>
{{if .Messages}}
<table>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Links</th><th scope="col">File</th></tr></thead>
<tbody>
{{range .Messages}}
<tr>
<td>{{.Date.Format "2006-01-02 15:04:05"}}</td>
<td>{{range $i, $a := .To}}{{if $i}}, {{end}}{{$a}}{{end}}</td>
<td><a href="/messages/{{.ID}}">{{.Subject}}</a></td>
<td>{{if .Links}}<ul>{{range .Links}}<li><a href="{{.}}">{{.}}</a></li>{{end}}</ul>{{end}}</td>
<td><a href="/messages/{{.ID}}.eml">.eml</a></td>
</tr>
{{end}}
</tbody>
</table>
{{else}}
<p>No messages yet.</p>
{{end}}
</body>
</html>
`))

func (o *Outbox) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTemplate.Execute(w, struct {
		Dir      string
		Messages []Message
	}{o.dir, o.Messages()})
}
