package campaign

import (
	"strings"
	"unicode"

	"github.com/tweetflow/tweetflow/event"
)

// SourceCampaigns are coordinated campaigns of the source collection the
// organic tweets draw their texts from, found by reading it: the
// sentiment140 sample (data/sample.csv) holds one spam text, "im lonely
// keep me company! 22 female, <city>", posted 18 times on 2009-04-17
// 21:10-22:15 PDT by 13 accounts named FirstnameNNNN (Abby2512 to
// Summer6202). Resampled onto organic accounts over the bench's hours, it
// is repeated a dozen times an hour: an alert on it is neither planted nor
// chance. The bench counts such alerts as false all the same (the strict
// figure) and says how many of the false ones are on these texts.
//
// A rule that finds such clusters in the source by itself (near-copies by
// 5+ accounts within an hour, word-set Jaccard >= 0.5, texts of 6+ words)
// was tried: it also marks organic chatter ("so sorry to hear about your
// dog" to one account, a band's album on its release day), which would
// excuse alerts on organic texts. So the list is by hand, and short.
// Each entry is matched against a text's words (lower case, letters and
// digits; mentions, hashtags and links left out) joined by spaces.
var SourceCampaigns = []string{"im lonely keep me company 22 female"}

// sourceText reports whether text is one of SourceCampaigns'.
func sourceText(text string) bool {
	var words []string
	for _, f := range strings.Fields(strings.ToLower(text)) {
		if strings.HasPrefix(f, "@") || strings.HasPrefix(f, "#") || strings.HasPrefix(f, "http") {
			continue
		}
		if w := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return -1
		}, f); w != "" {
			words = append(words, w)
		}
	}
	joined := strings.Join(words, " ")
	for _, c := range SourceCampaigns {
		if strings.Contains(joined, c) {
			return true
		}
	}
	return false
}

// onSourceCampaign reports whether most of a's texts are a source
// campaign's.
func onSourceCampaign(a event.Alert) bool {
	n := 0
	for _, t := range a.Texts {
		if sourceText(t) {
			n++
		}
	}
	return 2*n > len(a.Texts)
}
