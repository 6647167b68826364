package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// sniffBytes is how much of a file detect may look at (and the read buffer
// of every file): the first line of a twarc2 page with its includes is
// may be longer, but the decision mostly comes from the first key. It equals
// lines.Reader's largest buffer, so the readers reuse this one.
const sniffBytes = 256 << 10

// Keys that only one API version writes at the top level of a line.
var (
	v2Keys = map[string]bool{"data": true, "includes": true, "meta": true, "errors": true, "author_id": true, "author": true,
		"edit_history_tweet_ids": true, "conversation_id": true, "referenced_tweets": true, "public_metrics": true, "note_tweet": true}
	v1Keys = map[string]bool{"id_str": true, "full_text": true, "user": true, "retweeted_status": true, "quoted_status": true,
		"extended_tweet": true, "truncated": true, "in_reply_to_status_id_str": true, "statuses": true, "retweet_count": true,
		"favorite_count": true, "delete": true, "limit": true, "scrub_geo": true, "status_withheld": true}
)

// detect decides a file's format from its first bytes, without consuming
// them.
func detect(br *bufio.Reader, name string) (Format, error) {
	head, err := br.Peek(sniffBytes)
	// A stream that fails after some bytes (a gzip file cut short) is
	// decided on those; its reader meets the failure at its line.
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) && len(head) == 0 {
		return "", fmt.Errorf("source %s: read: %w", name, err)
	}
	b := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return CSV, nil // nothing to read either way
	}
	first := b
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	switch b[0] {
	case '[':
		return TwitterV1, nil // a saved v1.1 timeline; v2 lines are objects
	case '{':
		if f, ok := jsonShape(first); ok {
			return f, nil
		}
		return "", fmt.Errorf("source %s: JSON, but its first line's keys are neither Twitter API v2's nor v1.1's: give --format twitter-v2 or twitter-v1", name)
	}
	if isQUTHeader(bytes.TrimSuffix(first, []byte("\r"))) {
		return QUT, nil
	}
	return CSV, nil
}

// jsonShape reads the first object's top-level keys until one is decisive.
func jsonShape(line []byte) (Format, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := t.(string)
		switch {
		case v2Keys[key]:
			return TwitterV2, true
		case v1Keys[key]:
			return TwitterV1, true
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", false // cut off before a decisive key
		}
		switch key {
		case "id": // v2 writes ids as strings, v1.1 as numbers
			switch v.(type) {
			case string:
				return TwitterV2, true
			case json.Number:
				return TwitterV1, true
			}
		case "created_at":
			s, _ := v.(string)
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return TwitterV2, true
			}
			if _, err := time.Parse("Mon Jan 02 15:04:05 -0700 2006", s); err == nil {
				return TwitterV1, true
			}
		}
	}
	return "", false
}

// isQUTHeader: the toolkit's header, ignoring case, spaces and quotes.
func isQUTHeader(line []byte) bool {
	got := strings.Split(string(line), ",")
	want := strings.Split(csv.QUTHeader, ",")
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.EqualFold(strings.Trim(strings.TrimSpace(got[i]), `"`), want[i]) {
			return false
		}
	}
	return true
}
