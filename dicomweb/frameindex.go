package dicomweb

import (
	"encoding/json"
	"fmt"

	"github.com/medimg/medimg/dicomweb/ingest"
)

// storedFrameIndex is the compact JSON form of ingest.FrameIndex kept in the index row: each frame
// is a flat list of offset, length pairs (one pair per native frame, one per fragment otherwise),
// so that a frame request costs one row read and no file parse.
type storedFrameIndex struct {
	Encapsulated bool      `json:"encapsulated,omitempty"`
	Frames       [][]int64 `json:"frames"`
}

func encodeFrameIndex(fi ingest.FrameIndex) (string, error) {
	s := storedFrameIndex{Encapsulated: fi.Encapsulated, Frames: make([][]int64, len(fi.Frames))}
	for i, ranges := range fi.Frames {
		pairs := make([]int64, 0, 2*len(ranges))
		for _, r := range ranges {
			pairs = append(pairs, r.Offset, r.Length)
		}
		s.Frames[i] = pairs
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("dicomweb: encode frame index: %w", err)
	}
	return string(b), nil
}

func decodeFrameIndex(s string) (ingest.FrameIndex, error) {
	var st storedFrameIndex
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return ingest.FrameIndex{}, fmt.Errorf("dicomweb: decode frame index: %w", err)
	}
	fi := ingest.FrameIndex{Encapsulated: st.Encapsulated, Frames: make([][]ingest.Range, len(st.Frames))}
	for i, pairs := range st.Frames {
		if len(pairs)%2 != 0 {
			return ingest.FrameIndex{}, fmt.Errorf("dicomweb: decode frame index: frame %d has an odd number of values", i+1)
		}
		for j := 0; j < len(pairs); j += 2 {
			fi.Frames[i] = append(fi.Frames[i], ingest.Range{Offset: pairs[j], Length: pairs[j+1]})
		}
	}
	return fi, nil
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
