// Package jsonpointer turns a JSON pointer (RFC 6901) into the dotted path
// tweetflow's error messages name a place with: /data/3/id becomes
// data[3].id. The Twitter readers (go-json-experiment's syntax and
// semantic errors) and the manifest validation (kubeconform's schema
// errors) both get pointers and both print paths; one rule keeps the two
// spellings of a place the same.
package jsonpointer

import "strings"

// Dotted returns ptr as a dotted path: members joined by '.', array
// indices (tokens of digits only, as RFC 6901 writes them) in brackets,
// ~1 and ~0 unescaped to '/' and '~'. Empty tokens are dropped, and the
// root ("" or "/") is "".
func Dotted(ptr string) string {
	var b strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		// ~1 first: "~01" is the token "~1", not "/".
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func isIndex(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
