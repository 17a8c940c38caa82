package dicomweb

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb/ingest"
)

func TestFrameIndexRoundTrip(t *testing.T) {
	tests := map[string]ingest.FrameIndex{
		"native_compact": {Frames: [][]ingest.Range{{{Offset: 100, Length: 8}}, {{Offset: 108, Length: 8}}, {{Offset: 116, Length: 8}}}},
		"native_gap":     {Frames: [][]ingest.Range{{{Offset: 100, Length: 8}}, {{Offset: 120, Length: 8}}}},
		"encapsulated": {Encapsulated: true, Frames: [][]ingest.Range{
			{{Offset: 300, Length: 10}, {Offset: 318, Length: 4}}, {{Offset: 330, Length: 7}},
		}},
	}
	for name, fi := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := encodeFrameIndex(fi)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeFrameIndex(s)
			if err != nil {
				t.Fatal(err)
			}
			if got.count() != len(fi.Frames) {
				t.Fatalf("count %d, want %d (%s)", got.count(), len(fi.Frames), s)
			}
			for i := range fi.Frames {
				if diff := cmp.Diff(fi.Frames[i], got.frame(i+1)); diff != "" {
					t.Errorf("frame %d (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
	if s, _ := encodeFrameIndex(tests["native_compact"]); s != `{"offset":100,"length":8,"count":3}` {
		t.Errorf("native frames are not stored compactly: %s", s)
	}
	if _, err := decodeFrameIndex(`{"frames":[[1,2,3]]}`); err == nil {
		t.Error("an odd pair list was accepted")
	}
}
