package dicomweb

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/dicomweb/ingest"
)

func TestFrameIndexRoundTrip(t *testing.T) {
	tests := map[string]ingest.FrameIndex{
		"native_compact":  {Offset: 100, Length: 8, Count: 3},
		"native_inflated": {Offset: 40, Length: 8, Count: 2, Inflated: true, DatasetStart: 300},
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
			if got.count() != fi.Len() || got.Inflated != fi.Inflated || got.DatasetStart != fi.DatasetStart {
				t.Fatalf("count %d, want %d (%s)", got.count(), fi.Len(), s)
			}
			for i, want := range fi.All() {
				if diff := cmp.Diff(want, got.frame(i+1)); diff != "" {
					t.Errorf("frame %d (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
	if s, _ := encodeFrameIndex(tests["native_compact"]); s != `{"offset":100,"length":8,"count":3}` {
		t.Errorf("native frames are not stored compactly: %s", s)
	}
	// Fifty million claimed frames are three numbers, in the index and in memory.
	if s, _ := encodeFrameIndex(ingest.FrameIndex{Offset: 200, Length: 1, Count: 50_000_000}); s != `{"offset":200,"length":1,"count":50000000}` {
		t.Errorf("a huge frame count is not stored compactly: %s", s)
	}
	if _, err := decodeFrameIndex(`{"frames":[[1,2,3]]}`); err == nil {
		t.Error("an odd pair list was accepted")
	}
}
