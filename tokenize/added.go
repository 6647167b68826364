package tokenize

import (
	"fmt"
	"strings"
)

type addedJSON struct {
	ID         *int64 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

type addedToken struct {
	id             int64
	content        string
	lstrip, rstrip bool
}

// addedVocab splits text around added tokens ([CLS], <mask>, ...) before the model sees it.
// Tokens with normalized=false are matched in the raw text, the others in the normalized text.
// Matching is leftmost-longest, as transformers.js's DictionarySplitter does.
type addedVocab struct {
	tokens    []*addedToken
	byContent map[string]*addedToken
	raw, norm *trieNode
	// rawFirst, normFirst: the bytes an added token can start with, so split skips the
	// trie for every other byte.
	rawFirst, normFirst [256]bool
}

type trieNode struct {
	next  map[rune]*trieNode
	token *addedToken
}

func (n *trieNode) insert(key string, t *addedToken) {
	for _, r := range key {
		if n.next == nil {
			n.next = map[rune]*trieNode{}
		}
		c, ok := n.next[r]
		if !ok {
			c = &trieNode{}
			n.next[r] = c
		}
		n = c
	}
	n.token = t
}

func parseAdded(list []addedJSON, norm normalizer) (addedVocab, error) {
	v := addedVocab{byContent: map[string]*addedToken{}, raw: &trieNode{}, norm: &trieNode{}}
	for i, a := range list {
		if a.ID == nil || *a.ID < 0 {
			return v, fmt.Errorf("[%d]: id missing or negative", i)
		}
		if a.Content == "" {
			return v, fmt.Errorf("[%d]: content is empty", i)
		}
		t := &addedToken{id: *a.ID, content: a.Content, lstrip: a.LStrip, rstrip: a.RStrip}
		v.tokens = append(v.tokens, t)
		v.byContent[a.Content] = t
		normalized := !a.Special
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		if normalized && norm != nil {
			nc := norm.normalize(a.Content)
			if nc == "" {
				continue
			}
			v.norm.insert(nc, t)
			v.normFirst[nc[0]] = true
			if _, ok := v.byContent[nc]; !ok {
				v.byContent[nc] = t
			}
		} else {
			v.raw.insert(a.Content, t)
			v.rawFirst[a.Content[0]] = true
		}
	}
	return v, nil
}

type section struct {
	text  string
	token *addedToken // non-nil: this section is the added token
}

// split cuts s around the added tokens of one trie (normalized or raw), applying their
// lstrip/rstrip to the neighbouring text.
func (v *addedVocab) split(s string, normalized bool) []section {
	root, first := v.raw, &v.rawFirst
	if normalized {
		root, first = v.norm, &v.normFirst
	}
	if root.next == nil {
		return []section{{text: s}}
	}
	out := make([]section, 0, 1)
	start := 0
	for i := 0; i < len(s); {
		if !first[s[i]] {
			i++
			continue
		}
		n := root
		var match *addedToken
		end := 0
		for j := i; j < len(s); {
			r, size := decodeRune(s[j:])
			c := n.next[r]
			if c == nil {
				break
			}
			n = c
			j += size
			if n.token != nil {
				match, end = n.token, j
			}
		}
		if match == nil {
			i++ // a first byte is never a UTF-8 continuation byte, so byte steps stay aligned
			continue
		}
		if i > start {
			out = append(out, section{text: s[start:i]})
		}
		out = append(out, section{token: match})
		i, start = end, end
	}
	if start < len(s) {
		out = append(out, section{text: s[start:]})
	}
	for k, sec := range out {
		if sec.token == nil {
			continue
		}
		if sec.token.lstrip && k > 0 && out[k-1].token == nil {
			out[k-1].text = strings.TrimRightFunc(out[k-1].text, isJSSpace)
		}
		if sec.token.rstrip && k+1 < len(out) && out[k+1].token == nil {
			out[k+1].text = strings.TrimLeftFunc(out[k+1].text, isJSSpace)
		}
	}
	return out
}
