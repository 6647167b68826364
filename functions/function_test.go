package functions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions/functionstest"
	"github.com/tweetflow/tweetflow/scorer"
)

var _ Scorer = (*scorer.Model)(nil)

func tweet(i int) event.Tweet {
	return event.Tweet{ID: fmt.Sprint(1000 + i), User: "u", Text: strings.Repeat("x", i%100+1), CreatedAt: time.Unix(1239000000, 0).UTC()}
}

func tweetEvent(t *testing.T, i int) cloudevents.Event {
	e, err := event.NewTweetEvent(tweet(i))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestScoreTweets(t *testing.T) {
	s := &functionstest.Scorer{}
	f := New(s, Options{})
	defer f.Close(context.Background())
	tws := []event.Tweet{tweet(9), tweet(79)}
	mds, err := f.ScoreTweets(context.Background(), tws)
	if err != nil {
		t.Fatal(err)
	}
	if len(mds) != 2 || s.Sizes()[0] != 2 {
		t.Fatalf("%d metadata, batches %v", len(mds), s.Sizes())
	}
	m := mds[1]
	if m.TweetID != "1079" || m.Model != "fake" || m.ModelVersion != "0.1.0" || m.Label != "long" || m.Value != float64(float32(0.8)) ||
		math.Abs(m.Probabilities["short"]-0.2) > 1e-6 || m.Tweet.Text != tws[1].Text {
		t.Fatalf("metadata %+v", m)
	}
	if err := m.Validate("x"); err != nil {
		t.Fatal(err)
	}
}

func TestHandleMicroBatches(t *testing.T) {
	s := &functionstest.Scorer{}
	f := New(s, Options{MaxBatch: 16, MaxDelay: 50 * time.Millisecond})
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			out, err := f.Handle(context.Background(), tweetEvent(t, i))
			if err != nil {
				errs <- err
				return
			}
			md, err := event.DecodeMetadata(out)
			if err != nil {
				errs <- err
				return
			}
			if md.TweetID != tweet(i).ID || out.ID() != event.MetadataID(tweet(i).ID, "fake") {
				errs <- fmt.Errorf("event %d answered with %s", i, out.ID())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sizes := s.Sizes()
	total := 0
	for _, b := range sizes {
		if b > 16 {
			t.Fatalf("batch of %d > MaxBatch", b)
		}
		total += b
	}
	if total != n || len(sizes) > n/4 {
		t.Fatalf("batches %v: want %d events in few Score calls", sizes, n)
	}
}

func TestHandleMaxDelay(t *testing.T) {
	s := &functionstest.Scorer{}
	f := New(s, Options{MaxBatch: 1000, MaxDelay: 5 * time.Millisecond})
	defer f.Close(context.Background())
	// A lone event is answered after MaxDelay, not held for a full batch.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := f.Handle(ctx, tweetEvent(t, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestHandlePoison(t *testing.T) {
	f := New(&functionstest.Scorer{}, Options{})
	defer f.Close(context.Background())
	e := tweetEvent(t, 1)
	e.SetData(event.ContentType, map[string]string{"id": "1", "text": ""})
	_, err := f.Handle(context.Background(), e)
	var fe *event.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Handle(bad event) = %v, want *event.FieldError", err)
	}
}

// In a synctest bubble: time is the bubble's (the sleeps below pass the
// micro-batch delay at once and in order) and synctest.Wait says every
// goroutine is blocked, so the steps cannot race.
func TestHandleOverloaded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &functionstest.Scorer{Block: make(chan struct{})}
		f := New(s, Options{MaxBatch: 2, MaxQueue: 2, MaxDelay: time.Millisecond})
		ctx := context.Background()
		var wg sync.WaitGroup
		var okCount atomic.Int64
		// The workers take the first events into a blocked Score (MaxDelay
		// passes before the next arrives); the others fill the queue.
		for i := range 3 {
			wg.Go(func() {
				if _, err := f.Handle(ctx, tweetEvent(t, i)); err == nil {
					okCount.Add(1)
				}
			})
			time.Sleep(10 * time.Millisecond)
		}
		var err error
		for try := 0; try < 8 && !errors.Is(err, ErrOverloaded); try++ {
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err = f.Handle(short, tweetEvent(t, 9))
			cancel()
		}
		if !errors.Is(err, ErrOverloaded) {
			t.Fatalf("Handle with a full queue = %v, want ErrOverloaded", err)
		}
		close(s.Block)
		wg.Wait()
		if okCount.Load() != 3 {
			t.Fatalf("%d of the 3 accepted events answered", okCount.Load())
		}
		f.Close(ctx)
	})
}

func TestCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &functionstest.Scorer{Block: make(chan struct{})}
		f := New(s, Options{MaxBatch: 4, MaxDelay: time.Millisecond})
		ctx := context.Background()
		results := make(chan error, 8)
		for i := range 8 {
			go func() {
				_, err := f.Handle(ctx, tweetEvent(t, i))
				results <- err
			}()
		}
		synctest.Wait() // all 8 queued or being scored
		closed := make(chan error, 1)
		go func() { closed <- f.Close(ctx) }()
		synctest.Wait() // Close has begun and waits for the queue
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) with events still being scored", err)
		default:
		}
		if _, err := f.Handle(ctx, tweetEvent(t, 99)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Handle during Close = %v, want ErrClosed", err)
		}
		close(s.Block)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		for range 8 {
			if err := <-results; err != nil {
				t.Fatalf("queued event not answered before Close returned: %v", err)
			}
		}
	})
}

func TestScoreErrorIsTransient(t *testing.T) {
	f := New(&functionstest.Scorer{Fail: errors.New("session broke")}, Options{})
	defer f.Close(context.Background())
	_, err := f.Handle(context.Background(), tweetEvent(t, 1))
	var fe *event.FieldError
	if err == nil || errors.As(err, &fe) || errors.Is(err, ErrOverloaded) {
		t.Fatalf("Handle = %v, want a plain (transient) error", err)
	}
}

// The real models under models/ through the real ONNX Runtime.
func TestRealModels(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "models")
	ms, err := scorer.LoadAll(root, nil, scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, m := range ms {
			m.Close()
		}
	}()
	tws := []event.Tweet{
		{ID: "1", Text: "I love this, what a wonderful happy day", CreatedAt: time.Unix(1, 0)},
		{ID: "2", Text: "this is awful, I hate everything, worst day ever", CreatedAt: time.Unix(2, 0)},
	}
	for _, m := range ms {
		f := New(m, Options{})
		mds, err := f.ScoreTweets(context.Background(), tws)
		if err != nil {
			t.Fatal(err)
		}
		for _, md := range mds {
			if err := md.Validate("x"); err != nil {
				t.Fatalf("%s: %v", m.Name(), err)
			}
			sum := 0.0
			for _, p := range md.Probabilities {
				sum += p
			}
			if math.Abs(sum-1) > 1e-3 || len(md.Probabilities) != len(m.Labels()) {
				t.Fatalf("%s: probabilities %v", m.Name(), md.Probabilities)
			}
		}
		if m.Name() == "sentiment" && !(mds[0].Value > mds[1].Value) {
			t.Fatalf("sentiment: happy %.3f not above angry %.3f", mds[0].Value, mds[1].Value)
		}
		out, err := f.Handle(context.Background(), tweetEvent(t, 5))
		if err != nil || out.Extensions()[event.ExtModel] != m.Name() {
			t.Fatalf("%s: Handle = %v, %v", m.Name(), out, err)
		}
		f.Close(context.Background())
	}
}
