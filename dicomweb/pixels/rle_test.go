package pixels

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestDecodeRLE(t *testing.T) {
	tests := []struct {
		name           string
		rle, native    string
		nativeIsReal   bool
		wantFrameCount int
	}{
		{"mr_16_bit_with_12_stored_matches_the_original", "mr_rle.dcm", "3.dcm", true, 1},
		{"ct_multiframe_matches_the_original_frame_by_frame", "ct_multiframe_rle.dcm", "5.dcm", true, 2},
		{"rgb_8_bit_matches_the_original", "rgb_rle.dcm", "rgb_native.dcm", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rle := load(t, variant(t, tt.rle))
			path := variant(t, tt.native)
			if tt.nativeIsReal {
				path = realFile(t, tt.native)
			}
			native := load(t, path)
			if len(rle.frames) != tt.wantFrameCount || len(native.frames) != tt.wantFrameCount {
				t.Fatalf("frames: RLE %d, native %d, want %d", len(rle.frames), len(native.frames), tt.wantFrameCount)
			}
			for i := range rle.frames {
				got, f, err := Decode(rle.syntax, rle.format, [][]byte{rle.frames[i]})
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytesEqual(t, got, native.frames[i]) {
					t.Errorf("frame %d differs from the native original", i)
				}
				if f.PlanarConfiguration != 0 || f.BigEndian {
					t.Errorf("frame %d: format %+v, want interleaved little endian", i, f)
				}
			}
		})
	}
}

// bytesEqual reports whether a and b are equal, logging the first difference.
func bytesEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	if len(a) != len(b) {
		t.Logf("length %d, want %d", len(a), len(b))
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			t.Logf("first difference at byte %d: %#02x, want %#02x", i, a[i], b[i])
			return false
		}
	}
	return true
}

func TestDecodeRLERejectsCorruptFrames(t *testing.T) {
	mr := load(t, variant(t, "mr_rle.dcm"))
	frame := mr.frames[0]
	withHeader := func(mod func(h []byte)) []byte {
		b := append([]byte(nil), frame...)
		mod(b)
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty_frame", nil},
		{"header_cut_short", frame[:40]},
		{"one_segment_for_16_bit_data", withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h, 1) })},
		{"three_segments_for_16_bit_data", withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h, 3) })},
		{"segment_offset_inside_the_header", withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[4:], 10) })},
		{"segment_offset_past_the_end", withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[8:], 1<<30) })},
		{"segments_out_of_order", withHeader(func(h []byte) { binary.LittleEndian.PutUint32(h[4:], binary.LittleEndian.Uint32(h[8:])+2) })},
		{"last_segment_truncated", frame[:len(frame)-500]},
		{"far_too_short_for_the_image", frame[:200]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(RLELossless, mr.format, [][]byte{tt.data})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecodeRLE(f *testing.F) {
	formats := map[int]Format{}
	for i, name := range []string{"mr_rle.dcm", "ct_multiframe_rle.dcm", "rgb_rle.dcm"} {
		tf := load(f, variant(f, name))
		formats[i] = tf.format
		for _, fr := range tf.frames {
			f.Add(uint8(i), uint8(0), fr)
		}
	}
	f.Fuzz(func(t *testing.T, which, shrink uint8, data []byte) {
		// The fuzzer also varies the size, so short and long segments meet small images.
		format := formats[int(which)%len(formats)]
		format.Rows = max(1, format.Rows>>(shrink%10))
		native, got, err := Decode(RLELossless, format, [][]byte{data})
		if err != nil {
			return
		}
		if len(native) != got.Rows*got.Columns*got.SamplesPerPixel*got.BitsAllocated/8 {
			t.Fatalf("decoded %d bytes for %+v", len(native), got)
		}
		if _, err := Render(native, got, RenderOptions{ViewportWidth: 16, ViewportHeight: 16}); err != nil {
			t.Fatalf("rendering a decoded frame: %v", err)
		}
	})
}

func BenchmarkDecodeRLE(b *testing.B) {
	ct := load(b, variant(b, "ct_multiframe_rle.dcm"))
	b.SetBytes(int64(ct.format.Rows * ct.format.Columns * 2))
	for b.Loop() {
		if _, _, err := Decode(RLELossless, ct.format, ct.frames[:1]); err != nil {
			b.Fatal(err)
		}
	}
}
