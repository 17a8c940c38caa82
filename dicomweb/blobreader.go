package dicomweb

import (
	"context"
	"io"

	"github.com/medimg/medimg/storage"
)

// blobReaderAt reads a stored object at random offsets for the transcoder, in blocks: the
// transcoder walks the file element by element, and one ranged read of the store per element
// would cost a request each on S3. It keeps the last block, which serves a sequential walk.
type blobReaderAt struct {
	ctx   context.Context
	blobs storage.Store
	key   string
	size  int64
	start int64
	block []byte
}

const blobBlockSize = 1 << 20

func (b *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= b.size {
			return n, io.EOF
		}
		if b.block == nil || pos < b.start || pos >= b.start+int64(len(b.block)) {
			if err := b.fill(pos); err != nil {
				return n, err
			}
		}
		n += copy(p[n:], b.block[pos-b.start:])
	}
	return n, nil
}

func (b *blobReaderAt) fill(pos int64) error {
	start := pos - pos%blobBlockSize
	length := min(int64(blobBlockSize), b.size-start)
	rc, err := b.blobs.Open(b.ctx, b.key, start, length)
	if err != nil {
		return err
	}
	defer rc.Close()
	if cap(b.block) < int(length) {
		b.block = make([]byte, length)
	}
	b.block = b.block[:length]
	if _, err := io.ReadFull(rc, b.block); err != nil {
		b.block = nil
		return err
	}
	b.start = start
	return nil
}
