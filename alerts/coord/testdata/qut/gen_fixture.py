"""Writes fixture.csv: a small replay in the QUT toolkit's CSV layout, dense in
co-actions (few accounts, retweeted tweets, reply targets, links and texts),
with an account acting twice on one key, exact window boundaries, a
duplicated row and texts differing only in case, @mentions and white space.
Deterministic (seeded); run by regen.sh."""
import csv
import random
import sys

rng = random.Random(11)
T0 = 1606451170.518101
texts = [
    "Vote early this year", "the election is RIGGED", "Share this before they delete it",
    "Polls open at 8am", "Stop the steal, now", "nothing to see here", "we need answers",
    "They lied to you", "watch the debate tonight", "Read the report",
]
rows = []
t = T0
for i in range(700):
    t += rng.choice([0.0, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 45.0, 60.0]) + rng.random() * rng.choice([0, 0, 1, 7])
    u = rng.randrange(30)
    mid = str(900000 + i)
    repost = reply = ""
    urls = []
    kind = rng.random()
    if kind < 0.3:
        repost = str(100 + rng.randrange(12))
        text = "RT original " + repost
    else:
        if kind < 0.45:
            reply = str(100 + rng.randrange(8))
        text = rng.choice(texts)
        if rng.random() < 0.3:
            text = text.upper()
        if rng.random() < 0.3:
            text = "@user%d  %s" % (rng.randrange(5), text)
        if rng.random() < 0.2:
            text = text + "   @user%d" % rng.randrange(5)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            urls.append("https://news.example/story/%d" % rng.randrange(10))
        urls = list(dict.fromkeys(urls))
    rows.append([mid, "u%02d" % u, "handle%02d" % u, repost, reply, text, "%.6f" % t, " ".join(urls)])

# exact boundaries: two accounts retweeting and linking exactly 60 s apart
b = t + 1000.0
rows.append(["990001", "u90", "handle90", "777", "", "RT x", "%.6f" % b, ""])
rows.append(["990002", "u91", "handle91", "777", "", "RT x", "%.6f" % (b + 60.0), ""])
rows.append(["990003", "u92", "handle92", "777", "", "RT x", "%.6f" % (b + 120.25), ""])
rows.append(["990004", "u90", "handle90", "", "", "link", "%.6f" % (b + 200.0), "https://b.example/x"])
rows.append(["990005", "u91", "handle91", "", "", "link", "%.6f" % (b + 260.0), "https://b.example/x"])
# a duplicated row (the same message id twice): counted once
rows.append(rows[-1][:])
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"])
w.writerows(rows)
