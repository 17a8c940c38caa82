package pixels

import (
	"encoding/binary"
	"fmt"
)

// decodeRLE decodes one RLE Lossless frame (PS3.5 Annex G): a 64-byte header of the segment count
// and 15 offsets, then one PackBits segment per byte plane, most significant byte of each sample
// first, samples one after the other. The result is interleaved little endian.
func decodeRLE(f Format, data []byte) ([]byte, Format, error) {
	if err := f.check(); err != nil {
		return nil, f, err
	}
	if f.Photometric == YBRFull422 {
		return nil, f, fmt.Errorf("%w: RLE with YBR_FULL_422 (PS3.5 G.2 requires YBR_FULL)", ErrCorrupt)
	}
	if len(data) < 64 {
		return nil, f, fmt.Errorf("%w: RLE frame of %d bytes has no header", ErrCorrupt, len(data))
	}
	bps := f.bytesPerSample()
	want := f.SamplesPerPixel * bps
	if n := int(binary.LittleEndian.Uint32(data)); n != want {
		return nil, f, fmt.Errorf("%w: RLE frame has %d segments, want %d", ErrCorrupt, n, want)
	}
	pixels := f.Rows * f.Columns
	// A PackBits byte pair yields at most 128 bytes: refuse data that cannot fill the frame before
	// allocating it.
	if len(data)*64 < pixels*want {
		return nil, f, fmt.Errorf("%w: RLE frame of %d bytes cannot hold %d×%d pixels", ErrCorrupt, len(data), f.Columns, f.Rows)
	}
	stride := want
	out := make([]byte, pixels*stride)
	for s := range want {
		start := int(binary.LittleEndian.Uint32(data[4+4*s:]))
		end := len(data)
		if s+1 < want {
			end = int(binary.LittleEndian.Uint32(data[8+4*s:]))
		}
		if start < 64 || start > end || end > len(data) {
			return nil, f, fmt.Errorf("%w: RLE segment %d at bytes %d–%d of %d", ErrCorrupt, s+1, start, end, len(data))
		}
		sample, plane := s/bps, s%bps
		// Byte plane 0 is the most significant: the last byte of a little endian sample.
		offset := sample*bps + bps - 1 - plane
		if err := unpackBits(out[offset:], stride, pixels, data[start:end]); err != nil {
			return nil, f, fmt.Errorf("%w: RLE segment %d: %v", ErrCorrupt, s+1, err)
		}
	}
	f.PlanarConfiguration = 0
	f.BigEndian = false
	return out, f, nil
}

// unpackBits decodes a PackBits segment into n bytes written stride apart in dst. Bytes left in
// src after n (the even-length pad) are ignored; fewer than n is an error.
func unpackBits(dst []byte, stride, n int, src []byte) error {
	i, o := 0, 0
	for o < n && i < len(src) {
		h := int(int8(src[i]))
		i++
		switch {
		case h >= 0:
			count := h + 1
			if i+count > len(src) {
				return fmt.Errorf("literal run of %d bytes past the end", count)
			}
			if o+count > n {
				count = n - o
			}
			for _, b := range src[i : i+count] {
				dst[o*stride] = b
				o++
			}
			i += h + 1
		case h != -128:
			count := 1 - h
			if i >= len(src) {
				return fmt.Errorf("replicate run past the end")
			}
			b := src[i]
			i++
			if o+count > n {
				count = n - o
			}
			for range count {
				dst[o*stride] = b
				o++
			}
		}
	}
	if o < n {
		return fmt.Errorf("decoded %d of %d bytes", o, n)
	}
	return nil
}
