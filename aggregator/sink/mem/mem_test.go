package mem

import (
	"context"
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
)

type harness struct{ s *Store }

func (h harness) Open(_ context.Context, models []string) (sink.Driver, error) {
	return h.s.Open(models), nil
}

func (h harness) Read(_ context.Context, id string) (sinktest.Doc, bool, error) {
	d, ok := h.s.Get(id)
	if !ok {
		return sinktest.Doc{}, false, nil
	}
	return sinktest.Doc{TweetID: d.Tweet.ID, User: d.Tweet.User, Text: d.Tweet.Text, Timestamp: d.Tweet.CreatedAt,
		Fields: d.Tweet.Fields, UserID: d.Tweet.UserID, Lang: d.Tweet.Lang, RetweetOf: d.Tweet.RetweetOf, QuoteOf: d.Tweet.QuoteOf,
		ReplyTo: d.Tweet.ReplyTo, ConversationID: d.Tweet.ConversationID, Hashtags: d.Tweet.Hashtags, URLs: d.Tweet.URLs,
		Mentions: d.Tweet.Mentions, Results: d.Results, Complete: d.Complete, Missing: d.Missing, Partial: d.Partial}, true, nil
}

func (h harness) Count(context.Context) (int, error) { return h.s.Len(), nil }
func (h harness) Close()                             {}
func (h harness) FailNext(n int)                     { h.s.FailNext(n) }
func (h harness) Reject(rec *sink.Record)            { h.s.Refuse(rec.Tweet.ID) }

func TestConformance(t *testing.T) {
	sinktest.RunConformanceTests(t, func(context.Context, *testing.T) (sinktest.Harness, error) {
		return harness{NewStore()}, nil
	})
}
