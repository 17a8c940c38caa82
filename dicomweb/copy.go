package dicomweb

import (
	"io"
	"sync"
)

// copyBuffers hold the buffers that DICOM files and frames are copied through: larger than
// io.Copy's 32 KiB for fewer system calls per file, and reused rather than allocated per copy.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyPooled is io.Copy through a pooled buffer.
func copyPooled(dst io.Writer, src io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(dst, src, *buf)
}
