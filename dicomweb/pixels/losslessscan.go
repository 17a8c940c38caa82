package pixels

import (
	"encoding/binary"
	"fmt"
)

// scanComponent is one component of a scan: where its samples go and how they are coded.
type scanComponent struct {
	index int // in the frame header, so the sample's place in an interleaved pixel
	table *huffmanTable
}

// scan reads SOS and decodes the entropy-coded data after it, which starts at pos; it returns the
// position of the marker that ends the scan.
func (d *losslessDecoder) scan(b, data []byte, pos int) (int, error) {
	if d.out == nil {
		return 0, fmt.Errorf("%w: JPEG scan before the frame header", ErrCorrupt)
	}
	if len(b) < 1 || b[0] == 0 || b[0] > 4 || len(b) != 4+2*int(b[0]) {
		return 0, fmt.Errorf("%w: JPEG scan header of %d bytes", ErrCorrupt, len(b))
	}
	n := int(b[0])
	comps := make([]scanComponent, n)
	for i := range n {
		id, td := b[1+2*i], b[2+2*i]>>4
		k := d.component(id)
		if k < 0 || d.comps[k].decoded {
			return 0, fmt.Errorf("%w: JPEG scan of unknown or already decoded component %d", ErrCorrupt, id)
		}
		if td > 3 || d.tables[td] == nil {
			return 0, fmt.Errorf("%w: JPEG scan uses undefined Huffman table %d", ErrCorrupt, td)
		}
		d.comps[k].decoded = true
		comps[i] = scanComponent{index: k, table: d.tables[td]}
	}
	predictor, se, ah, pt := int(b[1+2*n]), b[2+2*n], b[3+2*n]>>4, int(b[3+2*n]&0x0F)
	if predictor < 1 || predictor > 7 || se != 0 || ah != 0 || pt >= d.precision {
		return 0, fmt.Errorf("%w: JPEG lossless scan with predictor %d, Se %d, Ah %d, point transform %d for precision %d",
			ErrCorrupt, predictor, se, ah, pt, d.precision)
	}
	return d.decodeScan(comps, predictor, pt, &bitReader{data: data, pos: pos})
}

// component returns the index of the frame component with this id, or -1.
func (d *losslessDecoder) component(id byte) int {
	for i, c := range d.comps {
		if c.id == id {
			return i
		}
	}
	return -1
}

// scanState is one scan being decoded: the reconstructed samples of the previous and current line
// (ns per pixel, before the point transform's shift) and where the restart interval began.
type scanState struct {
	d                 *losslessDecoder
	r                 *bitReader
	comps             []scanComponent
	predictor, pt     int
	prev, cur         []int32
	rstY, rstX        int
	cols, ns, nf, bps int
}

// decodeScan undoes the prediction of T.81 H.1.2.1 over the whole image: the first sample of the
// scan and of each restart interval is predicted from 2^(P-Pt-1), the rest of that line from the
// left, the first column from above, and everything else with the scan's predictor. Arithmetic
// is modulo 2^16 (H.2.1).
func (d *losslessDecoder) decodeScan(comps []scanComponent, predictor, pt int, r *bitReader) (int, error) {
	cols, ns := d.f.Columns, len(comps)
	s := scanState{d: d, r: r, comps: comps, predictor: predictor, pt: pt,
		prev: make([]int32, cols*ns), cur: make([]int32, cols*ns),
		cols: cols, ns: ns, nf: len(d.comps), bps: d.f.bytesPerSample()}
	left, marker := d.restart, 0 // MCUs left in the restart interval, the next RSTn
	for y := range d.f.Rows {
		if y != s.rstY && (d.restart == 0 || left >= cols) {
			s.interiorRow(y)
			left -= min(left, cols)
		} else {
			for x := range cols {
				if d.restart > 0 {
					if left == 0 {
						r.restart(marker)
						marker, left, s.rstY, s.rstX = (marker+1)%8, d.restart, y, x
					}
					left--
				}
				s.pixel(y, x)
			}
		}
		if r.err != nil {
			return 0, r.err
		}
		s.prev, s.cur = s.cur, s.prev
	}
	return r.pos, nil
}

// pixel decodes the scan's samples of one pixel, with the prediction rules at every edge.
func (s *scanState) pixel(y, x int) {
	initial := 1 << (s.d.precision - s.pt - 1)
	for k, c := range s.comps {
		i := x*s.ns + k
		var pred int
		switch {
		case y == s.rstY && x == s.rstX:
			pred = initial
		case y == s.rstY:
			pred = int(s.cur[i-s.ns])
		case x == 0:
			pred = int(s.prev[i])
		default:
			pred = predict(s.predictor, int(s.cur[i-s.ns]), int(s.prev[i]), int(s.prev[i-s.ns]))
		}
		v := (pred + s.r.diff(c.table)) & 0xFFFF
		s.cur[i] = int32(v)
		putSample(s.d.out[((y*s.cols+x)*s.nf+c.index)*s.bps:], uint32(v)<<s.pt, s.bps)
	}
}

// interiorRow decodes a line below the first of its restart interval and without a restart in
// it: the first column predicted from above, the rest with the scan's predictor.
func (s *scanState) interiorRow(y int) {
	prev, cur, ns, out := s.prev, s.cur, s.ns, s.d.out
	for k, c := range s.comps {
		v := (int(prev[k]) + s.r.diff(c.table)) & 0xFFFF
		cur[k] = int32(v)
		putSample(out[(y*s.cols*s.nf+c.index)*s.bps:], uint32(v)<<s.pt, s.bps)
	}
	for x := 1; x < s.cols; x++ {
		o := ((y*s.cols + x) * s.nf) * s.bps
		for k, c := range s.comps {
			i := x*ns + k
			v := (predict(s.predictor, int(cur[i-ns]), int(prev[i]), int(prev[i-ns])) + s.r.diff(c.table)) & 0xFFFF
			cur[i] = int32(v)
			putSample(out[o+c.index*s.bps:], uint32(v)<<s.pt, s.bps)
		}
	}
}

// predict is Table H.1 of T.81 for selection values 1–7, from the left (a), upper (b) and
// upper-left (c) neighbours.
func predict(selection, a, b, c int) int {
	switch selection {
	case 1:
		return a
	case 2:
		return b
	case 3:
		return c
	case 4:
		return a + b - c
	case 5:
		return a + (b-c)>>1
	case 6:
		return b + (a-c)>>1
	}
	return (a + b) >> 1
}

// putSample writes v little endian in size bytes.
func putSample(dst []byte, v uint32, size int) {
	switch size {
	case 1:
		dst[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(dst, uint16(v))
	default:
		binary.LittleEndian.PutUint32(dst, v)
	}
}
