package scorer_test

import (
	"context"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

func loadAll(t testing.TB) map[string]*scorer.Model {
	t.Helper()
	models, err := scorer.LoadAll("../models", nil, scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*scorer.Model{}
	for _, m := range models {
		byName[m.Name()] = m
		closeAtEnd(t, m)
	}
	return byName
}

// closeAtEnd closes m when the test ends, failing it if Close fails.
func closeAtEnd(t testing.TB, m *scorer.Model) {
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
}

func TestUnambiguousTweets(t *testing.T) {
	models := loadAll(t)
	cases := []struct {
		model, text, want string
	}{
		{"sentiment", "I love this so much, best day ever! :)", "positive"},
		{"sentiment", "Thank you all for the amazing birthday wishes, feeling so happy", "positive"},
		{"sentiment", "This is the worst service ever, I hate it. Terrible!", "negative"},
		{"sentiment", "So sad and angry about the awful news today", "negative"},
		{"sentiment", "The meeting is scheduled for Tuesday at 3pm in room 204", "neutral"},
		{"offense", "@user you are a fucking idiot, shut the fuck up", "offensive"},
		{"offense", "@user what a piece of shit, you stupid bitch", "offensive"},
		{"offense", "@user Thank you for the lovely photos of the garden", "not"},
		{"offense", "The weather is nice today, going for a walk in the park", "not"},
	}
	for _, c := range cases {
		m := models[c.model]
		if m == nil {
			t.Fatalf("model %s not loaded", c.model)
		}
		out := make([]model.Prediction, 1)
		if err := m.Score(context.Background(), []string{c.text}, out); err != nil {
			t.Fatal(err)
		}
		if out[0].Label != c.want {
			t.Errorf("%s(%q) = %s %v, want %s", c.model, c.text, out[0].Label, out[0].Probs, c.want)
		}
	}
}
