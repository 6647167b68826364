package modelfunc_test

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/modelfunc"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

// TestNewLoadsAnyKind: the one function entry point (MODEL_DIR, as functions/model and the
// Kafka-only function read it) loads a Hugging Face transformer folder and a string-input model
// with no code, and concurrent tweet events (which the function micro-batches) get the metadata the
// scorer gives each text alone.
func TestNewLoadsAnyKind(t *testing.T) {
	texts := []string{"I love this", "worst day ever @bob https://t.co/x", "日本語 🙂", "meh, it was fine I guess"}
	for _, folder := range []string{"tiny-roberta-sentiment", "tfidf-sentiment"} {
		t.Run(folder, func(t *testing.T) {
			dir := filepath.Join("..", "..", "scorer", "testdata", folder)
			c, err := core.FunctionConfigFromEnv(env{core.EnvModelDir: dir}.get)
			if err != nil {
				t.Fatal(err)
			}
			fn, closeFn, err := modelfunc.New(c, metrics.New("function", folder))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := closeFn(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			ref, err := scorer.Load(dir, scorer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			got := make([]event.Metadata, len(texts))
			var wg sync.WaitGroup
			errs := make([]error, len(texts))
			for i, s := range texts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e, err := event.NewTweetEvent(event.Tweet{ID: string(rune('a' + i)), User: "u", Text: s, CreatedAt: time.Unix(1238000000, 0).UTC()})
					if err != nil {
						errs[i] = err
						return
					}
					reply, err := fn.Handle(context.Background(), e)
					if err != nil {
						errs[i] = err
						return
					}
					got[i], errs[i] = event.DecodeMetadata(reply)
				}()
			}
			wg.Wait()
			for i, s := range texts {
				if errs[i] != nil {
					t.Fatalf("%q: %v", s, errs[i])
				}
				want := make([]model.Prediction, 1)
				if err := ref.Score(context.Background(), []string{s}, want); err != nil {
					t.Fatal(err)
				}
				if got[i].Model != ref.Name() || got[i].Label != want[0].Label || math.Abs(got[i].Value-want[0].Value) > 1e-5 {
					t.Errorf("%q: function says %s %s %v, the scorer %s %s %v", s, got[i].Model, got[i].Label, got[i].Value, ref.Name(), want[0].Label, want[0].Value)
				}
			}
		})
	}
}

type env map[string]string

func (e env) get(k string) string { return e[k] }
