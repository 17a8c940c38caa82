package dicomweb

import (
	"encoding/json"
	"fmt"

	"github.com/medimg/medimg/dicomweb/ingest"
)

// storedFrameIndex is the JSON form of ingest.FrameIndex kept in the index row, read on every frame
// request. Native frames, being equal ranges one after the other, are three numbers whatever the
// frame count ({"offset":…,"length":…,"count":…}), so frame 1,000 costs what frame 1 does;
// otherwise each frame is a flat list of offset, length pairs, one per fragment.
type storedFrameIndex struct {
	Encapsulated bool      `json:"encapsulated,omitempty"`
	Offset       int64     `json:"offset,omitempty"`
	Length       int64     `json:"length,omitempty"`
	Count        int       `json:"count,omitempty"`
	Frames       [][]int64 `json:"frames,omitempty"`
}

func encodeFrameIndex(fi ingest.FrameIndex) (string, error) {
	var s storedFrameIndex
	if contiguous(fi) {
		s.Offset, s.Length, s.Count = fi.Frames[0][0].Offset, fi.Frames[0][0].Length, len(fi.Frames)
	} else {
		s.Encapsulated, s.Frames = fi.Encapsulated, make([][]int64, len(fi.Frames))
		for i, ranges := range fi.Frames {
			pairs := make([]int64, 0, 2*len(ranges))
			for _, r := range ranges {
				pairs = append(pairs, r.Offset, r.Length)
			}
			s.Frames[i] = pairs
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("dicomweb: encode frame index: %w", err)
	}
	return string(b), nil
}

// contiguous reports native frames of one equal range each, one after the other.
func contiguous(fi ingest.FrameIndex) bool {
	if fi.Encapsulated || len(fi.Frames) == 0 {
		return false
	}
	first := fi.Frames[0]
	if len(first) != 1 {
		return false
	}
	for i, f := range fi.Frames {
		if len(f) != 1 || f[0].Length != first[0].Length || f[0].Offset != first[0].Offset+int64(i)*first[0].Length {
			return false
		}
	}
	return true
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
