package tokenize

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tweetflow/tweetflow/tokenize/tokenizetest"
)

// The goldens come from Hugging Face tokenizers as shipped in @huggingface/transformers
// (scripts/tokenizer-goldens/regenerate.sh); these tests compare every id.

func loadTexts(t testing.TB) []string {
	t.Helper()
	return tokenizetest.Texts(t, filepath.Join("testdata", "texts.jsonl.gz"))
}

type golden struct {
	IDs     []int64 `json:"ids"`
	Trunc   []int64 `json:"trunc"`
	TypeIDs []int64 `json:"type_ids"`
}

type goldenBatch struct {
	Texts         []int     `json:"texts"`
	InputIDs      [][]int64 `json:"input_ids"`
	AttentionMask [][]int64 `json:"attention_mask"`
	TypeIDs       [][]int64 `json:"type_ids"`
}

// goldenTrunc is the max_length the goldens' "trunc" ids were cut to (generate.mjs TRUNC).
const goldenTrunc = 64

var fixtures = []string{"bert-wordpiece", "roberta-bpe", "unigram-spm"}

func loadFixture(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tok, err := LoadDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGoldens(t *testing.T) {
	texts := loadTexts(t)
	if len(texts) < 2000 {
		t.Fatalf("only %d golden texts", len(texts))
	}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			tok := loadFixture(t, name)
			gold := tokenizetest.ReadJSONLinesGz[golden](t, filepath.Join("testdata", name+".goldens.jsonl.gz"))
			if len(gold) != len(texts) {
				t.Fatalf("%d goldens for %d texts", len(gold), len(texts))
			}
			bad := 0
			for i, s := range texts {
				full := tok.Encode(s, Options{MaxLength: -1})
				trunc := tok.Encode(s, Options{MaxLength: goldenTrunc})
				ok := slices.Equal(full.IDs, gold[i].IDs) && slices.Equal(trunc.IDs, gold[i].Trunc)
				if gold[i].TypeIDs != nil && !slices.Equal(full.TypeIDs, gold[i].TypeIDs) {
					ok = false
				}
				if len(full.AttentionMask) != len(full.IDs) || slices.ContainsFunc(full.AttentionMask, func(v int64) bool { return v != 1 }) {
					ok = false
				}
				if !ok {
					bad++
					if bad <= 10 {
						t.Errorf("text %d %q:\n got  %v\n want %v\n got trunc  %v\n want trunc %v", i, clip(s), clipIDs(full.IDs), clipIDs(gold[i].IDs), trunc.IDs, gold[i].Trunc)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d texts differ", bad, len(texts))
			}
		})
	}
}

func TestGoldenBatches(t *testing.T) {
	texts := loadTexts(t)
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			tok := loadFixture(t, name)
			batches := tokenizetest.ReadJSONLinesGz[goldenBatch](t, filepath.Join("testdata", name+".batches.jsonl.gz"))
			if len(batches) == 0 {
				t.Fatal("no golden batches")
			}
			for k, gb := range batches {
				in := make([]string, len(gb.Texts))
				for i, ti := range gb.Texts {
					in[i] = texts[ti]
				}
				b := tok.EncodeBatch(in, Options{})
				if b.Rows != len(gb.InputIDs) || b.Cols != len(gb.InputIDs[0]) {
					t.Fatalf("batch %d: shape %dx%d, want %dx%d", k, b.Rows, b.Cols, len(gb.InputIDs), len(gb.InputIDs[0]))
				}
				for r := range b.Rows {
					row := b.IDs[r*b.Cols : (r+1)*b.Cols]
					mask := b.AttentionMask[r*b.Cols : (r+1)*b.Cols]
					if !slices.Equal(row, gb.InputIDs[r]) || !slices.Equal(mask, gb.AttentionMask[r]) {
						t.Errorf("batch %d row %d:\n got  %v %v\n want %v %v", k, r, row, mask, gb.InputIDs[r], gb.AttentionMask[r])
					}
					if gb.TypeIDs != nil && !slices.Equal(b.TypeIDs[r*b.Cols:(r+1)*b.Cols], gb.TypeIDs[r]) {
						t.Errorf("batch %d row %d: type ids differ", k, r)
					}
				}
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func clipIDs(ids []int64) []int64 {
	if len(ids) > 40 {
		return ids[:40]
	}
	return ids
}
