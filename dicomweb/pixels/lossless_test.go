package pixels

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jpegFrames groups a file's fragments into frames, each opening with SOI, as the ingest path does
// for an empty offset table.
func jpegFrames(t testing.TB, tf testFile) [][][]byte {
	t.Helper()
	var frames [][][]byte
	for _, frag := range tf.frames {
		if bytes.HasPrefix(frag, []byte{0xFF, 0xD8}) {
			frames = append(frames, nil)
		}
		if len(frames) == 0 {
			t.Fatal("first fragment does not start with SOI")
		}
		frames[len(frames)-1] = append(frames[len(frames)-1], frag)
	}
	return frames
}

func TestDecodeJPEGLossless(t *testing.T) {
	tests := []struct {
		name, file, native string
		nativeIsReal       bool
		wantSyntax         string
		wantFrames         int
		// droppedBits is the point transform: the native samples' low bits to clear.
		droppedBits uint
	}{
		{"mr_12_bit_sv1_matches_the_original", "mr_jpeg_lossless.dcm", "3.dcm", true, JPEGLosslessSV1, 1, 0},
		{"ct_frames_grouped_by_the_offset_table", "ct_multiframe_jpeg_lossless_bot_fragments.dcm", "5.dcm", true, JPEGLosslessSV1, 2, 0},
		{"ct_frames_grouped_by_markers", "ct_multiframe_jpeg_lossless_fragments.dcm", "5.dcm", true, JPEGLosslessSV1, 2, 0},
		{"mr_predictor_7_matches_the_original", "mr_jpeg_lossless_sv7.dcm", "3.dcm", true, JPEGLossless, 1, 0},
		{"mr_predictor_5_with_point_transform_2", "mr_jpeg_lossless_sv5_pt2.dcm", "3.dcm", true, JPEGLossless, 1, 2},
		{"rgb_8_bit_interleaved_matches_the_original", "rgb_jpeg_lossless.dcm", "rgb_native.dcm", false, JPEGLosslessSV1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := load(t, variant(t, tt.file))
			path := variant(t, tt.native)
			if tt.nativeIsReal {
				path = realFile(t, tt.native)
			}
			native := load(t, path)
			frames := jpegFrames(t, in)
			if in.syntax != tt.wantSyntax || len(frames) != tt.wantFrames || len(native.frames) != tt.wantFrames {
				t.Fatalf("%s: %d frames, native %d; want %s with %d", in.syntax, len(frames), len(native.frames), tt.wantSyntax, tt.wantFrames)
			}
			for i, frame := range frames {
				got, f, err := Decode(in.syntax, in.format, frame)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytesEqual(t, got, withoutLowBits(native.frames[i], in.format.bytesPerSample(), tt.droppedBits)) {
					t.Errorf("frame %d differs from the native original", i)
				}
				want := in.format
				want.PlanarConfiguration = 0
				if diff := cmp.Diff(want, f); diff != "" {
					t.Errorf("frame %d: format (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

// withoutLowBits returns a copy of little endian samples with their n lowest bits cleared.
func withoutLowBits(data []byte, size int, n uint) []byte {
	out := append([]byte(nil), data...)
	for i := 0; i < len(out); i += size {
		out[i] &^= 1<<n - 1
	}
	return out
}

func TestDecodeJPEGLosslessSynthetic(t *testing.T) {
	tests := []struct {
		name      string
		allocated int
		img       losslessImage
	}{
		{"16_bit_noise_predictor_1", 16, losslessImage{precision: 16, predictor: 1}},
		{"16_bit_noise_predictor_2", 16, losslessImage{precision: 16, predictor: 2}},
		{"16_bit_noise_predictor_3", 16, losslessImage{precision: 16, predictor: 3}},
		{"16_bit_noise_predictor_4", 16, losslessImage{precision: 16, predictor: 4}},
		{"16_bit_noise_predictor_5", 16, losslessImage{precision: 16, predictor: 5}},
		{"16_bit_noise_predictor_6", 16, losslessImage{precision: 16, predictor: 6}},
		{"16_bit_noise_predictor_7", 16, losslessImage{precision: 16, predictor: 7}},
		{"2_bit_precision", 8, losslessImage{precision: 2, predictor: 4}},
		{"12_bit_point_transform_3_restart_every_line", 16, losslessImage{precision: 12, pt: 3, predictor: 6, restart: 13}},
		{"restart_every_two_lines_wraps_rst7", 16, losslessImage{precision: 16, predictor: 7, restart: 26}},
		{"restart_in_the_middle_of_lines", 16, losslessImage{precision: 10, predictor: 5, restart: 7}},
		{"rgb_8_bit_interleaved_with_restarts", 8, losslessImage{precision: 8, predictor: 4, restart: 13}},
		{"rgb_16_bit_one_scan_per_component", 16, losslessImage{precision: 16, predictor: 6, separateScans: true}},
		{"16_bit_in_32_bit_samples", 32, losslessImage{precision: 16, pt: 15, predictor: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, f := tt.img, syntheticFormat(tt.name, tt.allocated, tt.img.precision)
			img.rows, img.cols = f.Rows, f.Columns
			img.samples = noise(f.SamplesPerPixel, f.Rows*f.Columns, img.precision)
			got, _, err := Decode(JPEGLossless, f, [][]byte{encodeLossless(img)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(img.native(f.bytesPerSample()), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// syntheticFormat is a 13×11 frame, RGB when the name says so.
func syntheticFormat(name string, allocated, precision int) Format {
	f := Format{Rows: 11, Columns: 13, SamplesPerPixel: 1, Photometric: Monochrome2,
		BitsAllocated: allocated, BitsStored: precision, HighBit: precision - 1}
	if bytes.HasPrefix([]byte(name), []byte("rgb")) {
		f.SamplesPerPixel, f.Photometric = 3, RGB
	}
	return f
}

// noise returns per component n samples of precision bits: random, with runs of 0 and the
// largest value so that differences of 32768 (SSSS 16) occur at 16 bits.
func noise(components, n, precision int) [][]uint16 {
	r := rand.New(rand.NewPCG(1, uint64(precision)))
	out := make([][]uint16, components)
	for c := range out {
		out[c] = make([]uint16, n)
		for i := range n {
			switch i % 5 {
			case 0:
				out[c][i] = uint16(1<<precision - 1)
			case 1:
				out[c][i] = uint16(1 << (precision - 1) >> (i % 3))
			default:
				out[c][i] = uint16(r.IntN(1 << precision))
			}
		}
	}
	return out
}

// native is what decoding must give: interleaved little endian samples without the bits the
// point transform dropped.
func (img losslessImage) native(size int) []byte {
	var out []byte
	for i := range img.rows * img.cols {
		for _, comp := range img.samples {
			v := uint32(comp[i]>>img.pt) << img.pt
			out = binary.LittleEndian.AppendUint32(out, v)[:len(out)+size]
		}
	}
	return out
}

func TestDecodeJPEGLosslessSSSS16HasNoAdditionalBits(t *testing.T) {
	// 0 after the initial prediction 32768, then 32768 after 0: differences of 32768 only.
	f := Format{Rows: 1, Columns: 4, SamplesPerPixel: 1, Photometric: Monochrome2, BitsAllocated: 16, BitsStored: 16, HighBit: 15}
	img := losslessImage{rows: 1, cols: 4, precision: 16, predictor: 1, samples: [][]uint16{{0, 32768, 0, 32768}}}
	data := encodeLossless(img)
	got, _, err := Decode(JPEGLosslessSV1, f, [][]byte{data})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{0, 0, 0, 0x80, 0, 0, 0, 0x80}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Four 16-bit codes and nothing else: 8 bytes of entropy-coded data (unstuffed) before EOI.
	sos := bytes.Index(data, []byte{0xFF, 0xDA})
	entropy := bytes.ReplaceAll(data[sos+10:len(data)-2], []byte{0xFF, 0}, []byte{0xFF})
	if len(entropy) != 8 {
		t.Errorf("%d bytes of entropy-coded data, want 8", len(entropy))
	}
}

func TestDecodeJPEGLosslessRejectsCorruptFrames(t *testing.T) {
	mr := load(t, variant(t, "mr_jpeg_lossless.dcm"))
	frame := mr.frames[0]
	sof, dht, sos := bytes.Index(frame, []byte{0xFF, 0xC3}), bytes.Index(frame, []byte{0xFF, 0xC4}), bytes.Index(frame, []byte{0xFF, 0xDA})
	patched := func(at int, b ...byte) []byte {
		out := append([]byte(nil), frame...)
		copy(out[at:], b)
		return out
	}
	taller, ybr, huge := mr.format, mr.format, mr.format
	taller.Rows++
	ybr.SamplesPerPixel, ybr.Photometric = 3, YBRFull422
	huge.Rows, huge.Columns = 1<<16, 1<<16

	restarts := losslessImage{rows: 11, cols: 13, precision: 8, predictor: 1, restart: 13}
	restarts.samples = noise(1, 11*13, 8)
	small := syntheticFormat("gray", 8, 8)
	withRestarts := encodeLossless(restarts)
	rst := bytes.Index(withRestarts, []byte{0xFF, 0xD0})
	wrongRST := append([]byte(nil), withRestarts...)
	wrongRST[rst+1] = 0xD3
	noRST := append(append([]byte(nil), withRestarts[:rst]...), withRestarts[rst+2:]...)
	value17 := append([]byte(nil), withRestarts...)
	copy(value17[bytes.Index(value17, []byte{0xFF, 0xC4})+21:], bytes.Repeat([]byte{17}, 17))
	pt8 := append([]byte(nil), withRestarts...)
	pt8[bytes.Index(pt8, []byte{0xFF, 0xDA})+9] = 8

	tests := []struct {
		name string
		f    Format
		data []byte
		want error
	}{
		{"empty_frame", mr.format, nil, ErrCorrupt},
		{"only_soi", mr.format, frame[:2], ErrCorrupt},
		{"cut_in_the_headers", mr.format, frame[:sos+5], ErrCorrupt},
		{"cut_after_the_scan_header", mr.format, frame[:sos+10], ErrCorrupt},
		{"cut_in_half", mr.format, frame[:len(frame)/2], ErrCorrupt},
		{"last_20_bytes_missing", mr.format, frame[:len(frame)-20], ErrCorrupt},
		{"precision_17", mr.format, patched(sof+4, 17), ErrCorrupt},
		{"precision_1", mr.format, patched(sof+4, 1), ErrCorrupt},
		{"frame_header_of_another_size", taller, frame, ErrCorrupt},
		{"three_components_in_a_monochrome_image", mr.format, patched(sof+9, 3), ErrCorrupt},
		{"huffman_table_with_three_1_bit_codes", mr.format, patched(dht+5, 3), ErrCorrupt},
		{"huffman_table_id_5", mr.format, patched(dht+4, 0x05), ErrCorrupt},
		{"huffman_table_longer_than_its_segment", mr.format, patched(dht+5+15, 0xFF), ErrCorrupt},
		{"scan_with_an_undefined_table", mr.format, patched(sos+6, 0x30), ErrCorrupt},
		{"scan_of_an_unknown_component", mr.format, patched(sos+5, 0x7F), ErrCorrupt},
		{"predictor_0", mr.format, patched(sos+7, 0), ErrCorrupt},
		{"successive_approximation_bits", mr.format, patched(sos+9, 0x10), ErrCorrupt},
		{"point_transform_of_the_whole_precision", small, pt8, ErrCorrupt},
		{"scan_before_the_frame_header", mr.format, append([]byte{0xFF, 0xD8}, frame[sos:]...), ErrCorrupt},
		{"image_claims_65536x65536_pixels", huge, frame, ErrCorrupt},
		{"restart_marker_with_the_wrong_number", small, wrongRST, ErrCorrupt},
		{"restart_marker_missing", small, noRST, ErrCorrupt},
		{"difference_category_17", small, value17, ErrCorrupt},
		{"extended_dct_frame", mr.format, patched(sof+1, 0xC1), ErrUnsupported},
		{"hierarchical_lossless_frame", mr.format, patched(sof+1, 0xC7), ErrUnsupported},
		{"ybr_full_422", ybr, frame, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(JPEGLossless, tt.f, [][]byte{tt.data})
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeJPEGLosslessAllocatesOnlyTheFrame(t *testing.T) {
	ct := load(t, variant(t, "ct_multiframe_jpeg_lossless_fragments.dcm"))
	frame := join(jpegFrames(t, ct)[0])
	huge := ct.format
	huge.Rows, huge.Columns = 1<<16, 1<<16
	tests := []struct {
		name string
		f    Format
		most uint64
	}{
		{"a_512x512_frame_takes_its_size_and_two_lines", ct.format, uint64(ct.format.nativeSize()) + 16<<10},
		{"a_frame_claiming_65536x65536_pixels_is_refused_first", huge, 16 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, _ = Decode(JPEGLosslessSV1, tt.f, [][]byte{frame})
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > tt.most {
				t.Errorf("allocated %d bytes, at most %d", n, tt.most)
			}
		})
	}
}

func FuzzDecodeJPEGLossless(f *testing.F) {
	var formats []Format
	for _, name := range []string{"mr_jpeg_lossless.dcm", "ct_multiframe_jpeg_lossless_fragments.dcm",
		"mr_jpeg_lossless_sv7.dcm", "mr_jpeg_lossless_sv5_pt2.dcm", "rgb_jpeg_lossless.dcm"} {
		tf := load(f, variant(f, name))
		f.Add(uint8(len(formats)), uint8(0), join(jpegFrames(f, tf)[0]))
		formats = append(formats, tf.format)
	}
	// Restart intervals and separate scans, which dcmtk does not write.
	for _, name := range []string{"gray", "rgb"} {
		img := losslessImage{precision: 12, predictor: 6, restart: 5, separateScans: name == "rgb"}
		fm := syntheticFormat(name, 16, 12)
		img.rows, img.cols, img.samples = fm.Rows, fm.Columns, noise(fm.SamplesPerPixel, fm.Rows*fm.Columns, 12)
		f.Add(uint8(len(formats)), uint8(0), encodeLossless(img))
		formats = append(formats, fm)
	}
	f.Fuzz(func(t *testing.T, which, shrink uint8, data []byte) {
		format := formats[int(which)%len(formats)]
		format.Rows = max(1, format.Rows>>(shrink%4))
		native, got, err := Decode(JPEGLossless, format, [][]byte{data})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is neither ErrCorrupt nor ErrUnsupported", err)
			}
			return
		}
		if len(native) != got.nativeSize() {
			t.Fatalf("decoded %d bytes for %+v", len(native), got)
		}
		if _, err := Render(native, got, RenderOptions{ViewportWidth: 16, ViewportHeight: 16}); err != nil {
			t.Fatalf("rendering a decoded frame: %v", err)
		}
	})
}

func BenchmarkDecodeJPEGLossless(b *testing.B) {
	ct := load(b, variant(b, "ct_multiframe_jpeg_lossless_fragments.dcm"))
	frame := [][]byte{join(jpegFrames(b, ct)[0])}
	b.SetBytes(int64(ct.format.nativeSize()))
	for b.Loop() {
		if _, _, err := Decode(ct.syntax, ct.format, frame); err != nil {
			b.Fatal(err)
		}
	}
}
