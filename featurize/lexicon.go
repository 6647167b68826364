package featurize

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// readVADER calls fn for each entry of a VADER lexicon file: lines
// token<TAB>mean<TAB>std<TAB>ratings, mean in [-4, 4]. Errors name
// file:line.
func readVADER(path string, fn func(token string, v float32)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("vader lexicon: %w", err)
	}
	n := 0
	for line, text := range strings.Split(string(b), "\n") {
		text = strings.TrimSuffix(text, "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		token, rest, ok := strings.Cut(text, "\t")
		if !ok {
			return fmt.Errorf("%s:%d: want token<TAB>mean, found no TAB", path, line+1)
		}
		mean, _, _ := strings.Cut(rest, "\t")
		v, err := strconv.ParseFloat(mean, 32)
		if err != nil || v < -4 || v > 4 || math.IsNaN(v) {
			return fmt.Errorf("%s:%d: mean %q is not a number in [-4, 4]", path, line+1, mean)
		}
		fn(token, float32(v))
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: empty lexicon", path)
	}
	return nil
}

// LoadCuss reads the cuss list: a JSON object from word or phrase to its
// sureness 0 (maybe), 1 (likely) or 2 (certainly).
func LoadCuss(path string) (map[string]int8, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cuss lexicon: %w", err)
	}
	var raw map[string]int
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: empty lexicon", path)
	}
	m := make(map[string]int8, len(raw))
	for k, v := range raw {
		if v < 0 || v > 2 {
			return nil, fmt.Errorf("%s: entry %q: sureness %d is not 0, 1 or 2", path, k, v)
		}
		m[strings.ToLower(k)] = int8(v)
	}
	return m, nil
}

// lexEntry is a token's entry in the merged lexicons.
type lexEntry struct {
	valence float32 // VADER mean valence (-4..4), 0 if not in VADER
	sure    int8    // cuss sureness 0..2, -1 if not a cuss entry
	phrase  bool    // first word of a multi-word cuss entry
}

// VADER constants (Hutto & Gilbert 2014, vaderSentiment): a negated word's
// valence is scaled by -0.74, a word in capitals gains 0.733, and the
// compound score is x/sqrt(x²+15).
const (
	vaderNegScale = -0.74
	vaderCapsIncr = 0.733
	vaderAlpha    = 15
)

// vaderFeatures adds features from the VADER valence of the tokens: the
// positive and negative sums (squashed), the compound score (as a continuous
// feature and one-hot bins) and the counts of positive and negative words.
func (f *Featurizer) vaderFeatures(s *Scratch, idx []int64, val []float32) ([]int64, []float32) {
	// "but" shifts the weight to what follows it, as in VADER.
	butAt := -1
	for i := range s.toks {
		if t := &s.toks[i]; t.kind == kindWord && string(s.text(t)) == "but" {
			butAt = i
		}
	}
	var pos, neg float64
	nPos, nNeg := 0, 0
	for i := range s.toks {
		t := &s.toks[i]
		if t.kind == kindPunct || t.kind == kindURL {
			continue
		}
		e, ok := f.lex[string(s.text(t))]
		if !ok || e.valence == 0 {
			continue
		}
		x := float64(e.valence)
		if t.caps {
			x += math.Copysign(vaderCapsIncr, x)
		}
		if t.negated {
			x *= vaderNegScale
		}
		switch {
		case butAt < 0:
		case i < butAt:
			x *= 0.5
		case i > butAt:
			x *= 1.5
		}
		if x > 0 {
			pos += x
			nPos++
		} else {
			neg -= x
			nNeg++
		}
	}
	compound := (pos - neg) / math.Sqrt((pos-neg)*(pos-neg)+vaderAlpha)
	idx, val = f.lexFeature(idx, val, 1, 0, float32(pos/(pos+4)))
	idx, val = f.lexFeature(idx, val, 2, 0, float32(neg/(neg+4)))
	idx, val = f.lexFeature(idx, val, 3, 0, float32(max(compound, 0)))
	idx, val = f.lexFeature(idx, val, 4, 0, float32(max(-compound, 0)))
	cb := int(math.Floor((compound + 1) * 4)) // 8 bins over [-1, 1]
	idx, val = f.lexFeature(idx, val, 5, min(max(cb, 0), 7), 1)
	idx, val = f.lexFeature(idx, val, 6, bin(nPos, 1, 2, 3)*4+bin(nNeg, 1, 2, 3), 1)
	return idx, val
}

// cussFeatures adds features from cuss-list hits (single words and two-word
// phrases): counts per sureness level, the highest sureness, and whether a hit
// was written in capitals or addressed at someone (a mention in the tweet).
func (f *Featurizer) cussFeatures(s *Scratch, idx []int64, val []float32) ([]int64, []float32) {
	var count [3]int
	maxSure, caps := -1, 0
	hit := func(sure int8, t *token) {
		count[sure]++
		maxSure = max(maxSure, int(sure))
		if t.caps {
			caps++
		}
	}
	for i := range s.toks {
		t := &s.toks[i]
		if t.kind != kindWord {
			continue
		}
		w := s.text(t)
		e, ok := f.lex[string(w)]
		if ok && e.sure >= 0 {
			hit(e.sure, t)
		} else if len(w) > 4 && w[len(w)-1] == 's' {
			// Plural forms the list does not carry.
			if e, ok := f.lex[string(w[:len(w)-1])]; ok && e.sure >= 0 {
				hit(e.sure, t)
			}
		}
		if e.phrase && i+1 < len(s.toks) {
			s.phrase = append(append(append(s.phrase[:0], w...), ' '), s.text(&s.toks[i+1])...)
			if e, ok := f.lex[string(s.phrase)]; ok && e.sure >= 0 {
				hit(e.sure, t)
			}
		}
	}
	for sure, n := range count {
		idx, val = f.lexFeature(idx, val, 10+sure, bin(n, 1, 2, 3), 1)
	}
	idx, val = f.lexFeature(idx, val, 13, maxSure+1, 1)
	idx, val = f.lexFeature(idx, val, 14, bin(caps, 1, 2), 1)
	if maxSure >= 1 {
		idx, val = f.lexFeature(idx, val, 15, bin(s.shape.mentions, 1, 2), 1)
	}
	return idx, val
}
