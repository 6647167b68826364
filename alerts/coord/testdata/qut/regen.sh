#!/bin/sh
# Regenerates fixture.csv and the QUT coordination-network-toolkit's networks
# of it (golden_<kind>_<window>.csv), which qut_test.go compares with the
# engine's. Needs Debian's python3 with python3-regex, python3-networkx,
# python3-urllib3 and python3-requests, and the toolkit at $T (default: the
# copy in /work/shared/tools, commit daa0e11f3543756bc62950c630deae01b4702590).
#
# The toolkit's own CSV ingest (preprocess --format csv) turns an empty urls
# field into one empty URL and then co-links every pair of link-less
# messages (see the toolkit copy's RUN.md), so the rows are ingested with its
# preprocess_data and the empty URLs left out; everything else is the
# toolkit's own code, run as its CLI runs it.
#
# Each golden is the toolkit's <kind>_network table as is: one row per
# direction (user_1 -> user_2 with the toolkit's weight), self-loops
# included (the test leaves those out, as the toolkit's graph export does).
set -eu
cd "$(dirname "$0")"
T=${T:-/work/shared/tools/qut-coordination-network-toolkit}
PY=${PY:-/usr/bin/python3}
export PYTHONPATH="$T:$T/stub"
$PY gen_fixture.py > fixture.csv
db=$(mktemp -d)/qut.db
$PY - "$db" <<'PYEOF'
import csv, sys
from coordination_network_toolkit.preprocess import preprocess_data
with open("fixture.csv", encoding="utf-8") as f:
    r = csv.reader(f)
    next(r)
    preprocess_data(sys.argv[1], ((*row[:-1], [u for u in row[-1].split(" ") if u]) for row in r))
PYEOF
for w in 60 600; do
  for kind in co_retweet co_link co_reply co_tweet; do
    $PY -m coordination_network_toolkit "$db" compute $kind --time_window $w --min_edge_weight 1 >/dev/null
    $PY - "$db" $kind > golden_${kind}_$w.csv <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("user_1,user_2,weight")
for u1, u2, wt in db.execute(f"select user_1, user_2, weight from {sys.argv[2]}_network order by user_1, user_2"):
    print(f"{u1},{u2},{wt}")
PYEOF
  done
done
rm -r "$(dirname "$db")"
