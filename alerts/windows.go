package alerts

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// maxModels bounds the models one engine watches: a window remembers which
// models it counted for a tweet in one 64-bit mask (bit 63 = the tweet).
const maxModels = 63

const tweetCounted = uint64(1) << 63

// modelAgg sums one model's values in a window.
type modelAgg struct {
	n            int
	sum, sumSq   float64
	shareMatches int
}

// window is one tumbling event-time window.
type window struct {
	start  time.Time
	n      int
	seen   map[string]uint64 // tweet id -> models counted, so redeliveries count once
	models []modelAgg
	// cut: the stream ended inside this window (Flush), so its tweet count
	// is not a rate and is not checked for anomalies.
	cut bool
}

// baseline is an EWMA of a metric over past windows.
type baseline struct {
	windows     int
	mean, varr  float64 // EWMA mean and variance of the window values
	within      float64 // EWMA of the per-tweet variance inside windows (means only)
	lastAnomDir int     // -1, 0, +1: direction of the last window's anomaly
}

// modelState is what the windower knows of a model.
type modelState struct {
	ModelConfig
	// alerted: a threshold alert was raised; calm counts the checked
	// windows on the normal side since the last window beyond.
	alerted bool
	calm    int
	mean    baseline
	share   baseline
}

// windower runs the tumbling-window checks: thresholds and anomalies.
type windower struct {
	cfg        Config
	models     []*modelState
	index      map[string]int
	open       map[int64]*window // keyed by window number (start / Window)
	rate       baseline
	lastClosed int64 // number of the last closed window; valid when anyClosed
	anyClosed  bool
	late       int

	// Nearly every tweet lands in the window the previous one did, and
	// nearly every advance of the watermark closes nothing: these spare
	// a map look-up per tweet and a walk over the open windows per
	// advance (together 15% of the engine's CPU).
	cur       *window // the window of the last observed tweet, or nil
	curN      int64
	firstOpen int64 // the lowest open window number; valid when open is not empty
	// hint[j] is the model index of the j-th result of the last tweet:
	// results come in the same order tweet after tweet.
	hint []int
	// spare holds closed windows whose seen maps are reused: a map grown
	// to a window's tweets once is not grown again every minute.
	spare []*window
}

// maxSpareSeen bounds the seen map a closed window hands on: clearing a
// map costs its capacity, and a burst window's map is not worth keeping.
const maxSpareSeen = 4096

func newWindower(cfg Config) *windower {
	w := &windower{cfg: cfg, index: map[string]int{}, open: map[int64]*window{}}
	for _, m := range cfg.Models {
		w.addModel(m)
	}
	return w
}

func (w *windower) addModel(m ModelConfig) int {
	w.index[m.Name] = len(w.models)
	w.models = append(w.models, &modelState{ModelConfig: m})
	return len(w.models) - 1
}

func (w *windower) number(t time.Time) int64 {
	ns, size := t.UnixNano(), w.cfg.Window.Nanoseconds()
	n := ns / size
	if ns%size < 0 {
		n-- // floor, for times before 1970
	}
	return n
}

func (w *windower) startOf(n int64) time.Time {
	return time.Unix(0, n*w.cfg.Window.Nanoseconds()).UTC()
}

// observe counts one tweet's results in its window.
func (w *windower) observe(id string, at time.Time, results []resultView) {
	n := w.number(at)
	if w.anyClosed && n <= w.lastClosed {
		w.late++
		return
	}
	win := w.cur
	if win == nil || w.curN != n {
		win = w.open[n]
		if win == nil {
			win = w.newWindow(n)
		}
		w.cur, w.curN = win, n
	}
	mask := win.seen[id]
	if mask&tweetCounted == 0 {
		win.n++
		mask |= tweetCounted
	}
	for j, r := range results {
		i, ok := w.modelIndex(j, r.model)
		if !ok {
			continue
		}
		if mask&(1<<i) != 0 || math.IsNaN(r.value) || math.IsInf(r.value, 0) {
			continue
		}
		mask |= 1 << i
		for len(win.models) <= i {
			win.models = append(win.models, modelAgg{})
		}
		a := &win.models[i]
		a.n++
		a.sum += r.value
		a.sumSq += r.value * r.value
		if sl := w.models[i].ShareLabel; sl != "" && r.label == sl {
			a.shareMatches++
		}
	}
	win.seen[id] = mask
}

// newWindow opens window number n, reusing a spare window's seen map.
func (w *windower) newWindow(n int64) *window {
	var win *window
	if k := len(w.spare); k > 0 {
		win, w.spare = w.spare[k-1], w.spare[:k-1]
		seen := win.seen
		*win = window{seen: seen, models: win.models[:0]}
	} else {
		win = &window{seen: map[string]uint64{}}
	}
	win.start = w.startOf(n)
	if len(w.open) == 0 || n < w.firstOpen {
		w.firstOpen = n
	}
	w.open[n] = win
	return win
}

// modelIndex returns the index of model, the j-th result of a tweet,
// adding the model if it is new and valid.
func (w *windower) modelIndex(j int, model string) (int, bool) {
	if j < len(w.hint) {
		if i := w.hint[j]; w.models[i].Name == model {
			return i, true
		}
	}
	i, ok := w.index[model]
	if !ok {
		if len(w.models) >= maxModels || !event.ValidModelName(model) {
			return 0, false
		}
		i = w.addModel(ModelConfig{Name: model})
	}
	for len(w.hint) <= j {
		w.hint = append(w.hint, i)
	}
	w.hint[j] = i
	return i, true
}

// advance closes, in order, every open window whose end is at or before
// watermark, and returns their alerts.
func (w *windower) advance(watermark time.Time) []event.Alert {
	if len(w.open) == 0 || w.startOf(w.firstOpen+1).After(watermark) {
		return nil // the oldest open window is still open: so are all
	}
	var due []int64
	for n, win := range w.open {
		if !win.start.Add(w.cfg.Window).After(watermark) {
			due = append(due, n)
		}
	}
	return w.close(due)
}

// flush closes every open window (end of stream).
func (w *windower) flush() []event.Alert {
	var due []int64
	for n := range w.open {
		due = append(due, n)
	}
	if len(due) > 0 {
		w.open[slices.Max(due)].cut = true
	}
	return w.close(due)
}

func (w *windower) close(due []int64) []event.Alert {
	slices.Sort(due)
	var out []event.Alert
	for _, n := range due {
		win := w.open[n]
		delete(w.open, n)
		if win == w.cur {
			w.cur = nil
		}
		if w.anyClosed && n-w.lastClosed > int64(w.cfg.Anomaly.GapReset) {
			w.resetBaselines()
		}
		w.lastClosed, w.anyClosed = n, true
		out = append(out, w.check(win)...)
		if len(win.seen) <= maxSpareSeen {
			clear(win.seen)
			w.spare = append(w.spare, win)
		}
	}
	if len(due) > 0 && len(w.open) > 0 {
		w.firstOpen = math.MaxInt64
		for n := range w.open {
			w.firstOpen = min(w.firstOpen, n)
		}
	}
	return out
}

func (w *windower) resetBaselines() {
	w.rate = baseline{}
	for _, m := range w.models {
		m.mean, m.share = baseline{}, baseline{}
	}
}

// check runs a closed window's threshold and anomaly checks.
func (w *windower) check(win *window) []event.Alert {
	var out []event.Alert
	end := win.start.Add(w.cfg.Window)
	if !w.cfg.Anomaly.Disabled && !win.cut {
		// Tweet counts are roughly Poisson: their sampling variance is the mean.
		if a := w.anomaly(&w.rate, float64(win.n), -1, win, "", MetricRate); a != nil {
			out = append(out, *a)
		}
	}
	for i, m := range w.models {
		if i >= len(win.models) || win.models[i].n < w.cfg.MinCount {
			continue
		}
		agg := win.models[i]
		n := float64(agg.n)
		mean := agg.sum / n
		if t := m.Threshold; t != nil {
			// How far the mean is past the line, in standard errors of the
			// mean: a mean of 40 noisy scores crosses a line now and then
			// by chance, which is noise, not a signal.
			past := mean - t.Value
			if t.Direction == "below" {
				past = -past
			}
			se := math.Sqrt(sampleVariance(agg) / n)
			crossed := past > 0
			significant := crossed && (w.cfg.ThresholdZ <= 0 || past > w.cfg.ThresholdZ*se)
			if significant && (!m.alerted || m.calm >= w.cfg.Rearm) {
				msg := fmt.Sprintf("%s: mean %.3f of %d tweets crossed %s the threshold %.3f",
					m.Name, mean, agg.n, t.Direction, t.Value)
				if se > 0 {
					msg += fmt.Sprintf(" by %.1f standard errors", past/se)
				}
				out = append(out, event.Alert{
					ID:   event.AlertID(event.AlertThreshold, MetricMean, win.start, m.Name),
					Kind: event.AlertThreshold, Model: m.Name, Metric: MetricMean,
					WindowStart: win.start, WindowEnd: end,
					Observed: mean, Expected: t.Value, Bound: t.Value, Direction: t.Direction, Count: agg.n,
					Message: msg,
				})
			}
			// A crossing within the noise does not alert, nor does it
			// count as calm: after an alert, a mean hovering at the line
			// does not re-arm.
			switch {
			case significant:
				m.alerted, m.calm = true, 0
			case crossed:
				m.calm = 0
			default:
				m.calm++
			}
		}
		if w.cfg.Anomaly.Disabled {
			continue
		}
		within := math.Max(agg.sumSq/n-mean*mean, 0)
		if a := w.anomaly(&m.mean, mean, within, win, m.Name, MetricMean); a != nil {
			a.Count = agg.n
			out = append(out, *a)
		}
		if m.ShareLabel != "" {
			share := float64(agg.shareMatches) / n
			if a := w.anomaly(&m.share, share, -2, win, m.Name, metricSharePrefix+m.ShareLabel); a != nil {
				a.Count = agg.n
				out = append(out, *a)
			}
		}
	}
	return out
}

// sampleVariance is the unbiased variance of a window's values of one
// model (n >= 2; 0 for fewer).
func sampleVariance(a modelAgg) float64 {
	if a.n < 2 {
		return 0
	}
	n := float64(a.n)
	mean := a.sum / n
	return math.Max(a.sumSq-n*mean*mean, 0) / (n - 1)
}

// anomaly compares x with baseline b, updates b, and returns an alert when
// x is past the bound. within is the per-tweet variance of a mean metric;
// -1 marks a count (Poisson), -2 a proportion (binomial).
//
// The z-score's scale is the larger of the baseline's own spread between
// windows and the sampling noise expected of this window (a mean over few
// tweets is noisy even when nothing happens), so a quiet baseline does not
// turn noise into alerts. Only the first window of a run of anomalies in one
// direction alerts: a lasting shift is one event, not one per minute.
func (w *windower) anomaly(b *baseline, x, within float64, win *window, model, metric string) *event.Alert {
	cfg := w.cfg.Anomaly
	n := float64(win.n)
	if model != "" {
		n = float64(win.models[w.index[model]].n)
	}
	var noise float64
	switch within {
	case -1:
		noise = b.mean // Poisson: variance = mean
	case -2:
		noise = b.mean * (1 - b.mean) / n
	default:
		noise = b.within / n
	}
	var alert *event.Alert
	if b.windows >= cfg.Warmup {
		sigma := math.Sqrt(math.Max(math.Max(b.varr, noise), 1e-9))
		z := (x - b.mean) / sigma
		dir := 0
		if z > cfg.Bound {
			dir = 1
		} else if z < -cfg.Bound {
			dir = -1
		}
		if dir != 0 && dir != b.lastAnomDir {
			direction := "above"
			if dir < 0 {
				direction = "below"
			}
			label := metric
			if model != "" {
				label = model + " " + metric
			}
			var extra []string
			if model != "" {
				extra = append(extra, model)
			}
			alert = &event.Alert{
				ID:   event.AlertID(event.AlertAnomaly, metric, win.start, extra...),
				Kind: event.AlertAnomaly, Model: model, Metric: metric,
				WindowStart: win.start, WindowEnd: win.start.Add(w.cfg.Window),
				Observed: x, Expected: b.mean, Bound: cfg.Bound, Score: z, Direction: direction, Count: win.n,
				Message: fmt.Sprintf("%s %.3f is %.1f sigma %s its baseline %.3f", label, x, math.Abs(z), direction, b.mean),
			}
		}
		b.lastAnomDir = dir
	}
	// EWMA update (West 1979 / Finch 2009 incremental form).
	if b.windows == 0 {
		b.mean, b.varr = x, 0
		if within >= 0 {
			b.within = within
		}
	} else {
		d := x - b.mean
		b.mean += cfg.Alpha * d
		b.varr = (1 - cfg.Alpha) * (b.varr + cfg.Alpha*d*d)
		if within >= 0 {
			b.within += cfg.Alpha * (within - b.within)
		}
	}
	b.windows++
	return alert
}

// resultView is one model result as the engine reads it.
type resultView struct {
	model string
	value float64
	label string
}
