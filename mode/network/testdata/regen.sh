#!/bin/sh
# Regenerates the QUT coordination-network-toolkit's co-similarity networks
# of the fixture of alerts/coord/testdata/qut (made by its regen.sh), which
# network_test.go compares with `tweetflow network --kind co-similar`:
# golden_co_similar_tweet_<window>.csv, the toolkit's co_similar_tweet_network
# table as is (one row per direction, self-loops included), at the toolkit's
# defaults (--similarity_threshold 0.8, --min_document_size_similarity 1).
# The toolkit's own CSV ingest is used: its empty-URL defect (RUN.md) touches
# only co-link. Needs Debian's python3 with python3-regex, python3-networkx,
# python3-urllib3 and python3-requests, and the toolkit at $T (default: the
# copy in /work/shared/tools, commit daa0e11f3543756bc62950c630deae01b4702590).
set -eu
cd "$(dirname "$0")"
T=${T:-/work/shared/tools/qut-coordination-network-toolkit}
PY=${PY:-/usr/bin/python3}
export PYTHONPATH="$T:$T/stub"
dir=$(mktemp -d)
$PY -m coordination_network_toolkit "$dir/qut.db" preprocess --format csv ../../../alerts/coord/testdata/qut/fixture.csv >/dev/null 2>&1
for w in 60 600; do
  $PY -m coordination_network_toolkit "$dir/qut.db" compute co_similar_tweet --time_window $w --min_edge_weight 1 >/dev/null 2>&1
  $PY -c 'import sqlite3, sys
print("user_1,user_2,weight")
for row in sqlite3.connect(sys.argv[1]).execute("select user_1, user_2, weight from co_similar_tweet_network order by user_1, user_2"):
    print(",".join(map(str, row)))' "$dir/qut.db" > golden_co_similar_tweet_$w.csv
done
rm -r "$dir"
