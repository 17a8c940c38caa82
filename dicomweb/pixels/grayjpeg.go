package pixels

import (
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"math/bits"
)

// encodeGrayJPEG writes img as a baseline JPEG (T.81) of one 8-bit component: the quantization
// table of image/jpeg at the same quality (Annex K.1 scaled as libjpeg does) and the Annex K.3
// Huffman tables, so the output is what image/jpeg writes up to DCT rounding. It exists for speed:
// a rendered grayscale frame is encoded per request, and image/jpeg divides every coefficient and
// emits every byte through a bufio call; here quantization is a multiplication folded into a float
// AAN DCT (libjpeg's jfdctflt), and bits go through a 64-bit accumulator into one buffer. A block
// of one grey level (most of a windowed CT slice: the air around the body) skips the DCT: its only
// nonzero coefficient is the DC, which constantBlock computes exactly as the DCT would.
func encodeGrayJPEG(w io.Writer, img *image.Gray, quality int) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 || width >= 1<<16 || height >= 1<<16 {
		return fmt.Errorf("%w: a JPEG of %d×%d pixels", ErrUnsupported, width, height)
	}
	quant, recip := grayQuant(quality)
	// Most frames compress to well under a byte per pixel; append grows the rare one that does not.
	e := jpegWriter{out: make([]byte, 0, width*height/2+1024)}
	e.headers(width, height, &quant)
	var block [64]float32
	var prevDC int32
	for y := 0; y < height; y += 8 {
		for x := 0; x < width; x += 8 {
			if v, ok := uniformBlock(img, b.Min.X+x, b.Min.Y+y); ok {
				prevDC = e.constantBlock(v, &recip, prevDC)
				continue
			}
			loadBlock(img, b.Min.X+x, b.Min.Y+y, &block)
			fdct(&block)
			prevDC = e.block(&block, &recip, prevDC)
		}
	}
	e.flush()
	e.out = append(e.out, 0xFF, 0xD9) // EOI
	_, err := w.Write(e.out)
	return err
}

// lumaQuant is the luminance table of T.81 Annex K.1 in zig-zag order.
var lumaQuant = [64]uint8{
	16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40,
	26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51,
	56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87,
	95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
}

// zigzag maps the position in zig-zag order to the index in the natural (row-major) block.
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// aanScale are the AAN DCT's output scale factors: cos(k·π/16)·√2, 1 for k = 0.
var aanScale = [8]float64{1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.541196100, 0.275899379}

// grayQuant scales lumaQuant to quality (libjpeg's and image/jpeg's formula) and returns it in
// zig-zag order with, in natural order, the multipliers that undo the AAN scaling and quantize.
func grayQuant(quality int) (q [64]uint8, recip [64]float32) {
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	for z, u := range lumaQuant {
		v := min(max((int(u)*scale+50)/100, 1), 255)
		q[z] = uint8(v)
		n := zigzag[z]
		recip[n] = float32(1 / (float64(v) * aanScale[n/8] * aanScale[n%8] * 8))
	}
	return q, recip
}

// loadBlock copies the 8×8 block at (x0, y0) level-shifted to signed, repeating the last row and
// column past the image's edge.
func loadBlock(img *image.Gray, x0, y0 int, block *[64]float32) {
	b := img.Bounds()
	x, w := x0-b.Min.X, b.Dx()
	for j := range 8 {
		y := min(y0+j, b.Max.Y-1) - b.Min.Y
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		dst := block[8*j : 8*j+8]
		if x+8 <= w {
			src := row[x : x+8]
			for i := range 8 {
				dst[i] = float32(src[i]) - 128
			}
			continue
		}
		for i := range 8 {
			dst[i] = float32(row[min(x+i, w-1)]) - 128
		}
	}
}

// uniformBlock reports whether the 8×8 block at (x0, y0), its last row repeated past the image's
// bottom edge, has one grey level, and which. Blocks cut by the right edge are left to the general
// path (false): they are one column of blocks in a hundred.
func uniformBlock(img *image.Gray, x0, y0 int) (uint8, bool) {
	b := img.Bounds()
	x := x0 - b.Min.X
	if x+8 > b.Dx() {
		return 0, false
	}
	first := img.Pix[(y0-b.Min.Y)*img.Stride+x]
	want := uint64(first) * 0x0101010101010101
	for j := range 8 {
		y := min(y0+j, b.Max.Y-1) - b.Min.Y
		if binary.LittleEndian.Uint64(img.Pix[y*img.Stride+x:]) != want {
			return 0, false
		}
	}
	return first, true
}

// fdct is the AAN forward DCT (libjpeg's jfdctflt.c) in place: rows, then columns. Its outputs
// are the true coefficients times 8·aanScale[u]·aanScale[v], which grayQuant's multipliers remove.
func fdct(d *[64]float32) {
	for i := range 8 {
		fdct8(d, 8*i, 1)
	}
	for i := range 8 {
		fdct8(d, i, 8)
	}
}

// fdct8 transforms the 8 values at d[o], d[o+s], … d[o+7s].
func fdct8(d *[64]float32, o, s int) {
	d0, d1, d2, d3 := d[o], d[o+s], d[o+2*s], d[o+3*s]
	d4, d5, d6, d7 := d[o+4*s], d[o+5*s], d[o+6*s], d[o+7*s]
	tmp0, tmp7 := d0+d7, d0-d7
	tmp1, tmp6 := d1+d6, d1-d6
	tmp2, tmp5 := d2+d5, d2-d5
	tmp3, tmp4 := d3+d4, d3-d4

	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	d[o] = tmp10 + tmp11
	d[o+4*s] = tmp10 - tmp11
	z1 := (tmp12 + tmp13) * 0.707106781
	d[o+2*s] = tmp13 + z1
	d[o+6*s] = tmp13 - z1

	tmp10, tmp11, tmp12 = tmp4+tmp5, tmp5+tmp6, tmp6+tmp7
	z5 := (tmp10 - tmp12) * 0.382683433
	z2 := 0.541196100*tmp10 + z5
	z4 := 1.306562965*tmp12 + z5
	z3 := tmp11 * 0.707106781
	z11, z13 := tmp7+z3, tmp7-z3
	d[o+5*s] = z13 + z2
	d[o+3*s] = z13 - z2
	d[o+s] = z11 + z4
	d[o+7*s] = z11 - z4
}

// huffCode is a Huffman code: its bits, right-aligned, and its length.
type huffCode struct {
	bits uint32
	len  uint8
}

// Annex K.3 tables for luminance DC and AC: the number of codes of each length, then the values.
var (
	dcCounts = [16]uint8{0, 1, 5, 1, 1, 1, 1, 1, 1}
	dcValues = []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	acCounts = [16]uint8{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}
	acValues = []uint8{
		0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
		0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
		0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
		0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
		0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
		0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
		0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
		0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}
	dcCodes = canonicalHuffman(dcCounts, dcValues)
	acCodes = canonicalHuffman(acCounts, acValues)
)

// canonicalHuffman assigns the codes of T.81 Annex C to values, indexed by value.
func canonicalHuffman(counts [16]uint8, values []uint8) (codes [256]huffCode) {
	code, k := uint32(0), 0
	for l := 1; l <= 16; l++ {
		for range counts[l-1] {
			codes[values[k]] = huffCode{code, uint8(l)}
			code, k = code+1, k+1
		}
		code <<= 1
	}
	return codes
}

// jpegWriter appends markers and entropy-coded bits to out.
type jpegWriter struct {
	out   []byte
	acc   uint64 // pending bits, the oldest highest, in the low n bits
	nbits uint
}

// headers writes SOI, DQT, SOF0, DHT and SOS for one 8-bit component.
func (e *jpegWriter) headers(width, height int, quant *[64]uint8) {
	e.out = append(e.out, 0xFF, 0xD8) // SOI
	e.out = append(e.out, 0xFF, 0xDB, 0, 67, 0)
	e.out = append(e.out, quant[:]...)
	e.out = append(e.out, 0xFF, 0xC0, 0, 11, 8, byte(height>>8), byte(height), byte(width>>8), byte(width), 1, 1, 0x11, 0)
	for _, t := range []struct {
		class  byte
		counts [16]uint8
		values []uint8
	}{{0x00, dcCounts, dcValues}, {0x10, acCounts, acValues}} {
		n := 2 + 1 + 16 + len(t.values)
		e.out = append(e.out, 0xFF, 0xC4, byte(n>>8), byte(n), t.class)
		e.out = append(e.out, t.counts[:]...)
		e.out = append(e.out, t.values...)
	}
	e.out = append(e.out, 0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0)
}

// block quantizes a transformed block and writes its Huffman codes; it returns the block's DC.
func (e *jpegWriter) block(d *[64]float32, recip *[64]float32, prevDC int32) int32 {
	var q [64]int32    // zig-zag order
	var nonzero uint64 // bit z set when q[z] != 0, to jump over runs of zeros
	for z, n := range zigzag {
		v := quantize(d[n], recip[n])
		q[z] = v
		nonzero |= uint64(uint32(v|-v)>>31) << z
	}
	e.value(dcCodes[:], 0, q[0]-prevDC)
	// The AC codes are most of a busy block's bits: put is inlined here by hand, with the pending
	// bits in local variables (registers) rather than in e.
	acc, nbits, out := e.acc, e.nbits, e.out
	last := 0
	for ac := nonzero &^ 1; ac != 0; ac &= ac - 1 {
		z := bits.TrailingZeros64(ac)
		run := z - last - 1
		if run > 15 {
			e.acc, e.nbits, e.out = acc, nbits, out
			for ; run > 15; run -= 16 {
				e.emit(acCodes[0xF0]) // ZRL
			}
			acc, nbits, out = e.acc, e.nbits, e.out
		}
		v := q[z&63]
		sign := v >> 31
		size := uint(bits.Len32(uint32((v ^ sign) - sign)))
		c := acCodes[(run<<4|int(size))&0xFF]
		acc = acc<<(uint(c.len)+size) | uint64(c.bits)<<size | uint64(uint32(v+sign))&(1<<size-1)
		nbits += uint(c.len) + size
		if nbits >= 32 {
			nbits -= 32
			out = appendWord(out, uint32(acc>>nbits))
		}
		last = z
	}
	e.acc, e.nbits, e.out = acc, nbits, out
	if last < 63 {
		e.emit(acCodes[0x00]) // EOB
	}
	return q[0]
}

// constantBlock writes a block whose samples are all v and returns its DC. The AAN DCT of such a
// block is exact in float32: the DC is 64·(v-128) and every AC an exact zero (each is a sum of
// differences of equal values), so quantizing that DC as block does gives block's output bit for bit.
func (e *jpegWriter) constantBlock(v uint8, recip *[64]float32, prevDC int32) int32 {
	dc := quantize(float32(64*(int32(v)-128)), recip[0])
	e.value(dcCodes[:], 0, dc-prevDC)
	e.emit(acCodes[0x00]) // EOB
	return dc
}

// quantize divides a transformed coefficient by its step (multiplying by recip) and rounds to
// nearest without a branch (libjpeg's jcdctmgr.c): coefficients are far below the offset, and a
// data-dependent sign test mispredicts on every other coefficient.
func quantize(c, recip float32) int32 { return int32(c*recip+16384.5) - 16384 }

// value writes the code of (run, size of v) and v's size low bits (T.81 F.1.2.1): negative
// values as v-1. Branch-free, as signs are random.
func (e *jpegWriter) value(codes []huffCode, run int, v int32) {
	sign := v >> 31
	size := uint(bits.Len32(uint32((v ^ sign) - sign)))
	c := codes[run<<4|int(size)]
	e.put(uint64(c.bits)<<size|uint64(uint32(v+sign))&(1<<size-1), uint(c.len)+size)
}

func (e *jpegWriter) emit(c huffCode) { e.put(uint64(c.bits), uint(c.len)) }

// put appends the n low bits of v (n ≤ 32), writing whole bytes out once 32 are pending.
func (e *jpegWriter) put(v uint64, n uint) {
	e.acc = e.acc<<n | v
	e.nbits += n
	if e.nbits >= 32 {
		e.nbits -= 32
		e.out = appendWord(e.out, uint32(e.acc>>e.nbits))
	}
}

// appendWord appends 4 entropy-coded bytes, stuffing a zero after each 0xFF (T.81 F.1.2.3).
func appendWord(out []byte, word uint32) []byte {
	if noFF(word) {
		return append(out, byte(word>>24), byte(word>>16), byte(word>>8), byte(word))
	}
	for shift := 24; shift >= 0; shift -= 8 {
		b := byte(word >> uint(shift))
		out = append(out, b)
		if b == 0xFF {
			out = append(out, 0)
		}
	}
	return out
}

// noFF reports whether none of word's bytes is 0xFF, which would need a stuffed 0x00 after it.
func noFF(word uint32) bool {
	x := ^word // a 0xFF byte becomes a zero byte
	return (x-0x01010101)&^x&0x80808080 == 0
}

// byte appends one entropy-coded byte, stuffing a zero after 0xFF (T.81 F.1.2.3).
func (e *jpegWriter) byte(b byte) {
	e.out = append(e.out, b)
	if b == 0xFF {
		e.out = append(e.out, 0)
	}
}

// flush pads the last bits with ones (T.81 F.1.2.3) to a whole byte.
func (e *jpegWriter) flush() {
	for e.nbits >= 8 {
		e.nbits -= 8
		e.byte(byte(e.acc >> e.nbits))
	}
	if e.nbits > 0 {
		e.byte(byte(e.acc<<(8-e.nbits)) | byte(1<<(8-e.nbits)-1))
		e.nbits = 0
	}
}
