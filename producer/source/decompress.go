package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns the stream's content: gunzipped or zstd-decoded when
// its first bytes say so (the name is not looked at: a .jsonl may be
// compressed, a .gz may not). The closer, when not nil, releases the
// decoder; it does not close raw.
func decompress(raw io.Reader, name string) (io.Reader, io.Closer, error) {
	br := bufio.NewReaderSize(raw, 64<<10)
	magic, err := br.Peek(len(zstdMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("source %s: read: %w", name, err)
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br) // multistream: concatenated members read as one
		if err != nil {
			return nil, nil, fmt.Errorf("source %s: gzip: %w", name, err)
		}
		return zr, zr, nil
	case bytes.Equal(magic, zstdMagic):
		// One decoding goroutine a file: a merge of many files would
		// otherwise start GOMAXPROCS of them for each.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("source %s: zstd: %w", name, err)
		}
		return zr, zstdCloser{zr}, nil
	}
	return br, nil, nil
}

type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Close() error { z.d.Close(); return nil }
