package functionstest_test

import (
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/functions/functionstest"
)

var _ functions.Scorer = (*functionstest.Scorer)(nil)
