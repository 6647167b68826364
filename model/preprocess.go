package model

import "strings"

// PreprocessText rewrites text as the preprocess option name (a checked
// spec's Preprocess) says; text as it is for PreprocessNone.
func PreprocessText(name, text string) string {
	if name != PreprocessCardiffNLP {
		return text
	}
	// The model card's preprocess(): split on spaces, replace, join with
	// one space. strings.Split (not Fields) keeps runs of spaces as empty
	// words, as Python's text.split(" ") does, so the join gives the text
	// back unchanged where nothing is replaced.
	words := strings.Split(text, " ")
	changed := false
	for i, w := range words {
		switch {
		case len(w) > 1 && w[0] == '@':
			words[i], changed = "@user", true
		case strings.HasPrefix(w, "http"):
			words[i], changed = "http", true
		}
	}
	if !changed {
		return text
	}
	return strings.Join(words, " ")
}
