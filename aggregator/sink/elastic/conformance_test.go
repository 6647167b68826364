package elastic_test

import (
	"context"
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (sinktest.Harness, error) {
		return elastictest.NewHarness(t), nil
	})
}
