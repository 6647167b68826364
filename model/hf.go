package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names of a Hugging Face model folder, as transformers and
// transformers.js write them.
const (
	ConfigFile          = "config.json"
	TokenizerFile       = "tokenizer.json"
	TokenizerConfigFile = "tokenizer_config.json"
)

// HFConfig is what tweetflow reads from a transformers config.json.
type HFConfig struct {
	// Labels are id2label's values in id order: output column i is Labels[i].
	Labels []string
	// MaxPositions is max_position_embeddings.
	MaxPositions int
	// ModelType is model_type ("bert", "roberta", ...); may be empty.
	ModelType string
	// PadTokenID is pad_token_id, -1 when absent.
	PadTokenID int
	// VocabSize is vocab_size, 0 when absent: the rows of the word
	// embedding, which every id the tokenizer gives must index.
	VocabSize int
	// ProblemType is problem_type (empty when absent): a multi-label model
	// is scored with a sigmoid per label instead of a softmax over them.
	ProblemType string
}

// Values of config.json's problem_type, as transformers names them.
const (
	ProblemSingleLabel = "single_label_classification"
	ProblemMultiLabel  = "multi_label_classification"
	ProblemRegression  = "regression"
)

// MaxTokens is the longest input the position embeddings admit. RoBERTa-
// family models number positions from pad_token_id+1 (their config says 514
// for 512 usable positions), so those positions are not usable.
func (c HFConfig) MaxTokens() int {
	switch c.ModelType {
	case "roberta", "xlm-roberta", "camembert":
		pad := c.PadTokenID
		if pad < 0 {
			pad = 1 // RobertaConfig's default
		}
		return c.MaxPositions - pad - 1
	}
	return c.MaxPositions
}

// ParseHFConfig parses the bytes of a config.json. Errors name the JSON
// path; fields tweetflow does not use are ignored, as transformers ignores
// the ones it does not know.
func ParseHFConfig(b []byte) (HFConfig, error) {
	c := HFConfig{PadTokenID: -1}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return c, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := top["id2label"]
	if !ok || string(raw) == "null" {
		return c, errors.New("id2label: missing (a text-classification export names one label per output column)")
	}
	var id2label map[string]string
	if err := json.Unmarshal(raw, &id2label); err != nil {
		return c, fmt.Errorf("id2label: want an object of id strings to label strings: %w", err)
	}
	if len(id2label) < 2 {
		return c, fmt.Errorf("id2label: need at least two labels, got %d", len(id2label))
	}
	c.Labels = make([]string, len(id2label))
	keyOf := make([]string, len(id2label))
	byLabel := map[string]string{}
	for k, l := range id2label {
		i, err := strconv.Atoi(k)
		switch {
		case err != nil || i < 0:
			return c, fmt.Errorf("id2label[%q]: key is not a non-negative integer", k)
		case i >= len(id2label):
			return c, fmt.Errorf("id2label[%q]: ids must be 0..%d (one per label)", k, len(id2label)-1)
		case keyOf[i] != "":
			return c, fmt.Errorf("id2label[%q]: id %d is also id2label[%q]", k, i, keyOf[i])
		case l == "":
			return c, fmt.Errorf("id2label[%q]: empty label", k)
		}
		if prev, dup := byLabel[l]; dup {
			return c, fmt.Errorf("id2label[%q]: label %q is also id2label[%q]", k, l, prev)
		}
		byLabel[l], keyOf[i], c.Labels[i] = k, k, l
	}
	n, _, err := intField(top, "max_position_embeddings", true, 1)
	if err != nil {
		return c, err
	}
	c.MaxPositions = n
	if raw, ok := top["model_type"]; ok {
		if err := json.Unmarshal(raw, &c.ModelType); err != nil {
			return c, fmt.Errorf("model_type: want a string: %w", err)
		}
	}
	if p, ok, err := intField(top, "pad_token_id", false, 0); err != nil {
		return c, err
	} else if ok {
		c.PadTokenID = p
	}
	if v, _, err := intField(top, "vocab_size", false, 1); err != nil {
		return c, err
	} else {
		c.VocabSize = v
	}
	if raw, ok := top["problem_type"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c.ProblemType); err != nil {
			return c, fmt.Errorf("problem_type: want a string: %w", err)
		}
		switch c.ProblemType {
		case ProblemSingleLabel, ProblemMultiLabel:
		case ProblemRegression:
			return c, fmt.Errorf("problem_type: %q models give a score, not one probability per label (want %s or %s)", c.ProblemType, ProblemSingleLabel, ProblemMultiLabel)
		default:
			return c, fmt.Errorf("problem_type: %q is not one of %s, %s", c.ProblemType, ProblemSingleLabel, ProblemMultiLabel)
		}
	}
	if c.MaxTokens() < 1 {
		return c, fmt.Errorf("max_position_embeddings: %d leaves no position for a %s model with pad_token_id %d", c.MaxPositions, c.ModelType, c.PadTokenID)
	}
	return c, nil
}

// intField reads top[key] as an integer of at least min that fits an int32
// (no real model has more positions or token ids); ok is false when the key
// is absent or null. A missing required key is an error.
func intField(top map[string]json.RawMessage, key string, required bool, min int) (n int, ok bool, err error) {
	raw, present := top[key]
	if !present || string(raw) == "null" {
		if required {
			return 0, false, fmt.Errorf("%s: missing", key)
		}
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, false, fmt.Errorf("%s: want a number: %w", key, err)
	}
	if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return 0, false, fmt.Errorf("%s: %v is not an integer of at most 32 bits", key, f)
	}
	if int(f) < min {
		return 0, false, fmt.Errorf("%s: %d is below %d", key, int(f), min)
	}
	return int(f), true, nil
}

// parseModelMaxLength reads tokenizer_config.json's model_max_length; 0
// when absent or when it is transformers' "no limit" placeholder (1e30),
// which is larger than any position table.
func parseModelMaxLength(b []byte) (int, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return 0, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := top["model_max_length"]
	if !ok || string(raw) == "null" {
		return 0, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("model_max_length: want a number: %w", err)
	}
	switch {
	case f < 1 || f != math.Trunc(f):
		return 0, fmt.Errorf("model_max_length: %v is not a positive integer", f)
	case f > math.MaxInt32:
		return 0, nil
	}
	return int(f), nil
}

// IsHFDir reports whether dir holds a config.json, which makes it a
// Hugging Face folder whether or not it has a model.yaml.
func IsHFDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil
}

// NameFromFolder turns a folder name into a model name: lower case, runs
// of other characters than [a-z0-9] become one _, leading digits and _ and
// trailing _ dropped, 40 characters at most ("twitter-roberta-base-
// sentiment-latest" -> "twitter_roberta_base_sentiment_latest").
func NameFromFolder(folder string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(folder) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && b.Len() > 0:
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
		default:
			under = true
		}
	}
	n := b.String()
	if len(n) > 40 {
		n = strings.TrimRight(n[:40], "_")
	}
	return n
}

// DefaultValue is the value rule of a transformer folder whose model.yaml
// states none: P(positive) - P(negative) when the labels (any case) hold
// both; P(second label) for two labels; else the argmax label's index.
func DefaultValue(labels []string) ValueSpec {
	var pos, neg string
	for _, l := range labels {
		switch strings.ToLower(l) {
		case "positive":
			pos = l
		case "negative":
			neg = l
		}
	}
	switch {
	case pos != "" && neg != "":
		return ValueSpec{Derive: DeriveDifference, Positive: pos, Negative: neg, Type: TypeFloat, Min: -1, Max: 1}
	case len(labels) == 2:
		return ValueSpec{Derive: DeriveProbability, Positive: labels[1], Type: TypeFloat, Min: 0, Max: 1}
	}
	return ValueSpec{Derive: DeriveArgmax, Type: TypeInteger, Min: 0, Max: float64(len(labels) - 1)}
}

// fillTransformer completes s, read from dir's model.yaml (or empty when
// the folder has none), from the Hugging Face files of dir, then checks
// it. What model.yaml states wins; what it omits comes from the folder.
func fillTransformer(s *Spec, dir string) error {
	s.Kind = KindTransformer
	cfgPath := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("transformer folder: %w", err)
	}
	cfg, err := ParseHFConfig(b)
	if err != nil {
		return fmt.Errorf("%s: %w", cfgPath, err)
	}
	tokDir := s.TokenizerDir()
	if tokDir == "" {
		tokDir = dir
	}
	if _, err := os.Stat(filepath.Join(tokDir, TokenizerFile)); err != nil {
		return fmt.Errorf("transformer folder %s: %w (the tokenizer the export saved)", dir, err)
	}
	maxLen := cfg.MaxTokens()
	tcPath := filepath.Join(tokDir, TokenizerConfigFile)
	if tb, err := os.ReadFile(tcPath); err == nil {
		m, err := parseModelMaxLength(tb)
		if err != nil {
			return fmt.Errorf("%s: %w", tcPath, err)
		}
		if m > 0 && m < maxLen {
			maxLen = m
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("transformer folder: %w", err)
	}
	switch {
	case s.MaxLength == 0:
		s.MaxLength = maxLen
	case s.MaxLength > maxLen:
		return fmt.Errorf("%s: field max_length: %d is above the %d positions of %s (max_position_embeddings, tokenizer_config model_max_length)",
			filepath.Join(dir, SpecFile), s.MaxLength, maxLen, cfgPath)
	}
	if s.Name == "" {
		s.Name = NameFromFolder(filepath.Base(dir))
	}
	if s.Version == "" {
		sum := sha256.Sum256(b)
		s.Version = "hf." + hex.EncodeToString(sum[:4])
	}
	if len(s.Labels) == 0 {
		s.Labels = cfg.Labels
	} else if len(s.Labels) != len(cfg.Labels) {
		return fmt.Errorf("%s: field labels: %d labels, but %s id2label has %d", filepath.Join(dir, SpecFile), len(s.Labels), cfgPath, len(cfg.Labels))
	}
	if s.Value.Derive == "" {
		s.Value = DefaultValue(s.Labels)
	}
	if s.Activation == ActivationAuto && cfg.ProblemType == ProblemMultiLabel {
		s.Activation = ActivationSigmoid
	}
	s.vocab = cfg.VocabSize
	for _, p := range []string{ModelFile, filepath.Join("onnx", ModelFile)} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			s.onnx = filepath.Join(dir, p)
			break
		}
	}
	if s.onnx == "" {
		return fmt.Errorf("transformer folder %s: no %s or onnx/%s", dir, ModelFile, ModelFile)
	}
	return nil
}
