// Package store keeps alerts in the SQLite file of the embedded store, in
// table alerts: one row per alert id (upserted, so a replay that raises the
// same alerts again changes nothing), indexed by window start. The full
// alert is kept as JSON; the columns a listing filters or sorts on are
// copied out.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
)

// Store reads and writes the alerts table. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

var _ alerts.Writer = (*Store)(nil)

// Open creates the alerts table in db if needed. db is usually the sink's
// own handle (sqlite.Store.DB()), so alerts and tweets share one file.
func Open(ctx context.Context, db *sql.DB) (*Store, error) {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS alerts (
			id TEXT PRIMARY KEY,
			kind TEXT NOT NULL,
			model TEXT NOT NULL DEFAULT '',
			metric TEXT NOT NULL,
			window_start INTEGER NOT NULL,
			window_end INTEGER NOT NULL,
			observed REAL NOT NULL,
			score REAL NOT NULL DEFAULT 0,
			message TEXT NOT NULL,
			data TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS alerts_window_start ON alerts(window_start)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("alerts table: %w", err)
		}
	}
	return &Store{db: db}, nil
}

// WriteAlerts upserts alerts in one transaction. An invalid alert fails the
// call, naming it, and nothing is written.
func (s *Store) WriteAlerts(ctx context.Context, as []event.Alert) error {
	if len(as) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alerts: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	st, err := tx.PrepareContext(ctx, `INSERT INTO alerts
		(id, kind, model, metric, window_start, window_end, observed, score, message, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, model = excluded.model, metric = excluded.metric,
			window_start = excluded.window_start, window_end = excluded.window_end, observed = excluded.observed,
			score = excluded.score, message = excluded.message, data = excluded.data`)
	if err != nil {
		return fmt.Errorf("alerts: prepare: %w", err)
	}
	defer st.Close()
	for _, a := range as {
		if err := a.Validate(a.ID); err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		data, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("alerts: alert %s: encode: %w", a.ID, err)
		}
		if _, err := st.ExecContext(ctx, a.ID, a.Kind, a.Model, a.Metric, a.WindowStart.UnixMilli(),
			a.WindowEnd.UnixMilli(), a.Observed, a.Score, a.Message, string(data)); err != nil {
			return fmt.Errorf("alerts: alert %s: %w", a.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alerts: commit: %w", err)
	}
	return nil
}

// Filter selects alerts for List. Zero fields match everything.
type Filter struct {
	// From and To bound the window start, [From, To).
	From, To time.Time
	// Kind is one of event.AlertThreshold, AlertAnomaly, AlertCoordination.
	Kind string
	// Limit caps the result (default 100, at most 10,000).
	Limit int
}

// List returns the alerts matching f, newest window first.
func (s *Store) List(ctx context.Context, f Filter) ([]event.Alert, error) {
	var conds []string
	var args []any
	if !f.From.IsZero() {
		conds, args = append(conds, "window_start >= ?"), append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "window_start < ?"), append(args, f.To.UnixMilli())
	}
	if f.Kind != "" {
		if event.AlertType(f.Kind) == "" {
			return nil, fmt.Errorf("alerts: kind %q is not one of threshold, anomaly, coordination", f.Kind)
		}
		conds, args = append(conds, "kind = ?"), append(args, f.Kind)
	}
	where := "1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10_000)
	rows, err := s.db.QueryContext(ctx, "SELECT id, data FROM alerts WHERE "+where+
		" ORDER BY window_start DESC, id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("alerts: list: %w", err)
	}
	defer rows.Close()
	var out []event.Alert
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("alerts: list: %w", err)
		}
		var a event.Alert
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return nil, fmt.Errorf("alerts: alert %s: stored data: %w", id, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: list: %w", err)
	}
	return out, nil
}

// Counts returns the number of stored alerts per kind.
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT kind, COUNT(*) FROM alerts GROUP BY kind")
	if err != nil {
		return nil, fmt.Errorf("alerts: count: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("alerts: count: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}
