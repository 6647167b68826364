package campaign

import (
	"strings"
	"testing"
	"time"
)

// The fresh templates share no target with the bench's, so a check on
// them is a check on messages the detector was not tuned on.
func TestFreshTemplates(t *testing.T) {
	if _, err := ParseTemplates("bogus"); err == nil {
		t.Error("ParseTemplates(bogus): no error")
	}
	bench, fresh := newVocabulary(), freshVocabulary()
	if len(fresh.targets) != 16 || len(fresh.negClaims) != 8 || len(fresh.offClaims) != 5 || len(fresh.calls) != 7 ||
		len(fresh.tags) != 8 || len(fresh.synonyms["chemicals"]) != 2 || fresh.synonyms["chemicals"][0] != "toxic waste" {
		t.Fatalf("fresh templates parsed wrong: %+v", fresh)
	}
	for _, a := range fresh.targets {
		for _, b := range bench.targets {
			if strings.EqualFold(a, b) {
				t.Errorf("target %q in both template sets", a)
			}
		}
	}
	texts, handles := sampleTexts(t)
	org, err := MakeOrganic(OrganicConfig{Tweets: 5000, Start: benchStart, Span: 3 * time.Hour, Shape: MeasuredShape(), Seed: 9, Texts: texts, Handles: handles})
	if err != nil {
		t.Fatal(err)
	}
	_, truth, err := PlantWith(org, benchStart, 3*time.Hour, map[Pattern]int{Drip: 3, Burst: 3}, 9, FreshTemplates)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range truth.Campaigns {
		found := false
		for _, tg := range fresh.targets {
			found = found || strings.HasPrefix(c.Message, tg)
		}
		if !found {
			t.Errorf("campaign #%d message %q is not made of the fresh templates", c.ID, c.Message)
		}
	}
}
