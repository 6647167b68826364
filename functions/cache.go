package functions

import (
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tweetflow/tweetflow/model"
)

// scoreCache holds recent predictions by (model version, text). Entries are
// never changed after they are added (their Probs are the cache's own), so
// a hit is shared read-only by every metadata built from it.
type scoreCache struct {
	lru          *lru.Cache[cacheKey, model.Prediction]
	hits, misses atomic.Int64
}

type cacheKey struct{ version, text string }

// newScoreCache returns nil for a size below 1 (no cache).
func newScoreCache(size int) *scoreCache {
	if size < 1 {
		return nil
	}
	c, err := lru.New[cacheKey, model.Prediction](size)
	if err != nil { // only for a size below 1
		return nil
	}
	return &scoreCache{lru: c}
}

func (c *scoreCache) get(version, text string) (model.Prediction, bool) {
	p, ok := c.lru.Get(cacheKey{version, text})
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return p, ok
}

func (c *scoreCache) add(version, text string, p model.Prediction) {
	c.lru.Add(cacheKey{version, text}, p)
}

// CacheStats are the cache's lookups since the Function started: hits cost
// no model call. Scored is the texts the model scored: the misses less the
// repeats of a text within one batch, which share its one model call.
type CacheStats struct {
	Hits, Misses, Scored int64
}

// CacheStats reports the score cache's hits and misses (zero when off) and
// the texts scored.
func (f *Function) CacheStats() CacheStats {
	if f.cache == nil {
		return CacheStats{Scored: f.scored.Load()}
	}
	return CacheStats{Hits: f.cache.hits.Load(), Misses: f.cache.misses.Load(), Scored: f.scored.Load()}
}
