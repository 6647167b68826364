package model_test

import (
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

func TestViewsOfShippedModels(t *testing.T) {
	r := openRegistry(t, "../models")
	views := r.Views()
	if len(views) != 2 {
		t.Fatalf("views = %+v", views)
	}
	off, sent := views[0], views[1]
	if off.Name != "offense" || off.ShareLabel != "offensive" || off.ValueType != model.TypeFloat || off.Min != 0 || off.Max != 1 ||
		off.Threshold == nil || off.Threshold.Direction != model.Above || off.Description == "" {
		t.Errorf("offense view = %+v", off)
	}
	// A difference model watches no label share.
	if sent.Name != "sentiment" || sent.ShareLabel != "" || sent.Min != -1 || sent.Max != 1 ||
		sent.Threshold == nil || sent.Threshold.Value != -0.25 || sent.Threshold.Direction != model.Below {
		t.Errorf("sentiment view = %+v", sent)
	}
}

// A view's threshold is its own: a caller adjusting it (Kibana's
// overrides) cannot change the spec, nor another view of it.
func TestViewThresholdIsACopy(t *testing.T) {
	s := validSpec()
	v := model.ViewOf(&s)
	v.Threshold.Value = 9
	if s.Threshold.Value != -0.25 || model.ViewOf(&s).Threshold.Value != -0.25 {
		t.Fatalf("changing a view changed the spec: %+v", s.Threshold)
	}
	s.Threshold = nil
	if model.ViewOf(&s).Threshold != nil {
		t.Error("a spec without threshold got one")
	}
}
