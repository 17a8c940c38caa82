package pixels

import (
	"fmt"
	"testing"
)

// TestTableByRawMatchesEveryValue checks the table made for a known window (filled at a few points
// of the monotone map, rotated and repeated) against the map applied to the stored value of every
// raw sample: signed and unsigned, stored bits narrower than allocated with garbage above or below,
// 8 bits, MONOCHROME1, negative and fractional slopes, every VOI function, narrow and wide windows.
func TestTableByRawMatchesEveryValue(t *testing.T) {
	layouts := []struct{ allocated, stored, high int }{
		{16, 16, 15}, {16, 12, 11}, {16, 12, 15}, {16, 10, 12}, {16, 1, 0}, {8, 8, 7}, {8, 6, 5}, {8, 6, 7},
	}
	windows := []Window{
		{Center: 40, Width: 400}, {Center: 40, Width: 400, Function: LinearExact}, {Center: 40, Width: 400, Function: Sigmoid},
		{Center: 0.5, Width: 1}, {Center: -1000, Width: 0.25}, {Center: 1e6, Width: 3e6}, {Center: 30, Width: 2, Function: LinearExact},
	}
	rescales := []struct{ slope, intercept float64 }{{1, 0}, {1, -1024}, {-0.5, 100}, {0.0137, -3.2}, {2500, 7}}
	for _, l := range layouts {
		for _, signed := range []int{0, 1} {
			for _, photometric := range []string{Monochrome2, Monochrome1} {
				f := Format{Rows: 1, Columns: 1, SamplesPerPixel: 1, BitsAllocated: l.allocated, BitsStored: l.stored,
					HighBit: l.high, PixelRepresentation: signed, Photometric: photometric}
				for _, r := range rescales {
					for _, w := range windows {
						name := fmt.Sprintf("%d_%d_%d_signed%d_%s_%g_%g_%g_%g_%s", l.allocated, l.stored, l.high, signed, photometric, r.slope, r.intercept, w.Center, w.Width, w.Function)
						m := newGrayMap(f, &w, r.slope, r.intercept, 0, 0)
						var got [1 << 16]uint8
						tableByRaw(f, m, &got)
						shift, up := uint(l.high+1-l.stored), uint(64-l.stored)
						for raw := range 1 << l.allocated {
							u := uint64(raw>>shift) << up
							stored := float64(u >> up)
							if signed == 1 {
								stored = float64(int64(u) >> up)
							}
							if want := m.apply(stored); got[raw] != want {
								t.Fatalf("%s: raw %#x (stored %g): %d, want %d", name, raw, stored, got[raw], want)
							}
						}
					}
				}
			}
		}
	}
}
