// Package featurize turns a tweet's text into hashed sparse features: word
// unigrams and bigrams, character n-grams of each word, negation-scoped words,
// lexicon features (VADER valence or cuss-list hits) and a few shape features
// (length, punctuation, capitals, emoji). The trainer and the scorer both call
// this one package, so the features seen at training and at inference cannot
// drift apart.
//
// A text becomes a list of (index, weight) pairs: index in [0, Buckets), the
// weight a float32. The ONNX graph gathers one row of a [Buckets, classes]
// table per index, multiplies by the weight and sums, so the featurizer alone
// decides how features are weighted.
//
// The hot path (Featurize) allocates nothing once its Scratch has grown: it
// scans the text once, hashes with an inline FNV-1a and reuses buffers.
package featurize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"path/filepath"
	"strings"
)

// Name is the featurizer name written in model.yaml; Version changes whenever
// the features of a text change, so a model trained with another version is
// refused at load instead of silently scoring garbage.
const (
	Name    = "tweet-hash"
	Version = 1
)

// Config holds the featurizer parameters, as written under featurizer.params
// in model.yaml.
type Config struct {
	// Version must equal the package's Version.
	Version int `json:"version"`
	// Buckets is the hash table size, a power of two.
	Buckets int `json:"buckets"`
	// WordNgrams is 1 (unigrams) or 2 (unigrams and bigrams).
	WordNgrams int `json:"word_ngrams"`
	// CharMin and CharMax bound the character n-grams taken from each word
	// (with < and > boundary marks, as fastText does); CharMax 0 disables them.
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// CharMinWord skips the character n-grams of words shorter than this
	// many bytes: short words are mostly stop words, whose n-grams only
	// repeat the word feature, at a cost in features per tweet.
	CharMinWord int `json:"char_min_word,omitempty"`
	// CharWeight scales the character n-grams against the words (their
	// group norm); below 1 it lets words dominate.
	CharWeight float64 `json:"char_weight"`
	// Negation adds a "negated" copy of the words that follow a negator.
	Negation bool `json:"negation"`
	// VADER and Cuss name lexicon files inside the model folder (empty: not
	// used): the VADER sentiment lexicon and the cuss profanity list.
	VADER string `json:"vader,omitempty"`
	Cuss  string `json:"cuss,omitempty"`
	// MaxTokens caps the tokens read from one text, so a 100 KB text costs
	// no more than a long tweet.
	MaxTokens int `json:"max_tokens"`
}

// DefaultConfig is a sound starting point for tweets.
func DefaultConfig() Config {
	return Config{
		Version:    Version,
		Buckets:    1 << 18,
		WordNgrams: 2,
		CharMin:    3,
		CharMax:    5,
		CharWeight: 1,
		Negation:   true,
		MaxTokens:  160,
	}
}

// Check validates the configuration; errors name the parameter.
func (c *Config) Check() error {
	switch {
	case c.Version != Version:
		return fmt.Errorf("featurizer.params.version: %d, this build implements %d", c.Version, Version)
	case c.Buckets < 64 || c.Buckets > 1<<26 || bits.OnesCount(uint(c.Buckets)) != 1:
		return fmt.Errorf("featurizer.params.buckets: %d is not a power of two in [64, 2^26]", c.Buckets)
	case c.WordNgrams < 1 || c.WordNgrams > 2:
		return fmt.Errorf("featurizer.params.word_ngrams: %d is not 1 or 2", c.WordNgrams)
	case c.CharMax != 0 && (c.CharMin < 1 || c.CharMax < c.CharMin || c.CharMax > maxCharN):
		return fmt.Errorf("featurizer.params.char_min/char_max: [%d, %d] is not a range within [1, %d]", c.CharMin, c.CharMax, maxCharN)
	case c.CharMax != 0 && !(c.CharWeight > 0 && c.CharWeight <= 10):
		return fmt.Errorf("featurizer.params.char_weight: %g is not in (0, 10]", c.CharWeight)
	case c.MaxTokens < 1 || c.MaxTokens > 10000:
		return fmt.Errorf("featurizer.params.max_tokens: %d is not in [1, 10000]", c.MaxTokens)
	}
	for _, file := range []struct{ field, name string }{{"vader", c.VADER}, {"cuss", c.Cuss}} {
		if strings.ContainsAny(file.name, "/\\") || file.name == ".." {
			return fmt.Errorf("featurizer.params.%s: %q must be a file name inside the model folder", file.field, file.name)
		}
	}
	return nil
}

// ConfigFromParams decodes model.yaml's featurizer.params; unknown keys are an
// error (a typo would otherwise silently change the features).
func ConfigFromParams(params map[string]any) (Config, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return Config{}, fmt.Errorf("featurizer.params: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("featurizer.params: %w", err)
	}
	return c, c.Check()
}

// Params is the inverse of ConfigFromParams, for writing model.yaml.
func (c Config) Params() map[string]any {
	b, _ := json.Marshal(c) // a struct of plain fields always marshals
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// Featurizer is immutable after New and safe for concurrent use; each
// goroutine brings its own Scratch.
type Featurizer struct {
	cfg Config
	// shift turns a 64-bit hash into a bucket: (h * golden) >> shift keeps
	// the best-mixed high bits (Fibonacci hashing), one multiply.
	shift uint
	// lex holds both lexicons in one map, so each token costs one lookup.
	lex               map[string]lexEntry
	hasVADER, hasCuss bool
}

// New builds a featurizer. lexiconDir holds cfg.LexiconFile (the model
// folder at inference, the data folder when training).
func New(cfg Config, lexiconDir string) (*Featurizer, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	f := &Featurizer{cfg: cfg, shift: uint(64 - bits.TrailingZeros(uint(cfg.Buckets)))}
	// Sized for VADER (7.5k) plus cuss (1.8k): growing it costs more than
	// reading the files.
	f.lex = make(map[string]lexEntry, 10000)
	if cfg.VADER != "" {
		err := readVADER(filepath.Join(lexiconDir, cfg.VADER), func(k string, v float32) {
			f.lex[k] = lexEntry{valence: v, sure: -1}
		})
		if err != nil {
			return nil, err
		}
		f.hasVADER = true
	}
	if cfg.Cuss != "" {
		cuss, err := LoadCuss(filepath.Join(lexiconDir, cfg.Cuss))
		if err != nil {
			return nil, err
		}
		get := func(k string) lexEntry {
			if e, ok := f.lex[k]; ok {
				return e
			}
			return lexEntry{sure: -1}
		}
		for k, v := range cuss {
			e := get(k)
			e.sure = v
			f.lex[k] = e
			if i := strings.IndexByte(k, ' '); i > 0 {
				e := get(k[:i])
				e.phrase = true
				f.lex[k[:i]] = e
			}
		}
		f.hasCuss = true
	}
	return f, nil
}

// Config returns the configuration.
func (f *Featurizer) Config() Config { return f.cfg }

// Feature namespaces: every feature kind hashes with its own seed so that, for
// example, the word "bad" and the character trigram "bad" land in different
// buckets.
const (
	nsWord uint64 = iota + 1
	nsBigram
	nsChar
	nsNeg
	nsShape
	nsLex
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	maxCharN  = 6
	// maxCharRunes caps the runes of one word used for character n-grams.
	maxCharRunes = 40
)

// hashBytes is FNV-1a over s, seeded by ns. FNV is a few instructions a
// byte; bucket mixes the result once more.
func hashBytes(ns uint64, s []byte) uint64 {
	h := uint64(fnvOffset) ^ nsSeed(ns)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// nsSeed derives a namespace's hash seed (multiplication wraps around).
func nsSeed(ns uint64) uint64 {
	golden := uint64(0x9E3779B97F4A7C15)
	return ns * golden
}

// bucket maps a hash to [0, 2^(64-shift)).
func bucket(h uint64, shift uint) int64 {
	golden := uint64(0x9E3779B97F4A7C15)
	return int64((h * golden) >> shift)
}

// Feature weights of the non-n-gram features. The n-gram features of a text
// are scaled to unit L2 norm per group (words, characters) so that long and
// short tweets are comparable; shape and lexicon features keep fixed weights.
const (
	shapeWeight = 0.5
)

// Featurize appends the features of text to idx and val and returns them.
// It never fails: any byte sequence (invalid UTF-8, control characters,
// megabytes of text) yields some features, at worst only shape features.
func (f *Featurizer) Featurize(s *Scratch, text string, idx []int64, val []float32) ([]int64, []float32) {
	s.reset()
	s.tokenize(text, f.cfg.MaxTokens)

	// Word features: unigrams, bigrams and negated words.
	wordStart := len(idx)
	var prev uint64
	havePrev := false
	negLeft := 0
	for i := range s.toks {
		t := &s.toks[i]
		w := s.text(t)
		h := hashBytes(nsWord, w)
		idx = append(idx, bucket(h, f.shift))
		if f.cfg.WordNgrams >= 2 {
			if havePrev {
				idx = append(idx, bucket(prev*31^h^nsBigram, f.shift))
			}
			prev, havePrev = h, true
		}
		if f.cfg.Negation {
			switch {
			case t.kind == kindPunct:
				negLeft = 0
			case negLeft > 0 && t.kind == kindWord:
				idx = append(idx, bucket(h^nsSeed(nsNeg), f.shift))
				t.negated = true
				negLeft--
			}
			if t.kind == kindWord && isNegator(w) {
				negLeft = 3
			}
		}
	}
	if f.cfg.WordNgrams >= 2 && havePrev && len(s.toks) > 0 {
		// End-of-text marker bigram: the last word is often telling.
		idx = append(idx, bucket(prev*31^0xE0F^nsBigram, f.shift))
	}
	val = appendNorm(val, len(idx)-wordStart, 1)

	// Character n-grams of words.
	if f.cfg.CharMax > 0 {
		charStart := len(idx)
		for i := range s.toks {
			t := &s.toks[i]
			if t.kind != kindWord || int(t.end-t.start) < f.cfg.CharMinWord {
				continue
			}
			idx = appendCharGrams(s.text(t), f.cfg.CharMin, f.cfg.CharMax, f.shift, idx)
		}
		val = appendNorm(val, len(idx)-charStart, float32(f.cfg.CharWeight))
	}

	// Shape features: one-hot bins, fixed weight.
	sh := &s.shape
	idx, val = f.shapeBin(idx, val, 1, bin(len(s.toks), 3, 8, 15, 25, 40))
	idx, val = f.shapeBin(idx, val, 2, bin(sh.exclaim, 1, 2, 4))
	idx, val = f.shapeBin(idx, val, 3, bin(sh.question, 1, 2, 4))
	idx, val = f.shapeBin(idx, val, 4, bin(sh.capsWords, 1, 2, 4))
	idx, val = f.shapeBin(idx, val, 5, bin(sh.mentions, 1, 2, 4))
	idx, val = f.shapeBin(idx, val, 6, bin(sh.hashtags, 1, 2, 4))
	idx, val = f.shapeBin(idx, val, 7, bin(sh.urls, 1))
	idx, val = f.shapeBin(idx, val, 8, bin(sh.emoji, 1, 2, 4))
	idx, val = f.shapeBin(idx, val, 9, bin(sh.elongated, 1, 2))

	if f.hasVADER {
		idx, val = f.vaderFeatures(s, idx, val)
	}
	if f.hasCuss {
		idx, val = f.cussFeatures(s, idx, val)
	}
	return idx, val
}

// appendCharGrams appends the n-grams of "<w>" for n in [CharMin, CharMax],
// taken on rune boundaries.
func appendCharGrams(w []byte, lo, hi int, shift uint, idx []int64) []int64 {
	if isASCII(w) {
		return appendASCIICharGrams(w, lo, hi, shift, idx)
	}
	// Rune start offsets of "<" + w + ">", in a fixed array: no allocation.
	var offs [maxCharRunes + 3]int
	n := 0
	offs[n] = -1 // the "<" mark
	n++
	i := 0
	for i < len(w) && n < maxCharRunes+1 {
		offs[n] = i
		n++
		i += runeLen(w[i])
	}
	end := min(i, len(w)) // longer words are cut after maxCharRunes runes
	offs[n] = end         // the ">" mark
	n++
	offs[n] = end + 1 // sentinel: end of ">"
	for start := 0; start < n; start++ {
		h := uint64(fnvOffset) ^ nsSeed(nsChar)
		for k := 1; k <= hi && start+k <= n; k++ {
			// Hash rune start+k-1.
			a, b := offs[start+k-1], offs[start+k]
			if a < 0 {
				h ^= '<'
				h *= fnvPrime
			} else if a >= end {
				h ^= '>'
				h *= fnvPrime
			} else {
				for j := a; j < b && j < end; j++ {
					h ^= uint64(w[j])
					h *= fnvPrime
				}
			}
			if k >= lo {
				idx = append(idx, bucket(h, shift))
			}
		}
	}
	return idx
}

// appendASCIICharGrams is appendCharGrams for ASCII words (most tweets):
// runes are bytes, so the n-grams are plain byte windows of "<w>", hashed
// byte by byte exactly as the general path does.
func appendASCIICharGrams(w []byte, lo, hi int, shift uint, idx []int64) []int64 {
	var buf [maxCharRunes + 2]byte
	buf[0] = '<'
	n := 1 + copy(buf[1:maxCharRunes+1], w)
	buf[n] = '>'
	n++
	seed := uint64(fnvOffset) ^ nsSeed(nsChar)
	for start := 0; start < n; start++ {
		h := seed
		for k := 0; k < hi && start+k < n; k++ {
			h ^= uint64(buf[start+k])
			h *= fnvPrime
			if k+1 >= lo {
				idx = append(idx, bucket(h, shift))
			}
		}
	}
	return idx
}

func isASCII(w []byte) bool {
	for _, b := range w {
		if b >= 0x80 {
			return false
		}
	}
	return true
}

func runeLen(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	default:
		return 4
	}
}

// appendNorm appends n weights of scale/sqrt(n).
func appendNorm(val []float32, n int, scale float32) []float32 {
	if n == 0 {
		return val
	}
	w := scale / float32(math.Sqrt(float64(n)))
	for range n {
		val = append(val, w)
	}
	return val
}

// bin returns the index of the first bound greater than v, so bin(v, 1, 2)
// is 0 for v<1, 1 for v<2, 2 otherwise.
func bin(v int, bounds ...int) int {
	for i, b := range bounds {
		if v < b {
			return i
		}
	}
	return len(bounds)
}

func (f *Featurizer) shapeBin(idx []int64, val []float32, kind, b int) ([]int64, []float32) {
	h := hashBytes(nsShape, []byte{byte(kind), byte(b)})
	return append(idx, bucket(h, f.shift)), append(val, shapeWeight)
}

func (f *Featurizer) lexFeature(idx []int64, val []float32, kind, b int, w float32) ([]int64, []float32) {
	h := hashBytes(nsLex, []byte{byte(kind), byte(b)})
	return append(idx, bucket(h, f.shift)), append(val, w)
}

// negators start a negation scope (the next three words), as in VADER's
// NEGATE list, reduced to the forms seen in tweets.
func isNegator(w []byte) bool {
	switch string(w) { // no allocation: the compiler compares in place
	case "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "nowhere",
		"cannot", "cant", "can't", "dont", "don't", "didnt", "didn't", "doesnt", "doesn't",
		"isnt", "isn't", "wasnt", "wasn't", "arent", "aren't", "werent", "weren't",
		"wont", "won't", "wouldnt", "wouldn't", "shouldnt", "shouldn't", "couldnt", "couldn't",
		"aint", "ain't", "hasnt", "hasn't", "havent", "haven't", "without":
		return true
	}
	return bytes.HasSuffix(w, []byte("n't"))
}
