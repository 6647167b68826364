// Package commalist splits the comma-separated lists that flags and
// environment variables carry (--models, --data, ES_URL, KAFKA_BROKERS):
// one rule for all of them, so "a, b,,c " means a, b and c everywhere.
package commalist

import "strings"

// Split splits s at commas, trims each item and drops the empty ones; it
// returns nil when no item is left.
func Split(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
