// Package dashboard is tweetflow's local web dashboard over the embedded
// SQLite store: the Kibana panels (total count, each model's average per
// interval with its threshold line, tweets per interval), a time-range
// picker, live updates while a replay runs, a search over tweets by text or
// user, filtered by hashtag, link, language and account, with their scores
// and what each retweets, quotes or replies to, and the alerts list.
//
// Everything it serves is in the binary (embed.FS): no CDN, no network. The
// page is small hand-written JavaScript drawing SVG charts; it polls the JSON
// API below every few seconds.
//
//	GET /api/overview?from=&to=             count, extent, models, series
//	GET /api/search?q=&user=&hashtag=&url=&lang=&account=&from=&to=&limit=
//	GET /api/alerts?from=&to=&kind=&limit=
//	GET /api/network?alert=ID                      a coordination alert's account network
//
// Times are RFC 3339 or Unix milliseconds; every parameter is validated and
// every value reaches SQL as a parameter.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/model"
)

//go:embed assets
var assets embed.FS

// ModelInfo is what the page shows of a model (from its model.yaml), as
// the page's JSON has it.
type ModelInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Min         float64  `json:"min"`
	Max         float64  `json:"max"`
	Threshold   *float64 `json:"threshold,omitempty"`
	Direction   string   `json:"direction,omitempty"`
}

// Options configure the server.
type Options struct {
	// Models describes the models (the registry's views, model.Views);
	// models found in the store but not listed are shown without a
	// threshold, on their observed range.
	Models []model.View
	// Poll is how often the page refreshes (default 2s).
	Poll time.Duration
	// SearchBudget bounds one search request's scanning (default 80ms).
	SearchBudget time.Duration
	// Log receives request errors; nil discards.
	Log *slog.Logger
}

// Server serves the page and its API.
type Server struct {
	store  *Store
	alerts *alertstore.Store
	opts   Options
	mux    *http.ServeMux
}

// Limits on query parameters.
const (
	maxSearchRunes = 200
	maxUserRunes   = 100
	maxLimit       = 200
	requestTimeout = 10 * time.Second
)

// New returns the dashboard's handler.
func New(store *Store, alerts *alertstore.Store, opts Options) (*Server, error) {
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.SearchBudget <= 0 {
		opts.SearchBudget = 80 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard: assets: %w", err)
	}
	s := &Server{store: store, alerts: alerts, opts: opts, mux: http.NewServeMux()}
	s.mux.Handle("GET /", http.FileServerFS(static))
	s.mux.HandleFunc("GET /api/overview", s.api(s.overview))
	s.mux.HandleFunc("GET /api/search", s.api(s.search))
	s.mux.HandleFunc("GET /api/alerts", s.api(s.listAlerts))
	s.mux.HandleFunc("GET /api/network", s.api(s.network)) // network.go
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'")
	s.mux.ServeHTTP(w, r)
}

// badRequest is a parameter error: answered 400 with its message.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badParam(name, format string, a ...any) error {
	return &badRequest{name + ": " + fmt.Sprintf(format, a...)}
}

func (s *Server) api(h func(ctx context.Context, q queryParams) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		v, err := h(ctx, queryParams{r.URL.Query()})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			code := http.StatusInternalServerError
			var br *badRequest
			if errors.As(err, &br) {
				code = http.StatusBadRequest
			} else {
				s.opts.Log.Error("dashboard request", "path", r.URL.Path, "err", err)
			}
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()}) //nolint:errcheck // client gone
			return
		}
		json.NewEncoder(w).Encode(v) //nolint:errcheck // client gone
	}
}

type queryParams struct{ v map[string][]string }

func (q queryParams) get(name string) (string, bool) {
	vs, ok := q.v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// Times outside 1970..2200 are certainly typos; they would also overflow
// the millisecond arithmetic of the rollup.
const (
	minMillis = 0
	maxMillis = 7_258_118_400_000 // 2200-01-01T00:00:00Z
)

func (q queryParams) time(name string) (time.Time, bool, error) {
	s, ok := q.get(name)
	if !ok || s == "" {
		return time.Time{}, false, nil
	}
	var t time.Time
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t = time.UnixMilli(ms).UTC()
	} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return t, false, badParam(name, "%q is neither RFC 3339 nor Unix milliseconds", clip(s, 40))
	}
	if ms := t.UnixMilli(); ms < minMillis || ms >= maxMillis {
		return t, false, badParam(name, "%s is outside 1970..2200", t.Format(time.RFC3339))
	}
	return t, true, nil
}

func (q queryParams) text(name string, maxRunes int) (string, error) {
	s, _ := q.get(name)
	switch {
	case !utf8.ValidString(s):
		return "", badParam(name, "not valid UTF-8")
	case utf8.RuneCountInString(s) > maxRunes:
		return "", badParam(name, "longer than %d characters", maxRunes)
	case strings.ContainsRune(s, 0):
		return "", badParam(name, "contains a NUL character")
	}
	return strings.TrimSpace(s), nil
}

func (q queryParams) limit(def int) (int, error) {
	s, ok := q.get("limit")
	if !ok || s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badParam("limit", "%q is not a number in 1..%d", clip(s, 20), maxLimit)
	}
	return n, nil
}

// timeRange reads from and to; a missing side is the data's extent. ok is
// false when the store is empty and no range was given.
func (s *Server) timeRange(ctx context.Context, q queryParams) (from, to time.Time, err error) {
	from, hasFrom, err := q.time("from")
	if err != nil {
		return from, to, err
	}
	to, hasTo, err := q.time("to")
	if err != nil {
		return from, to, err
	}
	if !hasFrom || !hasTo {
		first, last, ok, err := s.store.Extent(ctx)
		if err != nil {
			return from, to, err
		}
		if !ok {
			first, last = time.Now().UTC().Add(-time.Hour), time.Now().UTC()
		}
		if !hasFrom {
			from = first
		}
		if !hasTo {
			to = last.Add(time.Millisecond) // [from, to) includes the newest tweet
		}
	}
	if !from.Before(to) {
		return from, to, badParam("to", "%s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}

// Overview is the data of every panel but search and alerts.
type Overview struct {
	Count  int64       `json:"count"`
	First  *int64      `json:"first,omitempty"` // extent of the whole store
	Last   *int64      `json:"last,omitempty"`
	From   int64       `json:"from"`
	To     int64       `json:"to"`
	Models []ModelInfo `json:"models"`
	Series Series      `json:"series"`
	PollMs int64       `json:"poll_ms"`
	Alerts int         `json:"alerts"`
}

func (s *Server) overview(ctx context.Context, q queryParams) (any, error) {
	from, to, err := s.timeRange(ctx, q)
	if err != nil {
		return nil, err
	}
	series, err := s.store.Series(ctx, from, to)
	if err != nil {
		return nil, err
	}
	count, err := s.store.Count(ctx, from, to)
	if err != nil {
		return nil, err
	}
	ov := Overview{Count: count, From: from.UnixMilli(), To: to.UnixMilli(), Series: series,
		PollMs: s.opts.Poll.Milliseconds(), Models: s.models()}
	if first, last, ok, err := s.store.Extent(ctx); err != nil {
		return nil, err
	} else if ok {
		f, l := first.UnixMilli(), last.UnixMilli()
		ov.First, ov.Last = &f, &l
	}
	if s.alerts != nil {
		counts, err := s.alerts.Counts(ctx)
		if err != nil {
			return nil, err
		}
		for _, n := range counts {
			ov.Alerts += n
		}
	}
	return ov, nil
}

// models merges the configured model infos with the store's models.
func (s *Server) models() []ModelInfo {
	byName := map[string]ModelInfo{}
	for _, v := range s.opts.Models {
		m := ModelInfo{Name: v.Name, Description: v.Description, Min: v.Min, Max: v.Max}
		if t := v.Threshold; t != nil {
			value := t.Value
			m.Threshold, m.Direction = &value, t.Direction
		}
		byName[m.Name] = m
	}
	var out []ModelInfo
	for _, name := range s.store.Models() {
		m, ok := byName[name]
		if !ok {
			m = ModelInfo{Name: name}
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) search(ctx context.Context, q queryParams) (any, error) {
	text, err := q.text("q", maxSearchRunes)
	if err != nil {
		return nil, err
	}
	user, err := q.text("user", maxUserRunes)
	if err != nil {
		return nil, err
	}
	user = strings.TrimPrefix(user, "@")
	sq := SearchQuery{Text: text, User: user}
	// The filters (#10): a URL can be long; the others are short.
	for _, f := range []struct {
		name string
		max  int
		dst  *string
		trim string
	}{
		{"hashtag", maxUserRunes, &sq.Hashtag, "#"}, {"url", maxSearchRunes * 10, &sq.URL, ""},
		{"lang", 35, &sq.Lang, ""}, {"account", maxUserRunes, &sq.Account, "@"},
	} {
		v, err := q.text(f.name, f.max)
		if err != nil {
			return nil, err
		}
		*f.dst = strings.TrimPrefix(strings.TrimSpace(v), f.trim)
	}
	if sq == (SearchQuery{}) {
		return nil, badParam("q", "give a text to search for, a user, or a filter (hashtag, url, lang, account)")
	}
	limit, err := q.limit(50)
	if err != nil {
		return nil, err
	}
	from, to, err := s.timeRange(ctx, q)
	if err != nil {
		return nil, err
	}
	sq.From, sq.To, sq.Limit = from, to, limit
	return s.store.Search(ctx, sq, s.opts.SearchBudget)
}

func (s *Server) listAlerts(ctx context.Context, q queryParams) (any, error) {
	f := alertstore.Filter{}
	var err error
	if f.From, _, err = q.time("from"); err != nil {
		return nil, err
	}
	if f.To, _, err = q.time("to"); err != nil {
		return nil, err
	}
	if kind, _ := q.get("kind"); kind != "" {
		if event.AlertType(kind) == "" {
			return nil, badParam("kind", "%q is not one of threshold, anomaly, coordination", clip(kind, 30))
		}
		f.Kind = kind
	}
	if f.Limit, err = q.limit(100); err != nil {
		return nil, err
	}
	if s.alerts == nil {
		return map[string]any{"alerts": []event.Alert{}}, nil
	}
	as, err := s.alerts.List(ctx, f)
	if err != nil {
		return nil, err
	}
	if as == nil {
		as = []event.Alert{}
	}
	return map[string]any{"alerts": as}, nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ListenAndServe serves h on addr until ctx is cancelled, then drains
// in-flight requests for up to 5 s. ready, if not nil, receives the bound
// address (useful with port 0).
func ListenAndServe(ctx context.Context, addr string, h http.Handler, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("dashboard: shutdown: %w", err)
	}
	return nil
}
