// Package tokenize turns text into the input tensors of a Hugging Face transformer: it reads a
// tokenizer.json (the file the Hugging Face tokenizers library writes) and produces input_ids,
// attention_mask and token_type_ids as Hugging Face tokenizers do.
//
// Supported: WordPiece (BERT, DistilBERT), byte-level BPE (GPT-2, RoBERTa, twitter-roberta) and
// Unigram (SentencePiece: XLM-R, T5) models; the normalizers, pre-tokenizers and post-processors
// those families use; SentencePiece's Precompiled normalizer (XLM-R) as transformers.js
// approximates it, without reading the charsmap. Anything else
// in a tokenizer.json is rejected at load with an error naming the field, never silently skipped.
//
// A Tokenizer is loaded once and is safe for concurrent use: all of its state is read-only after
// load except the BPE word cache, which is synchronised.
package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Tokenizer encodes text as a Hugging Face tokenizer.json describes.
type Tokenizer struct {
	added      addedVocab
	normalizer normalizer // nil: none
	pre        preTokenizer
	byteLevel  bool // pieces are byte-level encoded before the model (ByteLevel pre-tokenizer)
	model      model
	post       postProcessor
	padID      int64
	maxLength  int // 0: no limit known
	vocabSize  int
}

// Encoding is one text's model inputs. The three slices have the same length.
type Encoding struct {
	IDs           []int64
	AttentionMask []int64
	TypeIDs       []int64
}

// Options change how Encode works.
type Options struct {
	// MaxLength truncates each encoding to at most this many ids, special tokens included, as
	// the Hugging Face tokenizers truncate (the sequence is cut, special tokens are kept).
	// 0 means the tokenizer's own limit (tokenizer.json's truncation.max_length, else
	// tokenizer_config.json's model_max_length); negative means no truncation.
	MaxLength int
}

// LoadDir loads dir/tokenizer.json and, when present, dir/tokenizer_config.json (for
// model_max_length and pad_token).
func LoadDir(dir string) (*Tokenizer, error) {
	tj := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(tj)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	cj := filepath.Join(dir, "tokenizer_config.json")
	cfg, err := os.ReadFile(cj)
	if errors.Is(err, os.ErrNotExist) {
		cfg = nil
	} else if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	t, err := Parse(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", dir, err)
	}
	return t, nil
}

// Parse builds a Tokenizer from the bytes of a tokenizer.json and, optionally (nil), of a
// tokenizer_config.json. Errors name the file and field.
func Parse(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if len(f.Model) == 0 || string(f.Model) == "null" {
		return nil, errors.New("tokenizer.json: model: missing")
	}
	t := &Tokenizer{}
	var err error
	if t.model, err = parseModel(f.Model); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: normalizer: %w", err)
	}
	if t.pre, t.byteLevel, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	if t.byteLevel {
		if b, ok := t.model.(*bpe); ok {
			if err := b.useByteLevel(); err != nil {
				return nil, fmt.Errorf("tokenizer.json: model: %w", err)
			}
		}
	}
	if t.post, err = parsePostProcessor(f.PostProcessor); err != nil {
		return nil, fmt.Errorf("tokenizer.json: post_processor: %w", err)
	}
	if t.added, err = parseAdded(f.AddedTokens, t.normalizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: added_tokens: %w", err)
	}
	t.vocabSize = t.model.size()
	for _, a := range t.added.tokens {
		if int(a.id)+1 > t.vocabSize {
			t.vocabSize = int(a.id) + 1
		}
	}
	if f.Truncation != nil && f.Truncation.MaxLength > 0 {
		t.maxLength = f.Truncation.MaxLength
	}
	padSet := false
	if f.Padding != nil && f.Padding.PadID != nil {
		t.padID, padSet = *f.Padding.PadID, true
	}
	if len(configJSON) > 0 {
		var c configFile
		if err := json.Unmarshal(configJSON, &c); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: %w", err)
		}
		// Hugging Face writes a huge sentinel (1e30) when the limit is unknown.
		if t.maxLength == 0 && c.ModelMaxLength > 0 && c.ModelMaxLength < 1<<20 {
			t.maxLength = int(c.ModelMaxLength)
		}
		if !padSet {
			if name, ok := c.padToken(); ok {
				id, found := t.TokenID(name)
				if !found {
					return nil, fmt.Errorf("tokenizer_config.json: pad_token: %q is not in the vocabulary", name)
				}
				t.padID, padSet = id, true
			}
		}
	}
	if !padSet {
		for _, name := range []string{"[PAD]", "<pad>"} {
			if id, ok := t.TokenID(name); ok {
				t.padID = id
				break
			}
		}
	}
	return t, nil
}

// TokenID returns the id of a token (an added token or a vocabulary entry).
func (t *Tokenizer) TokenID(token string) (int64, bool) {
	if a, ok := t.added.byContent[token]; ok {
		return a.id, true
	}
	return t.model.tokenID(token)
}

// MaxLength is the tokenizer's own length limit (0 when none is known).
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// PadID is the id batches are padded with.
func (t *Tokenizer) PadID() int64 { return t.padID }

// VocabSize is one more than the largest id the tokenizer can produce.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// Encode encodes one text. Invalid UTF-8 is decoded as the WHATWG encoding standard (and so
// transformers.js and Python's errors="replace") does: one U+FFFD per maximal invalid subpart.
func (t *Tokenizer) Encode(text string, opt Options) Encoding {
	limit := opt.MaxLength
	if limit == 0 {
		limit = t.maxLength
	}
	budget := -1 // content ids wanted; -1: all
	if limit > 0 {
		budget = limit - t.post.added()
		if budget < 0 {
			budget = 0
		}
	}
	ids := t.encodeContent(sanitizeUTF8(text), budget)
	if budget >= 0 && len(ids) > budget {
		ids = ids[:budget]
	}
	return t.post.process(ids)
}

// Batch is a padded batch: Rows x Cols ids, row-major, padded on the right with PadID and
// attention mask 0, to the longest encoding in the batch.
type Batch struct {
	Rows, Cols    int
	IDs           []int64
	AttentionMask []int64
	TypeIDs       []int64
}

// EncodeBatch encodes texts and pads them to the longest.
func (t *Tokenizer) EncodeBatch(texts []string, opt Options) Batch {
	encs := make([]Encoding, len(texts))
	cols := 0
	for i, s := range texts {
		encs[i] = t.Encode(s, opt)
		cols = max(cols, len(encs[i].IDs))
	}
	b := Batch{Rows: len(texts), Cols: cols,
		IDs: make([]int64, len(texts)*cols), AttentionMask: make([]int64, len(texts)*cols), TypeIDs: make([]int64, len(texts)*cols)}
	for i, e := range encs {
		row := i * cols
		copy(b.IDs[row:], e.IDs)
		copy(b.AttentionMask[row:], e.AttentionMask)
		copy(b.TypeIDs[row:], e.TypeIDs)
		for j := len(e.IDs); j < cols; j++ {
			b.IDs[row+j] = t.padID
		}
	}
	return b
}

// encodeContent returns the ids of text without special tokens, stopping early once more than
// budget ids are known (budget < 0: no limit), so a 100 KB text costs no more than its head.
func (t *Tokenizer) encodeContent(text string, budget int) []int64 {
	var ids []int64
	full := func() bool { return budget >= 0 && len(ids) > budget }
	// sections appends the ids of the added tokens in s (matched on the raw
	// or the normalized text) and hands each non-empty text between them to
	// text, until the budget is full.
	sections := func(s string, normalized bool, text func(string)) {
		for _, sec := range t.added.split(s, normalized) {
			if full() {
				break
			}
			if sec.token != nil {
				ids = append(ids, sec.token.id)
			} else if sec.text != "" {
				text(sec.text)
			}
		}
	}
	sections(text, false, func(s string) {
		if t.normalizer != nil {
			s = t.normalizer.normalize(s)
		}
		sections(s, true, func(s string) {
			t.pre.split(s, func(piece string) {
				if !full() {
					ids = t.model.encode(piece, ids, budget)
				}
			})
		})
	})
	return ids
}

// ---- tokenizer.json ----

type fileJSON struct {
	Version       string          `json:"version"`
	Truncation    *truncationJSON `json:"truncation"`
	Padding       *paddingJSON    `json:"padding"`
	AddedTokens   []addedJSON     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type truncationJSON struct {
	MaxLength int `json:"max_length"`
}

type paddingJSON struct {
	PadID *int64 `json:"pad_id"`
}

type configFile struct {
	ModelMaxLength float64         `json:"model_max_length"`
	PadToken       json.RawMessage `json:"pad_token"`
}

// padToken reads pad_token, which is either a string or an AddedToken object.
func (c configFile) padToken() (string, bool) {
	if len(c.PadToken) == 0 || string(c.PadToken) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(c.PadToken, &s) == nil {
		return s, true
	}
	var o struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(c.PadToken, &o) == nil && o.Content != "" {
		return o.Content, true
	}
	return "", false
}

// typeOf reads the "type" field of a component; null or absent components have type "".
func typeOf(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var h struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", err
	}
	if h.Type == "" {
		return "", errors.New("type: missing")
	}
	return h.Type, nil
}
