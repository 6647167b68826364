package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tweetflow/tweetflow/event"
)

// DefaultAlertsIndex is the index the alert writer uses by default.
const DefaultAlertsIndex = "tweetflow-alerts"

// AlertMappings maps the fields of event.Alert. dynamic stays true, so a
// field added to event.Alert later is indexed rather than rejected.
func AlertMappings() map[string]any {
	kw := map[string]any{"type": "keyword"}
	num := map[string]any{"type": "double"}
	date := map[string]any{"type": "date"}
	return map[string]any{
		"properties": map[string]any{
			"id": kw, "kind": kw, "model": kw, "metric": kw, "direction": kw,
			"window_start": date, "window_end": date,
			"observed": num, "expected": num, "bound": num, "score": num,
			"count":     map[string]any{"type": "long"},
			"accounts":  kw,
			"tweet_ids": kw,
			"texts":     map[string]any{"type": "text"},
			"message":   map[string]any{"type": "text"},
		},
	}
}

// AlertWriter indexes alerts (the alerts.Writer interface of the alert
// engine) into an Elasticsearch index, with the alert id as document id, so
// a replayed alert overwrites itself instead of duplicating.
type AlertWriter struct {
	es    *elasticsearch.Client
	index string
}

// NewAlertWriter checks the index name and creates the index with its
// mapping if it does not exist (it never deletes).
func NewAlertWriter(ctx context.Context, es *elasticsearch.Client, index string) (*AlertWriter, error) {
	if index == "" {
		index = DefaultAlertsIndex
	}
	if err := ValidateIndexName(index); err != nil {
		return nil, fmt.Errorf("alerts index %q: %w", index, err)
	}
	err := do(ctx, es, http.MethodPut, "/"+index, map[string]any{"mappings": AlertMappings()}, nil)
	var re *ResponseError
	if err != nil && !(errors.As(err, &re) && re.Type == "resource_already_exists_exception") {
		return nil, fmt.Errorf("elasticsearch: create alerts index %s: %w", index, err)
	}
	return &AlertWriter{es: es, index: index}, nil
}

// WriteAlerts indexes the alerts in one bulk request and returns when they
// are stored; a failed item fails the call (naming the alert), so the
// caller can retry: rewriting an alert is harmless.
func (w *AlertWriter) WriteAlerts(ctx context.Context, alerts []event.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	var body bytes.Buffer
	for _, a := range alerts {
		if a.ID == "" {
			return fmt.Errorf("alert without id (kind %s)", a.Kind)
		}
		meta, _ := json.Marshal(map[string]any{"index": map[string]any{"_index": w.index, "_id": a.ID}})
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
		body.Write(meta)
		body.WriteByte('\n')
		body.Write(doc)
		body.WriteByte('\n')
	}
	res, err := w.es.Bulk(bytes.NewReader(body.Bytes()), w.es.Bulk.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("alerts: bulk: %w", err)
	}
	defer drain(res.Body)
	if res.IsError() {
		return fmt.Errorf("alerts: bulk: %s", responseError(res))
	}
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			ID     string `json:"_id"`
			Status int    `json:"status"`
			Error  struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("alerts: bulk answer: %w", err)
	}
	if len(out.Items) != len(alerts) {
		return fmt.Errorf("alerts: bulk answered %d items for %d alerts", len(out.Items), len(alerts))
	}
	var errs []error
	for i, it := range out.Items {
		for _, r := range it {
			if r.Status > 201 {
				errs = append(errs, fmt.Errorf("alert %s: status %d: %s: %s", alerts[i].ID, r.Status, r.Error.Type, r.Error.Reason))
			}
		}
	}
	return errors.Join(errs...)
}
