package scorer_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/tokenize/tokenizetest"
)

// The test models of scripts/reference-models and their reference probabilities: torch on
// Hugging Face's token ids for the transformers, scikit-learn's predict_proba for the string
// model (see scripts/reference-models/build.py). None of them comes from tweetflow.
var referenceModels = []string{"tiny-bert-sentiment", "tiny-roberta-sentiment", "tfidf-sentiment"}

// refTolerance is the bound on |p_tweetflow - p_reference| per probability.
const refTolerance = 1e-4

// referenceTexts are the tokenizer goldens' texts (real tweets and edge cases: emoji, URLs, CJK,
// RTL, combining marks, a 100 KB text, invalid UTF-8 as raw bytes).
func referenceTexts(t testing.TB) []string {
	return tokenizetest.Texts(t, filepath.Join("..", "tokenize", "testdata", "texts.jsonl.gz"))
}

func loadReference(t testing.TB, name string) *scorer.Model {
	t.Helper()
	m, err := scorer.Load(filepath.Join("testdata", name), scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, m)
	return m
}

// TestMatchesReference scores every reference text through the model folder as a user drops it
// in (tweetflow's tokenizer, padding, length buckets, activation) in batches of 64 and of 1, and
// requires each probability within 1e-4 of the reference's.
func TestMatchesReference(t *testing.T) {
	texts := referenceTexts(t)
	for _, name := range referenceModels {
		t.Run(name, func(t *testing.T) {
			m := loadReference(t, name)
			want := tokenizetest.ReadJSONLinesGz[struct {
				Probs []float64 `json:"probs"`
			}](t, filepath.Join("testdata", name+".goldens.jsonl.gz"))
			if len(want) != len(texts) {
				t.Fatalf("%d goldens for %d texts: regenerate with scripts/reference-models/regenerate.sh", len(want), len(texts))
			}
			for _, batch := range []int{64, 1} {
				got := make([]model.Prediction, len(texts))
				for i := 0; i < len(texts); i += batch {
					j := min(i+batch, len(texts))
					if err := m.Score(context.Background(), texts[i:j], got[i:j]); err != nil {
						t.Fatal(err)
					}
				}
				worst, bad := 0.0, 0
				for i := range texts {
					if len(got[i].Probs) != len(want[i].Probs) {
						t.Fatalf("text %d: %d probabilities, reference has %d", i, len(got[i].Probs), len(want[i].Probs))
					}
					for c, p := range got[i].Probs {
						d := math.Abs(float64(p) - want[i].Probs[c])
						worst = max(worst, d)
						if d > refTolerance {
							if bad++; bad <= 5 {
								t.Errorf("batch %d, text %d %.60q: P(%s) = %.7f, reference %.7f", batch, i, texts[i], m.Labels()[c], p, want[i].Probs[c])
							}
						}
					}
				}
				if bad > 0 {
					t.Errorf("batch %d: %d of %d probabilities off by more than %g (worst %.2g)", batch, bad, len(texts)*len(m.Labels()), refTolerance, worst)
				}
				t.Logf("batch %d: %d texts, largest difference from the reference %.2g", batch, len(texts), worst)
			}
		})
	}
}
