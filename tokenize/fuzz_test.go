package tokenize

import (
	"slices"
	"testing"
)

// FuzzEncode: any bytes encode without panicking; the encoding is well-formed; truncation
// (which stops tokenizing early) gives exactly the full encoding's content cut to length;
// the heap merge agrees with the simple one.
func FuzzEncode(f *testing.F) {
	for _, s := range loadTexts(f)[:300] {
		f.Add(s)
	}
	f.Add("\xe2\x82A [MASK] <mask>  \t\n x")
	toks := make([]*Tokenizer, len(fixtures))
	for i, name := range fixtures {
		toks[i] = loadFixture(f, name)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, tok := range toks {
			full := tok.Encode(s, Options{MaxLength: -1})
			if len(full.IDs) != len(full.AttentionMask) || len(full.IDs) != len(full.TypeIDs) || len(full.IDs) < tok.post.added() {
				t.Fatalf("%s: malformed encoding %+v", fixtures[i], full)
			}
			for _, id := range full.IDs {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s: id %d out of range", fixtures[i], id)
				}
			}
			for _, n := range []int{2, 3, 8, 16} {
				tr := tok.Encode(s, Options{MaxLength: n})
				p, q := len(tok.post.prefix), len(tok.post.suffix)
				content := full.IDs[p : len(full.IDs)-q]
				want := slices.Concat(tok.post.prefix, content[:min(len(content), n-p-q)], tok.post.suffix)
				if !slices.Equal(tr.IDs, want) {
					t.Fatalf("%s: max %d: %v, want %v", fixtures[i], n, tr.IDs, want)
				}
			}
			if b, ok := tok.model.(*bpe); ok {
				for piece := range pieces(tok, sanitizeUTF8(s)) {
					syms := make([]int64, len(piece))
					for k := 0; k < len(piece); k++ {
						syms[k] = b.byteSym[piece[k]]
					}
					if a, h := mergeSimple(slices.Clone(syms), b.merges), mergeHeap(slices.Clone(syms), b.merges); !slices.Equal(a, h) {
						t.Fatalf("%q: simple %v heap %v", piece, a, h)
					}
				}
			}
		}
	})
}

// FuzzParse: any tokenizer.json bytes give a Tokenizer or an error, never a panic, and a
// Tokenizer that loads encodes anything.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"##b":2}},"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"}}`), []byte(`{"model_max_length":8}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"},"post_processor":{"type":"RobertaProcessing","sep":["b",1],"cls":["a",0]}}`), []byte(nil))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"<unk>":3},"merges":[["a","b"]],"unk_token":"<unk>","fuse_unk":true,"byte_fallback":true},"added_tokens":[{"id":3,"content":"<unk>","lstrip":true,"rstrip":true}]}`), []byte(`{"pad_token":{"content":"<unk>"}}`))
	f.Fuzz(func(t *testing.T, tj, cfg []byte) {
		tok, err := Parse(tj, cfg)
		if err != nil {
			return
		}
		for _, s := range []string{"", "ab abc", "[UNK] <unk> \xff Ωσ 東京 😂", "a b a b ab ab"} {
			e := tok.Encode(s, Options{})
			if len(e.IDs) != len(e.AttentionMask) {
				t.Fatalf("malformed encoding %+v", e)
			}
		}
	})
}
