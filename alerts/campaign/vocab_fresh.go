package campaign

import (
	"fmt"
	"strings"
)

// Templates names a set of campaign message templates.
type Templates string

const (
	// BenchTemplates are the templates the detector was tuned on.
	BenchTemplates Templates = "bench"
	// FreshTemplates were written afterwards and never used while tuning:
	// other topics (health scares, scams, local rumours), other words,
	// other synonyms, for a check on campaigns the detector has not seen.
	FreshTemplates Templates = "fresh"
)

// ParseTemplates returns the template set named s ("" is the bench's).
func ParseTemplates(s string) (Templates, error) {
	switch Templates(s) {
	case "", BenchTemplates:
		return BenchTemplates, nil
	case FreshTemplates:
		return FreshTemplates, nil
	}
	return "", fmt.Errorf("campaign templates %q are not %q or %q", s, BenchTemplates, FreshTemplates)
}

func (t Templates) vocabulary() vocabulary {
	if t == FreshTemplates {
		return freshVocabulary()
	}
	return newVocabulary()
}

// freshText holds the fresh templates, one list a line ("name: a|b|c";
// synonyms "word=alternative,alternative|...").
const freshText = `targets: the flu shot|Riverside Clinic|the 5G tower on Elm street|BrightSmile toothpaste|the county fair|Lakeview Dairy|the new bus lanes|Pinecrest Mall|the recycling program|Dr Alvarez|the harbour bridge|SunnyDay Foods|the library levy|the night shelter|Coach Ramirez|the ferry service
neg: made dozens of kids sick last week and nobody reported it|is secretly dumping chemicals into the river at night|charged seniors twice for the same prescription|was caught faking inspection papers to stay open|leaked the addresses of every customer to scammers|quietly raised fees on families who cannot afford it|ignored three warnings about the broken fire alarms|hid the mould problem from parents all winter
off: is run by clueless crooks who laugh at us|is a scam operated by greedy liars and cowards|belongs to a pack of shameless frauds and thieves|is managed by arrogant incompetent losers|hires nothing but lazy dishonest clowns
calls: screenshot this before it vanishes|keep your kids away from it|demand answers at the meeting on thursday|cancel your membership today|post this in every local group|do not let them get away with it|ask your neighbours what they saw
tags: #alert|#localnews|#cover_up|#stayaway|#justice|#healthscare|#warning|#speakup
first: north|south|misty|golden|quiet|rusty|sharp|gentle|bold|cosmic
second: river|maple|anchor|falcon|baker|miner|pilot|sailor|gardener|owl|fox
synonyms: sick=ill,unwell|secretly=covertly,quietly|dumping=pouring,tipping|chemicals=toxic waste,poison|charged=billed|seniors=pensioners,old folks|caught=busted|faking=forging,falsifying|leaked=sold,exposed|customer=client,shopper|raised=hiked,jacked up|families=households|ignored=dismissed,brushed off|warnings=alerts,complaints|hid=concealed,buried|crooks=criminals|liars=frauds|cowards=weasels|thieves=bandits|screenshot=save,capture|vanishes=disappears,gets deleted|kids=children|demand=ask for|cancel=end,drop|neighbours=neighbors|dozens=lots,scores`

func freshVocabulary() vocabulary {
	lists := map[string][]string{}
	for _, line := range strings.Split(freshText, "\n") {
		name, items, _ := strings.Cut(line, ": ")
		lists[name] = strings.Split(items, "|")
	}
	v := vocabulary{targets: lists["targets"], negClaims: lists["neg"], offClaims: lists["off"], calls: lists["calls"],
		tags: lists["tags"], first: lists["first"], second: lists["second"], synonyms: map[string][]string{}}
	for _, syn := range lists["synonyms"] {
		word, alts, _ := strings.Cut(syn, "=")
		v.synonyms[word] = strings.Split(alts, ",")
	}
	return v
}
