package esfake

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pit is an open point in time (point-in-time-api.html): the searchable
// documents of an index as they were when it was opened. Documents are
// never changed in place (a write stores a new *doc), so a copy of the
// searchable map is that view.
type pit struct {
	ix        *index
	docs      map[string]*doc
	expires   time.Time
	keepAlive time.Duration
}

// pitRef is the "pit" object of a search request body.
type pitRef struct {
	ID        string `json:"id"`
	KeepAlive string `json:"keep_alive"`
}

// openPIT handles POST /{index}/_pit?keep_alive=...: keep_alive is
// required; the answer is {"id": ..., "_shards": ...}.
func (s *Server) openPIT(name string, q url.Values) (any, int, *esError) {
	ka := q.Get("keep_alive")
	if ka == "" {
		return nil, 0, errf(400, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is not configured;")
	}
	d, err := parseTimeValue("keep_alive", ka)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return nil, 0, indexNotFound(name)
	}
	s.pitSeq++
	// Real ids are opaque base64; tests must not parse them either.
	id := base64.URLEncoding.EncodeToString([]byte(fmt.Sprintf("esfake-pit-%d-%s", s.pitSeq, name)))
	s.pits[id] = &pit{ix: ix, docs: maps.Clone(ix.searchable), expires: s.now().Add(d), keepAlive: d}
	s.stats.OpenPITs = len(s.pits)
	return map[string]any{"id": id, "_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}}, 200, nil
}

// closePIT handles DELETE /_pit {"id": ...}: 200 with num_freed 1, or 404
// with num_freed 0 for an id that is unknown or expired.
func (s *Server) closePIT(body []byte) (any, int, *esError) {
	var req struct {
		ID string `json:"id"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return nil, 0, err
	}
	if req.ID == "" {
		return nil, 0, errf(400, "action_request_validation_exception", "Validation Failed: 1: no pit ids specified;")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expirePITs()
	if _, ok := s.pits[req.ID]; !ok {
		return map[string]any{"succeeded": true, "num_freed": 0}, 404, nil
	}
	delete(s.pits, req.ID)
	s.stats.OpenPITs = len(s.pits)
	return map[string]any{"succeeded": true, "num_freed": 1}, 200, nil
}

// usePIT returns the open point in time ref names and extends its life by
// the request's keep_alive (each search may do so); the caller holds s.mu.
func (s *Server) usePIT(ref *pitRef) (*pit, *esError) {
	s.expirePITs()
	p := s.pits[ref.ID]
	if p == nil {
		return nil, errf(404, "search_context_missing_exception", "No search context found for id [%s]", ref.ID)
	}
	if ref.KeepAlive != "" {
		d, err := parseTimeValue("keep_alive", ref.KeepAlive)
		if err != nil {
			return nil, err
		}
		p.keepAlive = d
	}
	p.expires = s.now().Add(p.keepAlive)
	return p, nil
}

func (s *Server) expirePITs() {
	now := s.now()
	for id, p := range s.pits {
		if !now.Before(p.expires) {
			delete(s.pits, id)
		}
	}
	s.stats.OpenPITs = len(s.pits)
}

// parseTimeValue parses an Elasticsearch time value (api-conventions.html
// #time-units): an integer and one of d, h, m, s, ms, micros, nanos.
func parseTimeValue(param, v string) (time.Duration, *esError) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			if i, err := strconv.ParseInt(n, 10, 64); err == nil && i >= 0 {
				return time.Duration(i) * u.d, nil
			}
			break
		}
	}
	return 0, errf(400, "illegal_argument_exception", "failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", param, v)
}
