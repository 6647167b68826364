package alerts

import (
	"math"
	"time"
)

// docFreq counts, per content token, the recent original tweets that used
// it, so the long near-copy windows can weigh shared words by how rare
// they are (inverse document frequency): over an hour, chance groups are
// made of common phrases ("sorry to hear about", "good morning"), a
// campaign of the words it pushes. The counts are a count-min sketch (two
// rows of hashed cells, the smaller count wins), so memory is fixed
// whatever the vocabulary: a collision can only make a token look more
// common than it is, that is weigh less. Every HalfLife of event time all
// counts halve, so the weights follow what is being said now.
type docFreq struct {
	rows      [2][]float32
	n         float32 // tweets counted, halved with the cells
	halfLife  int64   // ns
	nextHalve int64   // Unix ns; 0 before the first tweet
}

// docFreqBits sizes the sketch: 2 x 2^16 cells of 4 bytes (512 KiB, in
// cache). At the bench's 4.6 tweets/s a cell holds about 3 tokens' counts
// of chance collisions per half-life; at 50,000 tweets/s about 30,000 of
// ~270 million tweets, which still leaves a rare token weighing twice a
// common one.
const docFreqBits = 16

func newDocFreq(halfLife time.Duration) *docFreq {
	d := &docFreq{halfLife: int64(halfLife)}
	for i := range d.rows {
		d.rows[i] = make([]float32, 1<<docFreqBits)
	}
	return d
}

// cells returns the two cells of token h. FNV-1a's low bits are weak: a
// multiply spreads them before the top bits are taken.
func cells(h uint64) (int, int) {
	return int((h * 0x9e3779b97f4a7c15) >> (64 - docFreqBits)), int((h * 0xc2b2ae3d27d4eb4f) >> (64 - docFreqBits))
}

// add counts one tweet with the given distinct tokens at event time atNs.
func (d *docFreq) add(tokens []uint64, atNs int64) {
	d.decay(atNs)
	d.n++
	for _, h := range tokens {
		i, j := cells(h)
		d.rows[0][i]++
		d.rows[1][j]++
	}
}

// decay halves every count for each half-life passed since the last.
func (d *docFreq) decay(atNs int64) {
	if d.nextHalve == 0 {
		d.nextHalve = atNs + d.halfLife
		return
	}
	if atNs < d.nextHalve {
		return
	}
	halvings := 1 + (atNs-d.nextHalve)/d.halfLife
	d.nextHalve += halvings * d.halfLife
	f := float32(math.Pow(0.5, float64(min(halvings, 64))))
	for _, r := range d.rows {
		for i := range r {
			r[i] *= f
		}
	}
	d.n *= f
}

// weight is token h's inverse document frequency, ln((n+1)/(df+1)): 0 for
// a token in every tweet, about ln(n) for one never seen.
func (d *docFreq) weight(h uint64) float32 {
	i, j := cells(h)
	df := min(d.rows[0][i], d.rows[1][j])
	return float32(math.Log(float64(d.n+1) / float64(df+1)))
}

// rareWeight is the weight of a token never seen, ln(n+1).
func (d *docFreq) rareWeight() float64 { return math.Log(float64(d.n + 1)) }

// weights appends to dst the weight of each token and returns it with
// their sum.
func (d *docFreq) weights(dst []float32, tokens []uint64) ([]float32, float32) {
	var sum float32
	for _, h := range tokens {
		w := d.weight(h)
		dst = append(dst, w)
		sum += w
	}
	return dst, sum
}

// weightedIntersection is the summed weight, by b's weights bw, of the
// tokens in both sorted sets a and b.
func weightedIntersection(a, b []uint64, bw []float32) float32 {
	var inter float32
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch x, y := a[i], b[j]; {
		case x < y:
			i++
		case y < x:
			j++
		default:
			inter += bw[j]
			i++
			j++
		}
	}
	return inter
}

// weightedSim is the weighted Jaccard similarity of representative r
// (summed weight rInfo when it became one) and tweet t, by t's weights:
// the weight of the shared tokens over that of all tokens of either.
func (c *coordinator) weightedSim(r []uint64, rInfo float32, t *coordTweet) float64 {
	if lo, hi := min(rInfo, t.info), max(rInfo, t.info); hi <= 0 || float64(lo/hi) < c.minSim {
		return 0 // at most the ratio of the weights: cannot reach minSim
	}
	in := weightedIntersection(r, t.tokens, t.weights)
	return float64(in / (rInfo + t.info - in))
}

// weightedPrefix is prefix filtering over weights: the tokens in order of
// decreasing weight (the rarest first) up to the one after which the
// remaining weight is below LooseSimilarity of the whole. Two sets as
// similar as that share one of these tokens when both were weighed alike;
// the weights drift slowly with the counts, so this is nearly exact
// rather than exact. The common words are left out of the index, so a
// long window's posting lists stay short.
func (c *coordinator) weightedPrefix(tokens []uint64, weights []float32, info float32) []uint64 {
	o := c.rareOrder(tokens, weights)
	c.pfx = c.pfx[:0]
	rest, floor := info, float32(c.cfg.LooseSimilarity)*info
	for _, i := range o {
		if rest < floor && len(c.pfx) > 0 {
			break
		}
		c.pfx = append(c.pfx, tokens[i])
		rest -= weights[i]
	}
	return c.pfx
}

// rarestFirst returns tokens in order of decreasing weight.
func (c *coordinator) rarestFirst(tokens []uint64, weights []float32) []uint64 {
	c.pfx = c.pfx[:0]
	for _, i := range c.rareOrder(tokens, weights) {
		c.pfx = append(c.pfx, tokens[i])
	}
	return c.pfx
}

// rareOrder returns the indexes of tokens in order of decreasing weight
// (ties by token).
func (c *coordinator) rareOrder(tokens []uint64, weights []float32) []int {
	c.order = c.order[:0]
	for i := range tokens {
		c.order = append(c.order, i)
	}
	o := c.order
	for i := 1; i < len(o); i++ { // insertion sort: tens of tokens
		for j := i; j > 0 && (weights[o[j]] > weights[o[j-1]] || weights[o[j]] == weights[o[j-1]] && tokens[o[j]] < tokens[o[j-1]]); j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
	return o
}
