package dicomweb

import (
	"bufio"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/medimg/medimg/dicomweb/ingest"
)

// storedFrameIndex is the JSON form of ingest.FrameIndex kept in the index row, read on every frame
// request. Native frames, being equal ranges one after the other, are three numbers whatever the
// frame count ({"offset":…,"length":…,"count":…}), so frame 1,000 costs what frame 1 does and a
// claimed frame count allocates nothing; encapsulated frames are each a flat list of offset, length
// pairs, one per fragment. Native frames of a deflated file are "inflated": their offsets count from
// the start of the inflated dataset, whose deflate stream starts at dataset_start.
type storedFrameIndex struct {
	Encapsulated bool      `json:"encapsulated,omitempty"`
	Offset       int64     `json:"offset,omitempty"`
	Length       int64     `json:"length,omitempty"`
	Count        int       `json:"count,omitempty"`
	Inflated     bool      `json:"inflated,omitempty"`
	DatasetStart int64     `json:"dataset_start,omitempty"`
	Frames       [][]int64 `json:"frames,omitempty"`
}

func encodeFrameIndex(fi ingest.FrameIndex) (string, error) {
	s := storedFrameIndex{Encapsulated: fi.Encapsulated}
	if fi.Encapsulated {
		s.Frames = make([][]int64, len(fi.Frames))
		for i, ranges := range fi.Frames {
			pairs := make([]int64, 0, 2*len(ranges))
			for _, r := range ranges {
				pairs = append(pairs, r.Offset, r.Length)
			}
			s.Frames[i] = pairs
		}
	} else {
		s.Offset, s.Length, s.Count, s.Inflated, s.DatasetStart = fi.Offset, fi.Length, fi.Count, fi.Inflated, fi.DatasetStart
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("dicomweb: encode frame index: %w", err)
	}
	return string(b), nil
}

func decodeFrameIndex(s string) (*storedFrameIndex, error) {
	var st storedFrameIndex
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("dicomweb: decode frame index: %w", err)
	}
	for i, pairs := range st.Frames {
		if len(pairs)%2 != 0 {
			return nil, fmt.Errorf("dicomweb: decode frame index: frame %d has an odd number of values", i+1)
		}
	}
	return &st, nil
}

// count is the number of frames the index can address.
func (f *storedFrameIndex) count() int {
	if f.Count > 0 {
		return f.Count
	}
	return len(f.Frames)
}

// frame returns the byte ranges of frame n (1-based, n ≤ count()).
func (f *storedFrameIndex) frame(n int) []ingest.Range {
	if f.Count > 0 {
		return []ingest.Range{{Offset: f.Offset + int64(n-1)*f.Length, Length: f.Length}}
	}
	pairs := f.Frames[n-1]
	out := make([]ingest.Range, 0, len(pairs)/2)
	for j := 0; j < len(pairs); j += 2 {
		out = append(out, ingest.Range{Offset: pairs[j], Length: pairs[j+1]})
	}
	return out
}

// openRange opens one range of a frame of the stored file key. For a deflated file the range is in
// the inflated dataset: the deflate stream is read from its start and the bytes before the range
// are inflated and dropped (deflate cannot seek), so frame n of a deflated multi-frame instance
// costs inflating what precedes it — deflated files are rare and small; memory stays one buffer.
func (s *Service) openRange(ctx context.Context, key string, index *storedFrameIndex, r ingest.Range) (io.ReadCloser, error) {
	if !index.Inflated {
		return s.blobs.Open(ctx, key, r.Offset, r.Length)
	}
	rc, err := s.blobs.Open(ctx, key, index.DatasetStart, -1)
	if err != nil {
		return nil, err
	}
	zr := flate.NewReader(bufio.NewReaderSize(rc, 64<<10))
	if _, err := io.CopyN(io.Discard, zr, r.Offset); err != nil {
		rc.Close()
		return nil, fmt.Errorf("dicomweb: inflating %s to frame data: %w", key, err)
	}
	return inflatedRange{Reader: io.LimitReader(zr, r.Length), closers: []io.Closer{zr, rc}}, nil
}

// inflatedRange is a range of a deflate stream, closing the stream and the blob.
type inflatedRange struct {
	io.Reader
	closers []io.Closer
}

func (r inflatedRange) Close() error {
	var err error
	for _, c := range r.closers {
		err = errors.Join(err, c.Close())
	}
	return err
}

// encodeBulkData stores the bulk data ranges as {"path": [offset, length]}.
func encodeBulkData(m map[string]ingest.Range) (string, error) {
	out := make(map[string][2]int64, len(m))
	for path, r := range m {
		out[path] = [2]int64{r.Offset, r.Length}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("dicomweb: encode bulk data index: %w", err)
	}
	return string(b), nil
}
