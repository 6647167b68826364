package tokenize

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	bert, err := os.ReadFile(filepath.Join("testdata", "bert-wordpiece", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, json, config, want string
	}{
		{"not json", `{`, "", "tokenizer.json:"},
		{"no model", `{"added_tokens":[]}`, "", "tokenizer.json: model: missing"},
		{"unknown model", `{"model":{"type":"Magic","vocab":{}}}`, "", `model: type "Magic" is not supported`},
		{"unigram empty", `{"model":{"type":"Unigram","vocab":[]}}`, "", `Unigram: vocab: empty`},
		{"unigram no unk", `{"model":{"type":"Unigram","vocab":[["a",-1]]}}`, "", `Unigram: unk_id: missing`},
		{"unigram bad entry", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["a"]]}}`, "", `Unigram: vocab[0]`},
		{"metaspace first", `{"pre_tokenizer":{"type":"Metaspace","prepend_scheme":"first"},"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]}}`, "", `prepend_scheme "first"`},
		{"missing unk", `{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"a":0}}}`, "", `WordPiece: unk_token "[UNK]" is not in vocab`},
		{"empty vocab", `{"model":{"type":"WordPiece","vocab":{}}}`, "", "WordPiece: vocab: empty"},
		{"negative id", `{"model":{"type":"WordPiece","vocab":{"[UNK]":-1}}}`, "", "negative id"},
		{"bad merge", `{"model":{"type":"BPE","vocab":{"a":0},"merges":["ab"]}}`, "", "merges[0]"},
		{"merge out of vocab", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}`, "", `merges[0]: "a" + "b"`},
		{"dropout", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"dropout":0.1}}`, "", "dropout"},
		{"unknown normalizer", `{"normalizer":{"type":"Weird"},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, "", `normalizer: type "Weird"`},
		{"regex replace", `{"normalizer":{"type":"Replace","pattern":{"Regex":"(?<=a)b"},"content":"a"},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, "", `Replace: pattern: Regex "(?<=a)b"`},
		{"unknown pre-tokenizer", `{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Nope"}]},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, "", "pre_tokenizer: Sequence: pretokenizers[0]: type \"Nope\""},
		{"bad template", `{"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[X]","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{}},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, "", `special token "[X]"`},
		{"added without id", `{"added_tokens":[{"content":"x"}],"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, "", "added_tokens: [0]: id"},
		{"bad config", string(bert), `{"model_max_length":"x"}`, "tokenizer_config.json:"},
		{"pad not in vocab", string(bert), `{"pad_token":"<nope>"}`, `pad_token: "<nope>"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg []byte
			if c.config != "" {
				cfg = []byte(c.config)
			}
			_, err := Parse([]byte(c.json), cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Fatalf("LoadDir of an empty folder: %v", err)
	}
}

func TestFixtureSettings(t *testing.T) {
	b := loadFixture(t, "bert-wordpiece")
	if b.MaxLength() != 512 || b.PadID() != 0 || b.VocabSize() != 30522 {
		t.Fatalf("bert: max %d pad %d vocab %d", b.MaxLength(), b.PadID(), b.VocabSize())
	}
	r := loadFixture(t, "roberta-bpe")
	if r.MaxLength() != 512 || r.PadID() != 1 || r.VocabSize() != 50262 {
		t.Fatalf("roberta: max %d pad %d vocab %d", r.MaxLength(), r.PadID(), r.VocabSize())
	}
	// bert-base-uncased's published ids for this sentence.
	if got := b.Encode("I like strawberries", Options{}).IDs; !slices.Equal(got, []int64{101, 1045, 2066, 13137, 20968, 102}) {
		t.Fatalf("bert: %v", got)
	}
}

// A 100 KB tweet is truncated to the model's limit, never an error, and costs only its head.
func TestHugeText(t *testing.T) {
	huge := strings.Repeat("loooooooooooooooooooooooong", 4000) + " " + strings.Repeat("word ", 20000)
	for _, name := range fixtures {
		tok := loadFixture(t, name)
		e := tok.Encode(huge, Options{})
		if len(e.IDs) != tok.MaxLength() || len(e.AttentionMask) != len(e.IDs) || len(e.TypeIDs) != len(e.IDs) {
			t.Fatalf("%s: %d ids, %d mask, %d types; want %d", name, len(e.IDs), len(e.AttentionMask), len(e.TypeIDs), tok.MaxLength())
		}
	}
}

// One Tokenizer serves many goroutines (run with -race); each gets what a lone caller gets.
func TestConcurrentUse(t *testing.T) {
	texts := loadTexts(t)[:400]
	for _, name := range fixtures {
		want := make([][]int64, len(texts))
		ref := loadFixture(t, name)
		for i, s := range texts {
			want[i] = ref.Encode(s, Options{}).IDs
		}
		tok := loadFixture(t, name) // a cold cache, filled concurrently
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := range 8 {
			wg.Go(func() {
				for k := range texts {
					i := (k + g*53) % len(texts)
					if got := tok.Encode(texts[i], Options{}).IDs; !slices.Equal(got, want[i]) {
						errs <- name + ": " + texts[i]
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error("concurrent result differs:", e)
		}
	}
}

func TestSanitizeUTF8(t *testing.T) {
	cases := map[string]string{
		"a\x80b":          "a\uFFFDb",
		"\xe2\x82AB":      "\uFFFDAB", // one maximal subpart, not two
		"\xc0\xaf x":      "\uFFFD\uFFFD x",
		"\xed\xa0\x80z":   "\uFFFD\uFFFD\uFFFDz", // an encoded surrogate is three subparts
		"\xf5hi":          "\uFFFDhi",
		"ok \xf0\x9f\x98": "ok \uFFFD",
		"fine ✓":          "fine ✓",
	}
	for in, want := range cases {
		if got := sanitizeUTF8(in); got != want {
			t.Errorf("sanitizeUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMergeHeapMatchesSimple(t *testing.T) {
	tok := loadFixture(t, "roberta-bpe")
	b := tok.model.(*bpe)
	for _, s := range loadTexts(t) {
		for piece := range pieces(tok, s) {
			syms := make([]int64, len(piece))
			for i := 0; i < len(piece); i++ {
				syms[i] = b.byteSym[piece[i]]
			}
			a := mergeSimple(slices.Clone(syms), b.merges)
			h := mergeHeap(slices.Clone(syms), b.merges)
			if !slices.Equal(a, h) {
				t.Fatalf("%q: simple %v heap %v", piece, a, h)
			}
		}
	}
}

func pieces(tok *Tokenizer, s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		stop := false
		tok.pre.split(s, func(p string) {
			if !stop && !yield(p) {
				stop = true
			}
		})
	}
}
