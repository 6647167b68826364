// Package kibanatest is the test kit of the Kibana client: a fake Kibana
// serving the saved-objects import and alerting-rule APIs as their
// documentation describes (kbn-xsrf required, rule ids global across
// spaces since 8.0: a second create answers 409, a PUT in another space
// 404; PUT refuses the create-only keys), shared by the kibana package's
// tests and the CLI's.
package kibanatest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/tweetflow/tweetflow/kibana"
)

// Fake is an http.Handler. Its zero value accepts any credentials and
// does not check imported objects.
type Fake struct {
	// Username and Password, when Username is set, are the only basic-auth
	// credentials accepted (401 otherwise).
	Username, Password string
	// Fields, when set, is the index mapping imported objects are checked
	// against (kibana.Check); a failing import answers success false.
	Fields map[string]string

	mu       sync.Mutex
	imported [][]byte
	paths    []string
	rules    map[string]map[string]any // id -> rule (with "_space")
}

// Imported returns the NDJSON bodies imported so far.
func (f *Fake) Imported() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.imported...)
}

// Paths returns "METHOD /path" of every request so far.
func (f *Fake) Paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

// Rules returns the stored rules by id; each carries "_space".
func (f *Fake) Rules() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]map[string]any, len(f.rules))
	for id, r := range f.rules {
		out[id] = maps.Clone(r)
	}
	return out
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[string]map[string]any{}
	}
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	if r.Header.Get("kbn-xsrf") == "" {
		http.Error(w, `{"statusCode":400,"error":"Bad Request","message":"Request must contain a kbn-xsrf header."}`, 400)
		return
	}
	if u, p, ok := r.BasicAuth(); f.Username != "" && (!ok || u != f.Username || p != f.Password) {
		http.Error(w, `{"statusCode":401}`, 401)
		return
	}
	path, space := r.URL.Path, "default"
	if rest, ok := strings.CutPrefix(path, "/s/"); ok {
		space, path, _ = strings.Cut(rest, "/")
		path = "/" + path
	}
	switch {
	case r.Method == "GET" && path == "/api/alerting/rules/_find":
		var data []map[string]any
		for id, rule := range f.rules {
			if rule["_space"] == space {
				data = append(data, map[string]any{"id": id, "name": rule["name"], "tags": rule["tags"]})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"page": 1, "per_page": 100, "total": len(data), "data": data})
	case r.Method == "DELETE" && strings.HasPrefix(path, "/api/alerting/rule/"):
		id := strings.TrimPrefix(path, "/api/alerting/rule/")
		if f.rules[id] == nil || f.rules[id]["_space"] != space {
			http.Error(w, "not found", 404)
			return
		}
		delete(f.rules, id)
		w.WriteHeader(204)
	case r.Method == "POST" && path == "/api/saved_objects/_import":
		if r.URL.Query().Get("overwrite") != "true" {
			http.Error(w, "want overwrite", 400)
			return
		}
		file, hdr, err := r.FormFile("file")
		if err != nil || !strings.HasSuffix(hdr.Filename, ".ndjson") {
			http.Error(w, `{"statusCode":415,"message":"Unsupported file extension"}`, 415)
			return
		}
		b, _ := io.ReadAll(file)
		if f.Fields != nil && kibana.Check(b, f.Fields) != nil {
			w.Write([]byte(`{"success":false,"successCount":0,"errors":[{"id":"x","type":"visualization","error":{"type":"missing_references"}}]}`))
			return
		}
		f.imported = append(f.imported, b)
		n := bytes.Count(b, []byte("\n"))
		json.NewEncoder(w).Encode(map[string]any{"success": true, "successCount": n})
	case strings.HasPrefix(path, "/api/alerting/rule/"):
		id := strings.TrimPrefix(path, "/api/alerting/rule/")
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		switch r.Method {
		case "POST":
			if f.rules[id] != nil {
				http.Error(w, `{"statusCode":409,"error":"Conflict"}`, 409)
				return
			}
			body["_space"] = space
			f.rules[id] = body
		case "PUT":
			for _, k := range []string{"rule_type_id", "consumer", "enabled"} {
				if _, ok := body[k]; ok {
					http.Error(w, `{"statusCode":400,"message":"[request body.`+k+`]: definition for this key is missing"}`, 400)
					return
				}
			}
			if f.rules[id] == nil || f.rules[id]["_space"] != space {
				http.Error(w, "not found", 404)
				return
			}
			for k, v := range body {
				f.rules[id][k] = v
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id})
	default:
		http.Error(w, "no route", 404)
	}
}
