package pixels

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// storedCase is a grayscale sample layout and the stored values to put in it.
type storedCase struct {
	name                       string
	allocated, stored, highBit int
	signed                     bool
	values                     []int64
}

var storedCases = []storedCase{
	{"8_bit_unsigned", 8, 8, 7, false, []int64{0, 255, 1, 128, 254, 17}},
	{"8_bit_signed", 8, 8, 7, true, []int64{-128, 127, 0, -1, 1, 64}},
	{"8_bit_with_6_stored_unsigned", 8, 6, 5, false, []int64{0, 63, 1, 32, 62, 5}},
	{"16_bit_unsigned", 16, 16, 15, false, []int64{0, 65535, 1, 32768, 1000, 65534}},
	{"16_bit_signed", 16, 16, 15, true, []int64{-32768, 32767, 0, -1, -1024, 3071}},
	{"16_bit_with_12_stored_unsigned", 16, 12, 11, false, []int64{0, 4095, 1, 2048, 4094, 378}},
	{"16_bit_with_12_stored_signed", 16, 12, 11, true, []int64{-2048, 2047, 0, -1, -1000, 1000}},
	{"16_bit_with_12_stored_at_high_bit_13_signed", 16, 12, 13, true, []int64{-2048, 2047, 0, -1, 5, -5}},
	{"32_bit_unsigned", 32, 32, 31, false, []int64{0, math.MaxUint32, 1, 1 << 31, 70000, 12}},
	{"32_bit_signed", 32, 32, 31, true, []int64{math.MinInt32, math.MaxInt32, 0, -1, -70000, 70000}},
	{"32_bit_with_20_stored_signed", 32, 20, 19, true, []int64{-1 << 19, 1<<19 - 1, 0, -1, 12345, -54321}},
}

func (c storedCase) format() Format {
	f := Format{
		Rows: 1, Columns: len(c.values), SamplesPerPixel: 1, Photometric: Monochrome2,
		BitsAllocated: c.allocated, BitsStored: c.stored, HighBit: c.highBit,
	}
	if c.signed {
		f.PixelRepresentation = 1
	}
	return f
}

// encode writes the values with every bit outside the stored ones set (garbage the decoder must
// ignore), little or big endian.
func (c storedCase) encode(bigEndian bool) []byte {
	shift := uint(c.highBit + 1 - c.stored)
	mask := uint64(1)<<c.stored - 1
	size := c.allocated / 8
	var out []byte
	for _, v := range c.values {
		u := (uint64(v)&mask)<<shift | ^(mask << shift)
		for i := range size {
			b := byte(u >> (8 * i))
			if bigEndian {
				b = byte(u >> (8 * (size - 1 - i)))
			}
			out = append(out, b)
		}
	}
	return out
}

func TestDecodeNative(t *testing.T) {
	for _, c := range storedCases {
		for _, syntax := range []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian} {
			t.Run(c.name+"_in_"+syntax, func(t *testing.T) {
				le := c.encode(false)
				in := le
				if syntax == ExplicitVRBigEndian {
					in = c.encode(true)
				}
				got, f, err := Decode(syntax, c.format(), [][]byte{in})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(le, got); diff != "" {
					t.Errorf("little endian bytes as stored (-want +got):\n%s", diff)
				}
				if f.BigEndian {
					t.Error("result still says big endian")
				}
			})
		}
	}
}

func TestDecodeNativeColor(t *testing.T) {
	// 2×1 RGB pixels: (1,2,3) and (4,5,6).
	rgb := Format{Rows: 1, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, HighBit: 7, Photometric: RGB}
	planar := rgb
	planar.PlanarConfiguration = 1
	rgb16 := rgb
	rgb16.BitsAllocated, rgb16.BitsStored, rgb16.HighBit = 16, 16, 15
	tests := []struct {
		name   string
		syntax string
		f      Format
		in     []byte
		want   []byte
	}{
		{"interleaved_rgb_is_kept", ExplicitVRLittleEndian, rgb, []byte{1, 2, 3, 4, 5, 6}, []byte{1, 2, 3, 4, 5, 6}},
		{"planar_rgb_is_kept_as_stored", ExplicitVRLittleEndian, planar, []byte{1, 4, 2, 5, 3, 6}, []byte{1, 4, 2, 5, 3, 6}},
		{"16_bit_big_endian_rgb_is_swapped", ExplicitVRBigEndian, rgb16,
			[]byte{0, 1, 0, 2, 0, 3, 1, 4, 1, 5, 1, 6}, []byte{1, 0, 2, 0, 3, 0, 4, 1, 5, 1, 6, 1}},
		{"fragments_are_joined", EncapsulatedUncompressedLE, rgb, []byte{1, 2, 3, 4, 5, 6}, []byte{1, 2, 3, 4, 5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frags := [][]byte{tt.in}
			if tt.syntax == EncapsulatedUncompressedLE {
				frags = [][]byte{tt.in[:2], tt.in[2:5], tt.in[5:]}
			}
			got, _, err := Decode(tt.syntax, tt.f, frags)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	mono16 := Format{Rows: 4, Columns: 4, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, HighBit: 15, Photometric: Monochrome2}
	palette := mono16
	palette.Photometric = PaletteColor
	bits12 := mono16
	bits12.BitsAllocated = 12
	tests := []struct {
		name     string
		syntax   string
		f        Format
		data     []byte
		want     error
		mentions string
	}{
		{"short_native_data", ExplicitVRLittleEndian, mono16, make([]byte, 31), ErrCorrupt, "31 bytes"},
		{"no_native_data", ExplicitVRBigEndian, mono16, nil, ErrCorrupt, "0 bytes"},
		{"zero_rows", ExplicitVRLittleEndian, Format{Columns: 4, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, HighBit: 7, Photometric: Monochrome2}, make([]byte, 16), ErrCorrupt, "4×0"},
		{"bits_stored_above_bits_allocated", ExplicitVRLittleEndian, Format{Rows: 1, Columns: 1, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 9, HighBit: 8, Photometric: Monochrome2}, []byte{0}, ErrCorrupt, "BitsStored 9"},
		{"rgb_with_one_sample", ExplicitVRLittleEndian, Format{Rows: 1, Columns: 1, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, HighBit: 7, Photometric: RGB}, []byte{0}, ErrCorrupt, "RGB"},
		{"12_bits_allocated", ExplicitVRLittleEndian, bits12, make([]byte, 32), ErrUnsupported, "BitsAllocated 12"},
		{"palette_color", ExplicitVRLittleEndian, palette, make([]byte, 32), ErrUnsupported, "PALETTE COLOR"},
		{"jpeg_2000", "1.2.840.10008.1.2.4.90", mono16, []byte{0xff, 0x4f}, ErrUnsupported, "1.2.840.10008.1.2.4.90 (JPEG 2000 Lossless)"},
		{"jpeg_ls", "1.2.840.10008.1.2.4.80", mono16, []byte{0xff, 0xd8}, ErrUnsupported, "1.2.840.10008.1.2.4.80 (JPEG-LS Lossless)"},
		{"jpeg_lossless_garbage", JPEGLosslessSV1, mono16, []byte("not a jpeg"), ErrCorrupt, "SOI"},
		{"htj2k", "1.2.840.10008.1.2.4.201", mono16, []byte{0xff, 0x4f}, ErrUnsupported, "1.2.840.10008.1.2.4.201"},
		{"deflated", "1.2.840.10008.1.2.1.99", mono16, make([]byte, 32), ErrUnsupported, "Deflated"},
		{"unknown_syntax", "1.2.3.4", mono16, make([]byte, 32), ErrUnsupported, "1.2.3.4"},
		{"jpeg_baseline_garbage", JPEGBaseline8Bit, mono16, []byte("not a jpeg"), ErrCorrupt, "JPEG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(tt.syntax, tt.f, [][]byte{tt.data})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("error %v, want %v mentioning %q", err, tt.want, tt.mentions)
			}
		})
	}
}
