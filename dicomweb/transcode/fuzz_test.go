package transcode

import (
	"bytes"
	"io"
	"testing"
)

// FuzzTranscode feeds random datasets, behind a valid meta group saying implicit VR little
// endian, to the implicit → explicit transcoding: it may fail, never panic or allocate what a
// length field claims.
func FuzzTranscode(f *testing.F) {
	src := realFile(f, "testdata/mr_implicit_little_endian.dcm")
	m, err := readMeta(bytes.NewReader(src.data), int64(len(src.data)))
	if err != nil {
		f.Fatal(err)
	}
	head := src.data[:m.datasetStart]
	f.Add(src.data[m.datasetStart:])
	f.Add(src.data[m.datasetStart : m.datasetStart+2000])
	// A sequence of undefined length holding an undefined-length item with one element.
	f.Add([]byte{
		0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, // ReferencedSeriesSequence, undefined
		0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF, // item, undefined
		0x28, 0x00, 0x06, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, // (0028,0106) 2 bytes
		0xFE, 0xFF, 0x0D, 0xE0, 0x00, 0x00, 0x00, 0x00, // item delimiter
		0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00, // sequence delimiter
	})
	f.Fuzz(func(t *testing.T, dataset []byte) {
		data := append(append([]byte(nil), head...), dataset...)
		_ = Transcode(io.Discard, bytes.NewReader(data), int64(len(data)), ImplicitVRLittleEndian, ExplicitVRLittleEndian)
	})
}
