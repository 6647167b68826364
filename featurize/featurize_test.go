package featurize_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/featurize"
)

func TestTokensGolden(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"", []string{}},
		{"I LOVEEEEE this!!!! :) #Happy @user http://t.co/x can’t", []string{"i", "loveee", "this", "!!!", ":)", "#happy", "happy", "@user", "<url>", "can't"}},
		{"Gas by my house hit $3.39!!!! I’m going", []string{"gas", "by", "my", "house", "hit", "0", ".", "00", "!!!", "i'm", "going"}},
		{"wow...so good,right?", []string{"wow", ".", "so", "good", ",", "right", "?"}},
		{"😀😀 great", []string{"😀", "😀", "great"}},
		{"مرحبا بالعالم", []string{"مرحبا", "بالعالم"}},
		{"tab\there\x00nul\x7fdel", []string{"tab", "here", "nul", "del"}},
		{"bad\xff\xfeutf8", []string{"bad", "utf0"}},
		{"Ünïcödé ÇAPS", []string{"ünïcödé", "çaps"}},
		{"<3 xD :-(", []string{"<3", "xD", ":-("}},
		{"# @ '' ''quoted''", []string{"quoted"}},
		{"WWW.example.com rocks", []string{"<url>", "rocks"}},
	}
	for _, c := range cases {
		got := featurize.Tokens(c.text, 100)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestMaxTokens(t *testing.T) {
	got := featurize.Tokens(strings.Repeat("a ", 1000), 7)
	if len(got) != 7 {
		t.Errorf("got %d tokens, want 7", len(got))
	}
}

func newFeaturizer(t testing.TB, vader, cuss bool) *featurize.Featurizer {
	t.Helper()
	c := featurize.DefaultConfig()
	if vader {
		c.VADER = "vader_lexicon.txt"
	}
	if cuss {
		c.Cuss = "cuss.json"
	}
	dir := "../models/offense" // carries both lexicons
	f, err := featurize.New(c, dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// digest summarises a feature list, so the golden test pins every index and
// weight: any change of tokenization or hashing changes it, and then the
// trained models must be retrained (and featurize.Version bumped).
func digest(idx []int64, val []float32) string {
	h := sha256.New()
	var b [12]byte
	for i := range idx {
		binary.LittleEndian.PutUint64(b[:8], uint64(idx[i]))
		binary.LittleEndian.PutUint32(b[8:], math.Float32bits(val[i]))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func TestFeaturizeGolden(t *testing.T) {
	f := newFeaturizer(t, true, true)
	cases := []struct {
		text  string
		count int
		dig   string
	}{
		{"", 20, "1b5eca9af6e8dd49"}, // shape and lexicon features only
		{"I love this so much :)", 63, "c0f2da6b872d5cbf"},
		{"@user you are a fucking idiot", 88, "a62320a3b83d22e4"},
		{"not good at all!!!", 57, "6696de50189472e7"},
		{"Ünïcödé ÇAPS مرحبا 😀 #Straße", 104, "3e19593306b8ac64"}, // non-ASCII paths
	}
	var s featurize.Scratch
	for _, c := range cases {
		idx, val := f.Featurize(&s, c.text, nil, nil)
		if got := digest(idx, val); got != c.dig || len(idx) != c.count {
			t.Errorf("Featurize(%q): %d features, digest %s; want %d, %s", c.text, len(idx), got, c.count, c.dig)
		}
	}
}

func TestFeaturizeProperties(t *testing.T) {
	f := newFeaturizer(t, true, true)
	var s featurize.Scratch
	words := func(text string) int {
		idx, _ := f.Featurize(&s, text, nil, nil)
		return len(idx)
	}
	// Appending: features of two calls are concatenated, not reset.
	idx1, val1 := f.Featurize(&s, "hello world", nil, nil)
	idx2, val2 := f.Featurize(&s, "hello world", idx1, val1)
	if len(idx2) != 2*len(idx1[:len(idx1)]) || len(val2) != len(idx2) {
		t.Errorf("appending: %d then %d features", len(idx1), len(idx2))
	}
	// Negation adds features.
	if a, b := words("this is good"), words("this is not good"); b <= a+1 {
		t.Errorf("negation: %d vs %d features", a, b)
	}
	// Case and elongation normalise to the same features.
	i1, v1 := f.Featurize(&s, "SOOOOO GOOD", nil, nil)
	i2, v2 := f.Featurize(&s, "soooooooooo good", nil, nil)
	if digest(i1[:4], v1[:4]) != digest(i2[:4], v2[:4]) {
		t.Errorf("case/elongation: word features differ")
	}
	// Determinism across Scratch values.
	var s2 featurize.Scratch
	a, av := f.Featurize(&s, "Same text, same features! 😀", nil, nil)
	b, bv := f.Featurize(&s2, "Same text, same features! 😀", nil, nil)
	if digest(a, av) != digest(b, bv) {
		t.Error("featurize is not deterministic")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		mutate func(*featurize.Config)
		want   string
	}{
		{func(c *featurize.Config) { c.Buckets = 1000 }, "featurizer.params.buckets"},
		{func(c *featurize.Config) { c.Version = 99 }, "featurizer.params.version"},
		{func(c *featurize.Config) { c.WordNgrams = 3 }, "featurizer.params.word_ngrams"},
		{func(c *featurize.Config) { c.CharMin, c.CharMax = 5, 3 }, "featurizer.params.char_min/char_max"},
		{func(c *featurize.Config) { c.MaxTokens = 0 }, "featurizer.params.max_tokens"},
		{func(c *featurize.Config) { c.VADER = "../etc/passwd" }, "featurizer.params.vader"},
	} {
		cfg := featurize.DefaultConfig()
		c.mutate(&cfg)
		err := cfg.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check() = %v, want an error naming %s", err, c.want)
		}
	}
	if _, err := featurize.ConfigFromParams(map[string]any{"bukets": 1024}); err == nil || !strings.Contains(err.Error(), "bukets") {
		t.Errorf("unknown param: %v", err)
	}
	cfg := featurize.DefaultConfig()
	cfg.VADER = "missing.txt"
	if _, err := featurize.New(cfg, t.TempDir()); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing lexicon: %v", err)
	}
	// A bad lexicon line is named by file and line.
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{"good\t1.5\t0.5\t[1]\nbad line\n", "bad.txt:2: want token<TAB>mean"},
		{"good\t9\t0.5\t[1]\n", "bad.txt:1: mean \"9\""},
		{"\n\n", "bad.txt: empty lexicon"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "bad.txt"), []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.VADER = "bad.txt"
		if _, err := featurize.New(cfg, dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lexicon %q: %v, want %q", c.body, err, c.want)
		}
	}
}

func TestParamsRoundTrip(t *testing.T) {
	c := featurize.DefaultConfig()
	c.VADER = "vader_lexicon.txt"
	got, err := featurize.ConfigFromParams(c.Params())
	if err != nil || got != c {
		t.Errorf("round trip: %+v, %v; want %+v", got, err, c)
	}
}

// FuzzFeaturize: any text featurizes without panic into in-range indices
// and finite weights, deterministically, within a bounded count.
func FuzzFeaturize(f *testing.F) {
	for _, s := range []string{"", "hello world", "\xff\xfe\xfd", "😀👍🏽‍♀️", "مرحبا", "a\x00b\x1bc",
		strings.Repeat("x", 5000), strings.Repeat("!? ", 300), "#@#@ '' ’’ :) :( <3", "not not not good"} {
		f.Add(s)
	}
	fz := newFeaturizer(f, true, true)
	buckets := int64(fz.Config().Buckets)
	f.Fuzz(func(t *testing.T, text string) {
		var s featurize.Scratch
		idx, val := fz.Featurize(&s, text, nil, nil)
		if len(idx) != len(val) {
			t.Fatalf("%d indices, %d values", len(idx), len(val))
		}
		if len(idx) > 200*fz.Config().MaxTokens {
			t.Fatalf("%d features for %d bytes", len(idx), len(text))
		}
		for i := range idx {
			if idx[i] < 0 || idx[i] >= buckets {
				t.Fatalf("index %d out of range", idx[i])
			}
			if math.IsNaN(float64(val[i])) || math.IsInf(float64(val[i]), 0) {
				t.Fatalf("weight %v", val[i])
			}
		}
		idx2, val2 := fz.Featurize(&s, text, nil, nil)
		if digest(idx, val) != digest(idx2, val2) {
			t.Fatal("not deterministic")
		}
	})
}
