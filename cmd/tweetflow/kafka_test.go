package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// kafka aggregate takes its store from --db like run (it once read only
// SQLITE_PATH and had no --db); with a stopped context it opens the store
// first, and with a stopped context fails there, naming the file.
func TestKafkaAggregateTakesDB(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("SQLITE_PATH", filepath.Join(t.TempDir(), "env.db"))
	db := filepath.Join(t.TempDir(), "flag.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"kafka", "aggregate", "--db", db, "--models-dir", "../../models", "--kafka-brokers", c.ListenAddrs()[0], "--metrics-addr", ""})
	err = root.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), db) {
		t.Fatalf("kafka aggregate --db = %v, want the store named by --db opened (and stopped by the context)\n%s", err, out.String())
	}
	if _, err := os.Stat(os.Getenv("SQLITE_PATH")); err == nil {
		t.Fatal("SQLITE_PATH was used although --db was given")
	}
}
