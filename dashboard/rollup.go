package dashboard

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
)

// The rollup: one row per minute of tweet time with the tweet count and, per
// model, the sum and count of its values. Charts over any range read it
// instead of the tweets, so their cost follows the number of minutes shown,
// not the number of tweets (1.6M tweets make at most 1.6M rows, usually far
// fewer).
//
// Triggers on tweets keep it exact at write time: an insert adds the row, an
// update (the sink's merge upsert, a rerun) subtracts the old row and adds
// the new one, a delete subtracts. So reruns and late partial-record
// completions never double count. The cost is one small upsert per stored
// tweet, paid only on databases a dashboard has been opened on (see
// docs/BENCHMARKS.md).
const (
	metaTable    = "dash_meta"
	minuteMillis = 60_000
	hourMillis   = 3_600_000
)

// level is one rollup table: rows per bucket of millis of tweet time.
type level struct {
	table  string
	millis int64
}

// levels are the rollups, finest first. Charts read the coarsest level
// whose bucket divides their interval: a year at 1-day points reads hours
// (8,760 rows), not minutes (525,600).
func levels() []level {
	return []level{{"dash_rollup_minute", minuteMillis}, {"dash_rollup_hour", hourMillis}}
}

// The triggers that keep the rollup current.
const (
	triggerInsert = "dash_rollup_ins"
	triggerUpdate = "dash_rollup_upd"
	triggerDelete = "dash_rollup_del"
)

// valueModels lists the models with value and label columns in tweets.
func valueModels(ctx context.Context, q sqlite.Querier) ([]string, error) {
	cols, err := sqlite.Columns(ctx, q, "tweets")
	if err != nil {
		return nil, err
	}
	if !cols["created_at"] {
		return nil, fmt.Errorf("no tweets table with a created_at column: not a tweetflow store")
	}
	var models []string
	for c := range cols {
		if m, ok := strings.CutSuffix(c, "_value"); ok && event.ValidModelName(m) && cols[m+"_label"] {
			models = append(models, m)
		}
	}
	slices.Sort(models)
	return models, nil
}

// ensureRollup makes the rollup match the tweets table: if it is missing,
// was built for other models, or its total disagrees with the tweets (it
// was dropped, or rows were written by a version without the triggers), it
// is rebuilt and the triggers recreated, in one immediate transaction so
// that no concurrent write is lost or counted twice. It returns the models.
func ensureRollup(ctx context.Context, db *sql.DB) ([]string, error) {
	models, err := valueModels(ctx, db)
	if err != nil {
		return nil, err
	}
	if ok, err := rollupCurrent(ctx, db, models); err != nil {
		return nil, err
	} else if ok {
		return models, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	defer conn.Close()
	// BEGIN IMMEDIATE takes the write lock now: writers wait (busy_timeout)
	// until the rebuild commits, then their triggers update the new rollup.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("rollup: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // best effort after a failure
		}
	}()
	// Read the models again under the lock: a writer may have added one.
	if models, err = valueModels(ctx, conn); err != nil {
		return nil, err
	}
	for _, q := range rebuildSQL(models) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("rollup: rebuild: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, fmt.Errorf("rollup: commit: %w", err)
	}
	committed = true
	return models, nil
}

// rollupCurrent reports whether the rollup exists for exactly models, its
// triggers are in place, and its total equals the number of tweets.
func rollupCurrent(ctx context.Context, db *sql.DB, models []string) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)`,
		triggerInsert, triggerUpdate, triggerDelete).Scan(&n); err != nil {
		return false, fmt.Errorf("rollup: %w", err)
	}
	if n != 3 {
		return false, nil
	}
	var built string
	err := db.QueryRowContext(ctx, "SELECT value FROM "+metaTable+" WHERE key = 'rollup_models'").Scan(&built)
	if err != nil || built != strings.Join(models, ",") {
		return false, nil //nolint:nilerr // no meta table or row yet: rebuild
	}
	var tweets int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tweets").Scan(&tweets); err != nil {
		return false, fmt.Errorf("rollup: count tweets: %w", err)
	}
	for _, l := range levels() {
		var rolled int64
		if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(n), 0) FROM "+l.table).Scan(&rolled); err != nil {
			return false, nil //nolint:nilerr // no rollup table: rebuild
		}
		if rolled != tweets {
			return false, nil
		}
	}
	return true, nil
}

// rebuildSQL returns the statements that recreate the rollups for models.
// Model names are validated identifiers ([a-z][a-z0-9_]*): safe in SQL text.
func rebuildSQL(models []string) []string {
	cols := []string{"bucket INTEGER PRIMARY KEY", "n INTEGER NOT NULL"}
	names := []string{"bucket", "n"}
	upd := []string{"n = n + excluded.n"}
	for _, m := range models {
		cols = append(cols, fmt.Sprintf("s_%s REAL NOT NULL", m), fmt.Sprintf("c_%s INTEGER NOT NULL", m))
		names = append(names, "s_"+m, "c_"+m)
		upd = append(upd, fmt.Sprintf("s_%[1]s = s_%[1]s + excluded.s_%[1]s", m), fmt.Sprintf("c_%[1]s = c_%[1]s + excluded.c_%[1]s", m))
	}
	// rows returns, for every level, the upsert of one tweet row (new or
	// old), signed.
	rows := func(ref, sign string) string {
		var b strings.Builder
		for _, l := range levels() {
			vals := []string{fmt.Sprintf("%s.created_at / %d", ref, l.millis), sign + "1"}
			for _, m := range models {
				vals = append(vals, fmt.Sprintf("%sCOALESCE(%s.%s_value, 0)", sign, ref, m),
					fmt.Sprintf("%s(%s.%s_value IS NOT NULL)", sign, ref, m))
			}
			b.WriteString("INSERT INTO " + l.table + " (" + strings.Join(names, ", ") + ") VALUES (" +
				strings.Join(vals, ", ") + ") ON CONFLICT(bucket) DO UPDATE SET " + strings.Join(upd, ", ") + "; ")
		}
		return b.String()
	}
	var out []string
	for _, t := range []string{triggerInsert, triggerUpdate, triggerDelete} {
		out = append(out, "DROP TRIGGER IF EXISTS "+t)
	}
	for _, l := range levels() {
		sel := []string{fmt.Sprintf("created_at / %d", l.millis), "COUNT(*)"}
		for _, m := range models {
			sel = append(sel, fmt.Sprintf("COALESCE(SUM(%s_value), 0)", m), fmt.Sprintf("COUNT(%s_value)", m))
		}
		out = append(out,
			"DROP TABLE IF EXISTS "+l.table,
			"CREATE TABLE "+l.table+" ("+strings.Join(cols, ", ")+")",
			"INSERT INTO "+l.table+" ("+strings.Join(names, ", ")+") SELECT "+strings.Join(sel, ", ")+
				" FROM tweets GROUP BY 1")
	}
	out = append(out,
		"CREATE TRIGGER "+triggerInsert+" AFTER INSERT ON tweets BEGIN "+rows("new", "")+"END",
		"CREATE TRIGGER "+triggerDelete+" AFTER DELETE ON tweets BEGIN "+rows("old", "-")+"END",
		"CREATE TRIGGER "+triggerUpdate+" AFTER UPDATE ON tweets BEGIN "+rows("old", "-")+rows("new", "")+"END",
		"CREATE TABLE IF NOT EXISTS "+metaTable+" (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
		"INSERT INTO "+metaTable+" (key, value) VALUES ('rollup_models', '"+strings.Join(models, ",")+
			"') ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	)
	return out
}
