package elastic

import (
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status      int
		typ, reason string
		want        sink.Code
	}{
		{429, "es_rejected_execution_exception", "rejected execution", sink.Transient},
		{429, "cluster_block_exception", "index [t] blocked by: [TOO_MANY_REQUESTS/12/index read-only / allow delete (api)];", sink.Transient},
		{403, "cluster_block_exception", "index [t] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];", sink.Transient},
		{403, "cluster_block_exception", "index [t] blocked by: [FORBIDDEN/8/index write (api)];", sink.Transient},
		{403, "cluster_block_exception", "index [t] blocked by: [FORBIDDEN/4/index closed];", sink.Transient},
		{403, "security_exception", "action [indices:data/write/bulk[s]] is unauthorized for user [u]", sink.Transient},
		{400, "index_closed_exception", "closed", sink.Transient},
		{503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];", sink.Transient},
		{400, "strict_dynamic_mapping_exception", "mapping set to strict", sink.Permanent},
		{409, "version_conflict_engine_exception", "", sink.Transient},
		{404, "index_not_found_exception", "", sink.Transient},
		{0, "request", "connection reset", sink.Transient},
	} {
		if got := classify(tc.status, tc.typ, tc.reason); got != tc.want {
			t.Errorf("classify(%d, %s, %q) = %v, want %v", tc.status, tc.typ, tc.reason, got, tc.want)
		}
	}
	if m := wholeRequestStatus.FindStringSubmatch("flush: [400 Bad Request] {}"); m == nil || m[1] != "400" {
		t.Errorf("whole-request status not read: %v", m)
	}
}
