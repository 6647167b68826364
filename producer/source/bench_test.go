package source

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// drain reads a whole source and returns the tweets read.
func drain(b *testing.B, paths []string, opts Options) int {
	s, err := Open(paths, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := 0
	if err := csv.Drain(context.Background(), s, func(csv.Row) { n++ }, nil); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchFiles reads paths through Open (merged when several): bytes/s of
// the files, allocations and tweets/s.
func benchFiles(b *testing.B, paths []string, opts Options) {
	var size int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += st.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += drain(b, paths, opts)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tweets/s")
}

// repeated writes data n times into dir/name (compressed by enc if set).
func repeated(b *testing.B, dir, name string, data []byte, n int, enc func([]byte) []byte) string {
	all := bytes.Repeat(data, n)
	if enc != nil {
		all = enc(all)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, all, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReaders: tweets/s of each format through Open (auto detection,
// the row-error wrapper), on one core with GOMAXPROCS=1.
func BenchmarkReaders(b *testing.B) {
	dir := b.TempDir()
	read := func(p string) []byte {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	pages := read(filepath.Join(v2dir, "noflat.jsonl"))
	flat := read(filepath.Join(v2dir, "flat.jsonl"))
	v1 := read(filepath.Join(v1dir, "statuses.jsonl"))
	var qut bytes.Buffer
	qut.WriteString("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n")
	for i := range 20000 {
		fmt.Fprintf(&qut, "%d,%d,user%d,%s,,\"some text, number %d, with a link\",%d.%06d,https://example.com/%d\n",
			1000000+i, i%500, i%500, map[bool]string{true: "999", false: ""}[i%2 == 0], i, 1606451170+i, i%1000000, i%97)
	}
	bz := func(d []byte) []byte { return gzBench(b, d) }
	zs := func(d []byte) []byte { return zstBench(b, d) }
	for _, tc := range []struct {
		name string
		path string
		opts Options
	}{
		{"sentiment140", "../../data/sample.csv", Options{}},
		{"qut", repeated(b, dir, "q.csv", qut.Bytes(), 1, nil), Options{}},
		{"twitter-v2-pages", repeated(b, dir, "p.jsonl", pages, 10, nil), Options{}},
		{"twitter-v2-flat", repeated(b, dir, "f.jsonl", flat, 10, nil), Options{}},
		{"twitter-v1", repeated(b, dir, "v1.jsonl", v1, 500, nil), Options{}},
		{"twitter-v2-pages.gz", repeated(b, dir, "p.jsonl.gz", pages, 10, bz), Options{}},
		{"twitter-v2-pages.zst", repeated(b, dir, "p.jsonl.zst", pages, 10, zs), Options{}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchFiles(b, []string{tc.path}, tc.opts) })
	}
}

// BenchmarkMerge: the same 20,000 QUT rows as one file and split round-robin
// over 2, 8 and 64 files (interleaved timestamps, so the merge alternates
// between files on every row): the cost of the k-way merge.
func BenchmarkMerge(b *testing.B) {
	for _, k := range []int{1, 2, 8, 64} {
		dir := b.TempDir()
		files := make([]*bytes.Buffer, k)
		for i := range files {
			files[i] = bytes.NewBufferString("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls\n")
		}
		for i := range 20000 {
			fmt.Fprintf(files[i%k], "%d,%d,u,,,\"text number %d\",%d.5,\n", i, i%500, i, 1606451170+i)
		}
		var paths []string
		for i, f := range files {
			p := filepath.Join(dir, fmt.Sprintf("part%02d.csv", i))
			if err := os.WriteFile(p, f.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
			paths = append(paths, p)
		}
		b.Run(fmt.Sprintf("files=%d", k), func(b *testing.B) { benchFiles(b, paths, Options{}) })
	}
}
