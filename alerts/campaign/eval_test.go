package campaign

import (
	"testing"

	"github.com/tweetflow/tweetflow/event"
)

// Campaigns share message templates, so one near-copy group can hold two
// campaigns' tweets and no majority of either: that alert names planted
// tweets only and is true (mixed), though it finds neither campaign; one
// organic tweet among them makes it false.
func TestEvaluateMixedAlerts(t *testing.T) {
	truth := Truth{OrganicRows: 100_000, Campaigns: []Campaign{
		{ID: 1, TweetIDs: []string{"a1", "a2", "a3"}, Accounts: []string{"ua"}},
		{ID: 2, TweetIDs: []string{"b1", "b2", "b3"}, Accounts: []string{"ub"}},
	}}
	coordAlert := func(ids ...string) event.Alert {
		return event.Alert{Kind: event.AlertCoordination, Metric: "similar_texts", TweetIDs: ids}
	}
	r := Evaluate(truth, []event.Alert{
		coordAlert("a1", "a2", "b1", "b2"),       // mixed: true, finds none
		coordAlert("a1", "a2", "b1", "b2", "o1"), // an organic tweet: false
		coordAlert("b1", "b2", "b3", "o2"),       // campaign 2's majority
	})
	if r.TrueAlerts != 2 || r.MixedAlerts != 1 || r.FalseAlerts != 1 || r.Found != 1 || len(r.Missed) != 1 || r.Missed[0].ID != 1 {
		t.Fatalf("true %d (mixed %d), false %d, found %d, missed %v; want 2 (1), 1, 1, [#1]",
			r.TrueAlerts, r.MixedAlerts, r.FalseAlerts, r.Found, r.Missed)
	}
	if r.FalsePer100k != 1 {
		t.Errorf("false per 100k %v, want 1", r.FalsePer100k)
	}
}

// An alert on the source collection's own spam is false (the strict
// figure) and counted apart; an alert on other organic texts is not.
func TestEvaluateSourceCampaign(t *testing.T) {
	truth := Truth{OrganicRows: 100_000}
	r := Evaluate(truth, []event.Alert{
		{Kind: event.AlertCoordination, Metric: "similar_texts", TweetIDs: []string{"o1", "o2"},
			Texts: []string{"im lonely  keep me company! 22 female, Seattle - Washington", "@x im lonely keep me company! 22 female, new york http://t.co/a"}},
		{Kind: event.AlertCoordination, Metric: "similar_texts", TweetIDs: []string{"o3", "o4"},
			Texts: []string{"good morning twitter world", "im lonely  keep me company! 22 female, Austin - Texas", "good morning world"}},
	})
	if r.FalseAlerts != 2 || r.FalseOnSource != 1 || r.FalsePer100k != 2 || r.FalseOtherPer100k != 1 {
		t.Errorf("false %d, on source %d, per 100k %v, others %v; want 2, 1, 2, 1", r.FalseAlerts, r.FalseOnSource, r.FalsePer100k, r.FalseOtherPer100k)
	}
}
