package pixels

import (
	"encoding/binary"
	"math/bits"
)

// losslessImage is what encodeLossless compresses: per component, rows×cols samples.
type losslessImage struct {
	rows, cols    int
	precision, pt int
	predictor     int
	restart       int  // MCUs per restart interval, 0 for none
	separateScans bool // one scan per component instead of one interleaved scan
	samples       [][]uint16
}

// testCounts is a Huffman table for SSSS 0–16 with codes of 2 to 16 bits, so decoding takes both
// the one-lookup and the long-code path.
var testCounts = [16]byte{0, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}

// encodeLossless is a minimal T.81 process 14 encoder for tests: the reference the decoder is
// checked against is dcmtk's output; this one reaches what dcmtk cannot make (restart intervals,
// separate scans, odd precisions, 32-bit samples).
func encodeLossless(img losslessImage) []byte {
	out := []byte{0xFF, 0xD8}
	out = append(out, 0xFF, 0xC4, 0, byte(2+17+17), 0x00)
	out = append(out, testCounts[:]...)
	for v := range 17 {
		out = append(out, byte(v))
	}
	if img.restart > 0 {
		out = append(out, 0xFF, 0xDD, 0, 4, byte(img.restart>>8), byte(img.restart))
	}
	nf := len(img.samples)
	out = append(out, 0xFF, 0xC3, 0, byte(8+3*nf), byte(img.precision))
	out = binary.BigEndian.AppendUint16(out, uint16(img.rows))
	out = binary.BigEndian.AppendUint16(out, uint16(img.cols))
	out = append(out, byte(nf))
	for c := range nf {
		out = append(out, byte(c+1), 0x11, 0)
	}
	if !img.separateScans {
		all := make([]int, nf)
		for c := range nf {
			all[c] = c
		}
		return append(img.scan(out, all), 0xFF, 0xD9)
	}
	for c := range nf {
		out = img.scan(out, []int{c})
	}
	return append(out, 0xFF, 0xD9)
}

func (img losslessImage) scan(out []byte, comps []int) []byte {
	out = append(out, 0xFF, 0xDA, 0, byte(6+2*len(comps)), byte(len(comps)))
	for _, c := range comps {
		out = append(out, byte(c+1), 0x00)
	}
	out = append(out, byte(img.predictor), 0, byte(img.pt))
	codes := canonicalCodes()
	w := bitWriter{out: out}
	at := func(c, y, x int) int { return int(img.samples[c][y*img.cols+x] >> img.pt) }
	left, marker, rstY, rstX := img.restart, 0, 0, 0
	for y := range img.rows {
		for x := range img.cols {
			if img.restart > 0 {
				if left == 0 {
					w.flush()
					w.out = append(w.out, 0xFF, 0xD0+byte(marker))
					marker, left, rstY, rstX = (marker+1)%8, img.restart, y, x
				}
				left--
			}
			for _, c := range comps {
				var pred int
				switch {
				case y == rstY && x == rstX:
					pred = 1 << (img.precision - img.pt - 1)
				case y == rstY:
					pred = at(c, y, x-1)
				case x == 0:
					pred = at(c, y-1, x)
				default:
					pred = predict(img.predictor, at(c, y, x-1), at(c, y-1, x), at(c, y-1, x-1))
				}
				w.diff(codes, (at(c, y, x)-pred)&0xFFFF)
			}
		}
	}
	w.flush()
	return w.out
}

// canonicalCodes returns the code and length of each SSSS in testCounts.
func canonicalCodes() [17][2]int {
	var codes [17][2]int
	code, k := 0, 0
	for l := 1; l <= 16; l++ {
		for range testCounts[l-1] {
			codes[k] = [2]int{code, l}
			code, k = code+1, k+1
		}
		code <<= 1
	}
	return codes
}

type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v, n int) {
	w.acc, w.n = w.acc<<uint(n)|uint64(v)&(1<<uint(n)-1), w.n+uint(n)
	for w.n >= 8 {
		b := byte(w.acc >> (w.n - 8))
		w.out, w.n = append(w.out, b), w.n-8
		if b == 0xFF {
			w.out = append(w.out, 0)
		}
	}
}

// diff writes a difference modulo 2^16 (0–65535).
func (w *bitWriter) diff(codes [17][2]int, d int) {
	if d == 32768 {
		w.write(codes[16][0], codes[16][1])
		return
	}
	if d > 32768 {
		d -= 65536
	}
	s := bits.Len(uint(max(d, -d)))
	w.write(codes[s][0], codes[s][1])
	if d < 0 {
		d += 1<<s - 1
	}
	w.write(d, s)
}

// flush pads the last byte with ones.
func (w *bitWriter) flush() {
	if w.n%8 != 0 {
		w.write(0xFF, int(8-w.n%8))
	}
}
