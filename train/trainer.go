// Package train fits tweetflow's hashed-feature classifiers from
// shared/data-style TSV files and writes a complete model folder (model.onnx,
// model.yaml, MODEL_CARD.md, lexicons). Training is single-threaded and
// seeded, so a rerun gives the same bytes and the same metrics.
package train

import (
	"math"
	"math/rand/v2"

	"github.com/tweetflow/tweetflow/featurize"
)

// Dataset is featurized examples in flat arrays (one allocation per field,
// not per example): example i's features are idx/val[off[i]:off[i+1]].
type Dataset struct {
	off []int32
	idx []int32
	val []float32
	y   []int32
}

// Len is the number of examples.
func (d *Dataset) Len() int { return len(d.y) }

// Featurize runs the one featurizer over the examples.
func Featurize(fz *featurize.Featurizer, ex []Example) *Dataset {
	d := &Dataset{off: make([]int32, 1, len(ex)+1), y: make([]int32, 0, len(ex))}
	var s featurize.Scratch
	var idx []int64
	var val []float32
	for _, e := range ex {
		idx, val = fz.Featurize(&s, e.Text, idx[:0], val[:0])
		for _, i := range idx {
			d.idx = append(d.idx, int32(i))
		}
		d.val = append(d.val, val...)
		d.off = append(d.off, int32(len(d.idx)))
		d.y = append(d.y, int32(e.Label))
	}
	return d
}

// Hyper are the training hyper-parameters.
type Hyper struct {
	Epochs int     `json:"epochs"`
	LR     float64 `json:"lr"` // AdaGrad base learning rate
	L2     float64 `json:"l2"` // L2 penalty, applied to the weights a step touches
	// ClassWeightPower p weights class c's loss by (N / (C * n_c))^p: 0 is
	// the plain loss, 1 fully balances the classes.
	ClassWeightPower float64 `json:"class_weight_power"`
	Seed             uint64  `json:"seed"`
	// Ensemble trains this many models (seeds Seed, Seed+1, ...) and
	// averages their tables. The model is linear, so the average of K
	// models' logits is itself one table: an ensemble at no inference cost.
	Ensemble int `json:"ensemble,omitempty"`
}

// Linear is the trained model: one row of Classes logit contributions per
// bucket, plus a bias; exactly what the ONNX graph holds.
type Linear struct {
	Buckets, Classes int
	W                []float32 // [Buckets*Classes]
	B                []float32
}

// Fit trains multinomial logistic regression with AdaGrad on d; with
// h.Ensemble > 1 it averages that many differently shuffled runs.
func Fit(d *Dataset, buckets, classes int, h Hyper) *Linear {
	k := max(h.Ensemble, 1)
	var sumW, sumB []float64
	for e := range k {
		hh := h
		hh.Seed = h.Seed + uint64(e)
		w, b := fit(d, buckets, classes, hh)
		if sumW == nil {
			sumW, sumB = w, b
			continue
		}
		for i, v := range w {
			sumW[i] += v
		}
		for i, v := range b {
			sumB[i] += v
		}
	}
	m := &Linear{Buckets: buckets, Classes: classes, W: make([]float32, len(sumW)), B: make([]float32, classes)}
	for i, v := range sumW {
		m.W[i] = float32(v / float64(k))
	}
	for i, v := range sumB {
		m.B[i] = float32(v / float64(k))
	}
	return m
}

func fit(d *Dataset, buckets, classes int, h Hyper) (weights, bias []float64) {
	w := make([]float64, buckets*classes)
	gw := make([]float64, buckets*classes)
	b := make([]float64, classes)
	gb := make([]float64, classes)
	counts := make([]float64, classes)
	for _, y := range d.y {
		counts[y]++
	}
	cw := make([]float64, classes)
	for c := range cw {
		cw[c] = 1
		if counts[c] > 0 {
			cw[c] = math.Pow(float64(d.Len())/(float64(classes)*counts[c]), h.ClassWeightPower)
		}
	}
	order := make([]int, d.Len())
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(h.Seed, h.Seed^0x5DEECE66D))
	z := make([]float64, classes)
	g := make([]float64, classes)
	const eps = 1e-8
	for range h.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			lo, hi := d.off[i], d.off[i+1]
			copy(z, b)
			for k := lo; k < hi; k++ {
				row := int(d.idx[k]) * classes
				v := float64(d.val[k])
				for c := range classes {
					z[c] += w[row+c] * v
				}
			}
			softmax(z)
			y := int(d.y[i])
			for c := range classes {
				g[c] = z[c] * cw[y]
			}
			g[y] -= cw[y]
			for c := range classes {
				gb[c] += g[c] * g[c]
				b[c] -= h.LR * g[c] / math.Sqrt(gb[c]+eps)
			}
			for k := lo; k < hi; k++ {
				row := int(d.idx[k]) * classes
				v := float64(d.val[k])
				for c := range classes {
					grad := g[c]*v + h.L2*w[row+c]
					gw[row+c] += grad * grad
					w[row+c] -= h.LR * grad / math.Sqrt(gw[row+c]+eps)
				}
			}
		}
	}
	return w, b
}

// Probs computes example i's class probabilities into p, in float32 like
// ONNX Runtime does.
func (m *Linear) Probs(d *Dataset, i int, p []float64) {
	for c := range m.Classes {
		p[c] = float64(m.B[c])
	}
	for k := d.off[i]; k < d.off[i+1]; k++ {
		row := int(d.idx[k]) * m.Classes
		v := float64(d.val[k])
		for c := range m.Classes {
			p[c] += float64(m.W[row+c]) * v
		}
	}
	softmax(p)
}

// Predict returns the argmax label of every example.
func (m *Linear) Predict(d *Dataset) []int {
	p := make([]float64, m.Classes)
	out := make([]int, d.Len())
	for i := range out {
		m.Probs(d, i, p)
		out[i] = argmax(p)
	}
	return out
}

// Gold returns the labels of d.
func (d *Dataset) Gold() []int {
	out := make([]int, len(d.y))
	for i, y := range d.y {
		out[i] = int(y)
	}
	return out
}

func softmax(z []float64) {
	mx := z[0]
	for _, v := range z[1:] {
		mx = max(mx, v)
	}
	s := 0.0
	for i, v := range z {
		z[i] = math.Exp(v - mx)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}
