package train

import (
	"fmt"
	"slices"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/model"
)

// LexiconFile is a lexicon copied from the data folder into the model folder,
// with the licence files that must travel with it.
type LexiconFile struct {
	Name    string
	Notices []string
}

// Recipe is everything that defines one model: data, labels, features,
// hyper-parameters and how its value is derived.
type Recipe struct {
	Name        string
	Description string
	// DataSubdir holds train.tsv and val.tsv under the data folder.
	DataSubdir string
	Labels     []string
	// Metric is the figure the model is tuned for: macro_recall or macro_f1.
	Metric    string
	Features  featurize.Config
	Hyper     Hyper
	Value     model.ValueSpec
	Threshold *model.ThresholdSpec
	Lexicons  []LexiconFile
	// Card is the model-specific part of MODEL_CARD.md (data and terms,
	// limits); the trainer adds the command and the metrics.
	Card string
	// Speed is the measured speed for the card (docs/BENCHMARKS.md has the
	// command and conditions); update it when the benchmarks are rerun.
	Speed string
}

// Recipes lists the models tweetflow ships, by name.
func Recipes() map[string]Recipe {
	// Character 3-4-grams of words of 4+ bytes: as good on val as 3-5-grams
	// of all words (0.702 macro-recall for both) with about half the
	// features per tweet, which is what ONNX Runtime's time follows.
	sentimentFeat := featurize.DefaultConfig()
	sentimentFeat.CharMinWord = 4
	sentimentFeat.CharMax = 4
	sentimentFeat.VADER = "vader_lexicon.txt"
	// Character n-grams did not help offense on val (0.750 vs 0.746 macro-F1
	// without them) and cost most of the featurizing time, so it goes without.
	offenseFeat := featurize.DefaultConfig()
	offenseFeat.CharMin, offenseFeat.CharMax, offenseFeat.CharWeight = 0, 0, 0
	offenseFeat.Cuss = "cuss.json"
	offenseFeat.VADER = "vader_lexicon.txt"
	return map[string]Recipe{
		"sentiment": {
			Name:        "sentiment",
			Description: "Tweet sentiment: P(positive) - P(negative), in [-1, 1]",
			DataSubdir:  "sentiment",
			Labels:      []string{"negative", "neutral", "positive"},
			Metric:      MetricMacroRecall,
			Features:    sentimentFeat,
			Hyper:       Hyper{Epochs: 5, LR: 0.04, ClassWeightPower: 1, Seed: 1},
			Value: model.ValueSpec{Derive: model.DeriveDifference, Positive: "positive", Negative: "negative",
				Type: model.TypeFloat, Min: -1, Max: 1},
			Threshold: &model.ThresholdSpec{Value: -0.25, Direction: "below",
				Reason: "the average tweet is clearly negative"},
			Lexicons: []LexiconFile{{Name: "vader_lexicon.txt", Notices: []string{"vader_lexicon.LICENSE", "vader_lexicon.NOTICE"}}},
			Card:     sentimentCard,
			Speed: "50,000-55,000 tweets per CPU-second at batch 64 and 24,000-28,000 at batch 1 (featurize + score, " +
				"one core, one ONNX Runtime thread); session load 7 CPU-ms.",
		},
		"offense": {
			Name:        "offense",
			Description: "Offensive language: P(offensive), in [0, 1]",
			DataSubdir:  "offensive",
			Labels:      []string{"not", "offensive"},
			Metric:      MetricMacroF1,
			Features:    offenseFeat,
			// A 10-seed ensemble: single runs vary by ±0.005 macro-F1 on val
			// with the shuffle; the average is steadier across learning rates.
			Hyper: Hyper{Epochs: 3, LR: 0.08, ClassWeightPower: 1, Seed: 1, Ensemble: 10},
			Value: model.ValueSpec{Derive: model.DeriveProbability, Positive: "offensive",
				Type: model.TypeFloat, Min: 0, Max: 1},
			Threshold: &model.ThresholdSpec{Value: 0.5, Direction: "above",
				Reason: "more than half of the tweets look offensive"},
			Lexicons: []LexiconFile{
				{Name: "cuss.json", Notices: []string{"cuss.LICENSE"}},
				{Name: "vader_lexicon.txt", Notices: []string{"vader_lexicon.LICENSE", "vader_lexicon.NOTICE"}},
			},
			Card: offenseCard,
			Speed: "89,000-95,000 tweets per CPU-second at batch 64 and 33,000-34,000 at batch 1 (featurize + score, " +
				"one core, one ONNX Runtime thread); session load 8-9 CPU-ms.",
		},
	}
}

// Recipe metrics.
const (
	MetricMacroRecall = "macro_recall"
	MetricMacroF1     = "macro_f1"
)

// RecipeNames returns the recipe names, sorted.
func RecipeNames() []string {
	var names []string
	for n := range Recipes() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LookupRecipe returns the named recipe.
func LookupRecipe(name string) (Recipe, error) {
	r, ok := Recipes()[name]
	if !ok {
		return Recipe{}, fmt.Errorf("unknown model %q (known: %v)", name, RecipeNames())
	}
	return r, nil
}

const sentimentCard = `## Training data and terms

- shared/data/sentiment/train.tsv: a TweetEval-style rebuild of the SemEval-2017 Task 4 subtask A
  English training data (47,458 tweets: negative 7,409, neutral 21,266, positive 18,783). Research
  use; cite Rosenthal, Farra & Nakov, SemEval 2017, and Barbieri et al., TweetEval, Findings of
  EMNLP 2020. Tweets remain subject to Twitter/X terms.
- Validation: TweetEval sentiment val (2,000 tweets), used only to choose hyper-parameters and to
  report the figures below; never trained on.
- Lexicon: VADER (Hutto & Gilbert, ICWSM 2014), vader_lexicon.txt from npm vader-sentiment@1.1.3,
  Apache-2.0 (see vader_lexicon.LICENSE and vader_lexicon.NOTICE in this folder).

## Limits

- English tweets; other languages get mostly shape features and drift to "neutral".
- A bag of n-grams: sarcasm, long-range negation and comparisons are read poorly.
- Negative is the rarest class (16% of training data). Class weighting lifts its recall at the cost
  of its precision: neutral tweets with a negative word are often called negative.
- The published TweetEval test-set reference for this kind of model is FastText 62.9 macro-recall;
  transformer models reach 69-73. Expect test figures below the validation figures.
`

const offenseCard = `## Training data and terms

- shared/data/offensive/train.tsv: TweetEval offensive train (OLID / OffensEval-2019 subtask A,
  11,908 tweets: not 7,968, offensive 3,940). Research use; cite Zampieri et al., NAACL 2019, and
  Barbieri et al., TweetEval, Findings of EMNLP 2020. Tweets remain subject to Twitter/X terms.
- Validation: TweetEval offensive val (1,323 tweets), used only to choose hyper-parameters and to
  report the figures below; never trained on. (Train and val share 9 exact duplicates, as released.)
- Lexicons: cuss.json from npm cuss@2.2.0, MIT (cuss.LICENSE); VADER vader_lexicon.txt from npm
  vader-sentiment@1.1.3, Apache-2.0 (vader_lexicon.LICENSE, vader_lexicon.NOTICE).

## Limits

- English tweets only. OLID labels any profanity as offensive, targeted or not, so the model
  flags swearing among friends as offensive; insults without swear words are missed more often.
- A bag of n-grams: it cannot tell quoting or condemning a slur from using it.
- The published TweetEval test-set reference for this kind of model is FastText 73.4 macro-F1;
  transformer models reach 77-80.
`
