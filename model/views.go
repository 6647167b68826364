package model

// View is what every part of tweetflow downstream of the scorer needs to
// know of a model: the stores (its name and value type: SQLite columns, the
// Elasticsearch mapping), Kibana and the local dashboard (description,
// range, reference line) and the alert engine (reference line, watched
// label). It is derived from the spec in one place, Views, so they cannot
// disagree; elastic.Model, kibana.Model and alerts.ModelConfig are this
// type.
type View struct {
	Name        string
	Description string
	// ValueType is the spec's value.type: float, integer or keyword.
	ValueType string
	// Min and Max bound the value (axes).
	Min, Max float64
	// Threshold is the reference line and default alert bound; nil for
	// none. Each View holds its own copy, so a caller may change it.
	Threshold *ThresholdSpec
	// ShareLabel, when set, is the label whose share of tweets the alert
	// engine watches: the positive label of a probability model (for
	// offense, "offensive").
	ShareLabel string
}

// ViewOf returns the view of one spec.
func ViewOf(s *Spec) View {
	v := View{Name: s.Name, Description: s.Description, ValueType: s.Value.Type, Min: s.Value.Min, Max: s.Value.Max}
	if s.Threshold != nil {
		t := *s.Threshold
		v.Threshold = &t
	}
	if s.Value.Derive == DeriveProbability {
		v.ShareLabel = s.Value.Positive
	}
	return v
}

// Views returns the view of each spec, in order.
func Views(specs []*Spec) []View {
	out := make([]View, len(specs))
	for i, s := range specs {
		out[i] = ViewOf(s)
	}
	return out
}

// Views returns the view of every model in the registry, in Specs' order.
func (r *Registry) Views() []View { return Views(r.specs) }
