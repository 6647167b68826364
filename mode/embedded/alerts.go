package embedded

import (
	"context"
	"fmt"
	"os"

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
