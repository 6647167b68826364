package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
)

// ListAlerts reads the alerts that a run stored in the SQLite file at db,
// filtered by f.
func ListAlerts(ctx context.Context, db string, f alertstore.Filter) ([]event.Alert, error) {
	if _, err := os.Stat(db); err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close(context.Background())
	as, err := alertstore.Open(ctx, st.DB())
	if err != nil {
		return nil, err
	}
	return as.List(ctx, f)
}

// WriteAlerts writes list for people (a table: window start, kind, what,
// message) or, with asJSON, one JSON object per line (the alert event's
// data), for `tweetflow alerts`.
func WriteAlerts(w io.Writer, list []event.Alert, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, a := range list {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW START (UTC)\tKIND\tWHAT\tMESSAGE")
	for _, a := range list {
		what := a.Metric
		if a.Model != "" {
			what = a.Model + " " + a.Metric
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.WindowStart.UTC().Format("2006-01-02 15:04:05"), a.Kind, what, a.Message)
	}
	return tw.Flush()
}
