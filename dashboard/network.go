package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

// The network view of a coordination alert (GET /api/network?alert=ID):
// the alert's accounts as nodes, and between two of them an edge whose
// weight counts the items both acted on (the same retweeted tweet, URL,
// replied-to tweet or identical text, as alerts/signal defines them, plus
// the alert's own group of similar texts), over the alert's window widened
// by networkPad on each side. It is read from the stored tweets, so it
// shows what the accounts did around the alert, not only what the engine
// held when it alerted.

// Bounds of one network answer.
const (
	maxNetworkAccounts = 200
	maxNetworkTweets   = 5000
	maxNetworkItems    = 200
	maxNetworkList     = 500
	maxCoActors        = 50
	networkPad         = 10 * time.Minute
	maxAlertIDRunes    = 300
)

// networkKinds are the signals whose shared items make edges. co-hashtag
// and co-mention are left out, as in the engine: organic trends share them.
var networkKinds = []signal.Kind{signal.CoRetweet, signal.CoLink, signal.CoReply, signal.CoTweet}

// Network is the answer of /api/network.
type Network struct {
	Alert event.Alert   `json:"alert"`
	From  int64         `json:"from"` // the tweets read, Unix ms [From, To)
	To    int64         `json:"to"`
	Nodes []NetworkNode `json:"nodes"`
	Edges []NetworkEdge `json:"edges"`
	// Items are the shared items, most accounts first; edges refer to
	// them by index.
	Items []NetworkItem `json:"items"`
	// Tweets counts the accounts' tweets read; Truncated says a bound was
	// hit (tweets, items or accounts), so the view is partial.
	Tweets    int  `json:"tweets"`
	Truncated bool `json:"truncated"`
	// List is those tweets, oldest first (at most maxNetworkList): the
	// drill-down from the alert to what its accounts posted.
	List []NetworkTweet `json:"list"`
}

// NetworkTweet is one tweet of the drill-down.
type NetworkTweet struct {
	ID        string   `json:"id"`
	Time      int64    `json:"time"` // Unix ms
	Node      int      `json:"node"` // index into Nodes
	Text      string   `json:"text"`
	RetweetOf string   `json:"retweet_of,omitempty"`
	ReplyTo   string   `json:"reply_to,omitempty"`
	URLs      []string `json:"urls,omitempty"`
	// InAlert: the alert names this tweet.
	InAlert bool `json:"in_alert"`
}

// NetworkNode is one account.
type NetworkNode struct {
	ID     string `json:"id"` // the account key: user id, else handle
	Handle string `json:"handle"`
	Tweets int    `json:"tweets"` // its tweets in the range
	// InAlert: the alert names this account; the others co-acted with its
	// accounts on two or more of their shared items.
	InAlert bool `json:"in_alert"`
}

// NetworkEdge joins two accounts (indexes into Nodes, A < B).
type NetworkEdge struct {
	A      int   `json:"a"`
	B      int   `json:"b"`
	Weight int   `json:"weight"`
	Items  []int `json:"items"`
}

// NetworkItem is one thing several of the accounts did.
type NetworkItem struct {
	Kind     string   `json:"kind"` // a signal kind, or "co-similar" for the alert's group
	Key      string   `json:"key"`
	Label    string   `json:"label"` // a text to show: the URL, the tweet's text
	Accounts []int    `json:"accounts"`
	TweetIDs []string `json:"tweet_ids"`
}

func (s *Server) network(ctx context.Context, q queryParams) (any, error) {
	id, err := q.text("alert", maxAlertIDRunes)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, badParam("alert", "give an alert id")
	}
	if s.alerts == nil {
		return nil, badParam("alert", "this dashboard has no alerts store")
	}
	a, ok, err := s.store.alert(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badParam("alert", "no alert %q", clip(id, 40))
	}
	if a.Kind != event.AlertCoordination || len(a.Accounts) == 0 {
		return nil, badParam("alert", "%q is a %s alert without accounts: only coordination alerts have a network", clip(id, 40), a.Kind)
	}
	from, to := a.WindowStart.Add(-networkPad), a.WindowEnd.Add(networkPad)
	tweets, truncated, err := s.store.accountTweets(ctx, a.Accounts, from, to)
	if err != nil {
		return nil, err
	}
	n := buildNetwork(a, tweets)
	// The group around the alert: other accounts that retweeted or replied
	// to two or more of the items the alert's accounts shared (a pair
	// alert's ring). Their co-actions join the network.
	more, capped, err := s.store.coActors(ctx, n, from, to)
	if err != nil {
		return nil, err
	}
	if len(more) > 0 {
		tweets = append(tweets, more...)
		slices.SortStableFunc(tweets, func(x, y event.Tweet) int { return x.CreatedAt.Compare(y.CreatedAt) })
		n = buildNetwork(a, tweets)
	}
	n.From, n.To = from.UnixMilli(), to.UnixMilli()
	n.Truncated = n.Truncated || truncated || capped
	return n, nil
}

// coActors returns the retweets and replies, in [from, to), of accounts
// not yet in n that acted on at least two of n's shared retweeted or
// replied-to tweets: at most maxCoActors accounts, those with the most
// such items first (capped reports that some were left out).
func (s *Store) coActors(ctx context.Context, n Network, from, to time.Time) ([]event.Tweet, bool, error) {
	var keys []any
	for _, it := range n.Items {
		if it.Kind == string(signal.CoRetweet) || it.Kind == string(signal.CoReply) {
			keys = append(keys, it.Key)
		}
	}
	if len(keys) < 2 {
		return nil, false, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",")
	args := append(append([]any{from.UnixMilli(), to.UnixMilli()}, keys...), keys...)
	args = append(args, maxNetworkTweets+1)
	tweets, truncated, err := s.networkTweets(ctx, `(retweet_of IN (`+marks+`) OR reply_to IN (`+marks+`))`, args)
	if err != nil {
		return nil, false, err
	}
	known := map[string]bool{}
	for _, nd := range n.Nodes {
		known[nd.ID] = true
	}
	items := map[string]map[string]bool{} // account -> items acted on
	for i := range tweets {
		k := signal.Account(&tweets[i])
		if known[k] {
			continue
		}
		if items[k] == nil {
			items[k] = map[string]bool{}
		}
		items[k][tweets[i].RetweetOf+"\x00"+tweets[i].ReplyTo] = true
	}
	var accts []string
	for k, its := range items {
		if len(its) >= 2 {
			accts = append(accts, k)
		}
	}
	slices.SortFunc(accts, func(x, y string) int {
		if d := len(items[y]) - len(items[x]); d != 0 {
			return d
		}
		return strings.Compare(x, y)
	})
	capped := truncated || len(accts) > maxCoActors
	keep := map[string]bool{}
	for _, k := range accts[:min(len(accts), maxCoActors)] {
		keep[k] = true
	}
	var out []event.Tweet
	for _, t := range tweets {
		if keep[signal.Account(&t)] {
			out = append(out, t)
		}
	}
	return out, capped, nil
}

// alert reads one stored alert by id, from the alerts table the alerts
// store keeps in the same database (alerts/store has no lookup by id).
func (s *Store) alert(ctx context.Context, id string) (event.Alert, bool, error) {
	var data string
	err := s.db.QueryRowContext(ctx, "SELECT data FROM alerts WHERE id = ?", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return event.Alert{}, false, nil
	}
	if err != nil {
		return event.Alert{}, false, fmt.Errorf("dashboard: alert %s: %w", id, err)
	}
	var a event.Alert
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return a, false, fmt.Errorf("dashboard: alert %s: stored data: %w", id, err)
	}
	return a, true, nil
}

// accountTweets reads the tweets of accounts (handles or user ids) in
// [from, to), oldest first, at most maxNetworkTweets (truncated then).
func (s *Store) accountTweets(ctx context.Context, accounts []string, from, to time.Time) ([]event.Tweet, bool, error) {
	capped := len(accounts) > maxNetworkAccounts
	if capped {
		accounts = accounts[:maxNetworkAccounts]
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(accounts)), ",")
	args := []any{from.UnixMilli(), to.UnixMilli()}
	for range 2 {
		for _, a := range accounts {
			args = append(args, a)
		}
	}
	args = append(args, maxNetworkTweets+1)
	out, truncated, err := s.networkTweets(ctx, `(user IN (`+marks+`) OR user_id IN (`+marks+`))`, args)
	return out, truncated || capped, err
}

// networkTweets reads the tweets in a time range matching cond, oldest
// first: args are the range's two ends, cond's values, and the limit,
// maxNetworkTweets+1 (more is truncated).
func (s *Store) networkTweets(ctx context.Context, cond string, args []any) ([]event.Tweet, bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, created_at, user, COALESCE(user_id, ''), text,
		COALESCE(retweet_of, ''), COALESCE(reply_to, ''), COALESCE(urls, '')
		FROM tweets WHERE created_at >= ? AND created_at < ? AND `+cond+`
		ORDER BY created_at, id LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("dashboard: network tweets: %w", err)
	}
	defer rows.Close()
	var out []event.Tweet
	for rows.Next() {
		var t event.Tweet
		var ms int64
		var urls string
		if err := rows.Scan(&t.ID, &ms, &t.User, &t.UserID, &t.Text, &t.RetweetOf, &t.ReplyTo, &urls); err != nil {
			return nil, false, fmt.Errorf("dashboard: network tweets: %w", err)
		}
		t.CreatedAt = time.UnixMilli(ms).UTC()
		if urls != "" {
			if err := json.Unmarshal([]byte(urls), &t.URLs); err != nil {
				return nil, false, fmt.Errorf("dashboard: tweet %s: urls: %w", t.ID, err)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("dashboard: network tweets: %w", err)
	}
	if len(out) > maxNetworkTweets {
		return out[:maxNetworkTweets], true, nil
	}
	return out, false, nil
}

// buildNetwork makes the network of a's accounts from their tweets.
func buildNetwork(a event.Alert, tweets []event.Tweet) Network {
	n := Network{Alert: a, Tweets: len(tweets), Nodes: []NetworkNode{}, Edges: []NetworkEdge{}, Items: []NetworkItem{},
		List: []NetworkTweet{}}
	node := map[string]int{}
	acct := func(t *event.Tweet) int {
		k := signal.Account(t)
		i, ok := node[k]
		if !ok {
			i = len(n.Nodes)
			node[k] = i
			n.Nodes = append(n.Nodes, NetworkNode{ID: k, Handle: t.User,
				InAlert: slices.Contains(a.Accounts, k) || slices.Contains(a.Accounts, t.User)})
		}
		return i
	}
	type itemKey struct {
		kind signal.Kind
		key  string
	}
	items := map[itemKey]*NetworkItem{}
	var order []itemKey
	add := func(k itemKey, label string, who int, tweetID string) {
		it := items[k]
		if it == nil {
			it = &NetworkItem{Kind: string(k.kind), Key: k.key, Label: label}
			items[k] = it
			order = append(order, k)
		}
		if !slices.Contains(it.Accounts, who) {
			it.Accounts = append(it.Accounts, who)
		}
		it.TweetIDs = append(it.TweetIDs, tweetID)
	}
	group := map[string]bool{}
	for _, id := range a.TweetIDs {
		group[id] = true
	}
	var keys []string
	for i := range tweets {
		t := &tweets[i]
		who := acct(t)
		n.Nodes[who].Tweets++
		if len(n.List) < maxNetworkList {
			n.List = append(n.List, NetworkTweet{ID: t.ID, Time: t.CreatedAt.UnixMilli(), Node: who, Text: t.Text,
				RetweetOf: t.RetweetOf, ReplyTo: t.ReplyTo, URLs: t.URLs, InAlert: group[t.ID]})
		} else {
			n.Truncated = true
		}
		if group[t.ID] {
			add(itemKey{signal.CoSimilar, a.ID}, t.Text, who, t.ID)
		}
		for _, kind := range networkKinds {
			keys, _ = signal.AppendKeys(keys[:0], kind, t)
			for _, k := range keys {
				label := k
				if kind != signal.CoLink {
					label = t.Text
				}
				add(itemKey{kind, k}, label, who, t.ID)
			}
		}
	}
	// Shared items only (two accounts or more), most accounts first.
	var shared []*NetworkItem
	for _, k := range order {
		if it := items[k]; len(it.Accounts) >= 2 {
			shared = append(shared, it)
		}
	}
	slices.SortStableFunc(shared, func(x, y *NetworkItem) int { return len(y.Accounts) - len(x.Accounts) })
	if len(shared) > maxNetworkItems {
		shared, n.Truncated = shared[:maxNetworkItems], true
	}
	edges := map[[2]int]*NetworkEdge{}
	var edgeOrder [][2]int
	for idx, it := range shared {
		slices.Sort(it.Accounts)
		n.Items = append(n.Items, *it)
		for i, x := range it.Accounts {
			for _, y := range it.Accounts[i+1:] {
				k := [2]int{x, y}
				e := edges[k]
				if e == nil {
					e = &NetworkEdge{A: x, B: y}
					edges[k] = e
					edgeOrder = append(edgeOrder, k)
				}
				e.Weight++
				e.Items = append(e.Items, idx)
			}
		}
	}
	for _, k := range edgeOrder {
		n.Edges = append(n.Edges, *edges[k])
	}
	return n
}
