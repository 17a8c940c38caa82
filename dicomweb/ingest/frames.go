package ingest

import (
	"bytes"
	"encoding/binary"
	"io"
	"iter"
	"strings"

	"github.com/medimg/medimg/dicomweb/ts"
)

// Range is a byte range of the stored file.
type Range struct {
	Offset, Length int64
}

// FrameIndex gives, for each frame in order, the byte ranges that hold it. Native frames are Count
// equal ranges of Length bytes, the first at Offset: three numbers whatever the frame count, so
// that an instance claiming fifty million frames costs no more memory than one with one frame.
// Encapsulated frames are the value ranges of their fragments, one list per frame (bounded by the
// fragments actually present in the file). Empty when there is no pixel data or when frames cannot
// be addressed (native data shorter than its attributes say, fragments that cannot be told apart).
//
// Native frames are in the byte order of the stored transfer syntax (big endian for
// 1.2.840.10008.1.2.2). In a deflated file (Inflated) the native ranges count from the start of the
// inflated dataset, whose deflate stream starts at DatasetStart in the file.
type FrameIndex struct {
	Encapsulated bool
	Frames       [][]Range // encapsulated frames

	Offset, Length int64 // native frames
	Count          int
	Inflated       bool
	DatasetStart   int64
}

// Len is the number of frames the index addresses.
func (fi FrameIndex) Len() int {
	if fi.Encapsulated {
		return len(fi.Frames)
	}
	return fi.Count
}

// Frame returns the ranges of frame i (0-based, i < Len()).
func (fi FrameIndex) Frame(i int) []Range {
	if fi.Encapsulated {
		return fi.Frames[i]
	}
	return []Range{{Offset: fi.Offset + int64(i)*fi.Length, Length: fi.Length}}
}

// All iterates the frames in order.
func (fi FrameIndex) All() iter.Seq2[int, []Range] {
	return func(yield func(int, []Range) bool) {
		for i := range fi.Len() {
			if !yield(i, fi.Frame(i)) {
				return
			}
		}
	}
}

// pixelGeometry is what native frame sizes are computed from.
type pixelGeometry struct {
	rows, columns, samplesPerPixel, bitsAllocated, frames int
}

// frameBytes is the size of one native frame; single-bit data is rounded up to whole bytes.
func (g pixelGeometry) frameBytes() int64 {
	bits := int64(g.rows) * int64(g.columns) * int64(g.samplesPerPixel) * int64(g.bitsAllocated)
	return (bits + 7) / 8
}

// nativeFrames cuts native pixel data into NumberOfFrames equal ranges, without allocating per
// frame: the count is checked against the value's real length, not trusted.
func nativeFrames(px *pixelData, g pixelGeometry) FrameIndex {
	size := g.frameBytes()
	if g.rows <= 0 || g.columns <= 0 || g.samplesPerPixel <= 0 || g.bitsAllocated <= 0 || g.frames <= 0 ||
		size <= 0 || int64(g.frames) > px.value.Length/size {
		return FrameIndex{}
	}
	return FrameIndex{Offset: px.value.Offset, Length: size, Count: g.frames}
}

// encapsulatedFrames groups fragments into frames, trying in turn what PS3.5 §A.4 allows: the
// Basic Offset Table, one fragment per frame, one frame made of all fragments, and finally the
// codec's start-of-image markers. When nothing fits, the index is empty rather than wrong.
func encapsulatedFrames(r io.ReaderAt, px *pixelData, transferSyntax string, nFrames int) FrameIndex {
	frags := px.fragments
	if len(frags) == 0 || nFrames <= 0 || nFrames > len(frags) {
		return FrameIndex{Encapsulated: true}
	}
	starts := offsetTableStarts(r, px, nFrames)
	switch {
	case starts != nil:
	case len(frags) == nFrames:
		starts = make([]int, nFrames)
		for i := range starts {
			starts[i] = i
		}
	case nFrames == 1:
		starts = []int{0}
	default:
		starts = markerStarts(r, frags, transferSyntax, nFrames)
	}
	if starts == nil {
		return FrameIndex{Encapsulated: true}
	}
	frames := make([][]Range, len(starts))
	for i, first := range starts {
		last := len(frags)
		if i+1 < len(starts) {
			last = starts[i+1]
		}
		for _, f := range frags[first:last] {
			frames[i] = append(frames[i], f.value)
		}
	}
	return FrameIndex{Encapsulated: true, Frames: frames}
}

// offsetTableStarts maps Basic Offset Table entries to the index of each frame's first fragment,
// or returns nil when the table is empty or does not match the fragments and frame count.
func offsetTableStarts(r io.ReaderAt, px *pixelData, nFrames int) []int {
	bot := px.offsetTable
	if bot.Length == 0 || bot.Length != 4*int64(nFrames) {
		return nil
	}
	table := make([]byte, bot.Length) // at most 4 bytes per fragment: bounded by the input
	if _, err := r.ReadAt(table, bot.Offset); err != nil {
		return nil
	}
	first := px.fragments[0].itemStart
	starts := make([]int, 0, nFrames)
	j := 0
	for i := range nFrames {
		off := int64(binary.LittleEndian.Uint32(table[4*i:]))
		for j < len(px.fragments) && px.fragments[j].itemStart-first < off {
			j++
		}
		if j == len(px.fragments) || px.fragments[j].itemStart-first != off || (i == 0) != (j == 0) {
			return nil
		}
		starts = append(starts, j)
		j++
	}
	return starts
}

// markerStarts finds the fragments that begin a codestream, for codecs whose codestreams start
// with a recognisable marker. It returns nil unless exactly nFrames fragments do, the first included.
func markerStarts(r io.ReaderAt, frags []fragment, transferSyntax string, nFrames int) []int {
	var isStart func([]byte) bool
	switch codecFamily(transferSyntax) {
	case "jpeg":
		isStart = func(b []byte) bool { return len(b) >= 2 && b[0] == 0xFF && b[1] == 0xD8 }
	case "jpeg2000":
		jp2 := []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' '}
		isStart = func(b []byte) bool {
			return len(b) >= 2 && b[0] == 0xFF && b[1] == 0x4F || bytes.HasPrefix(b, jp2)
		}
	default:
		return nil
	}
	var starts []int
	var head [8]byte
	for i, f := range frags {
		n := min(f.value.Length, int64(len(head)))
		if _, err := r.ReadAt(head[:n], f.value.Offset); err != nil {
			return nil
		}
		if isStart(head[:n]) {
			starts = append(starts, i)
		}
	}
	if len(starts) != nFrames || starts[0] != 0 {
		return nil
	}
	return starts
}

// codecFamily names the codestream family of an encapsulated transfer syntax.
func codecFamily(syntax string) string {
	if !strings.HasPrefix(syntax, ts.JPEGFamilyPrefix) {
		return ""
	}
	switch strings.TrimPrefix(syntax, ts.JPEGFamilyPrefix) {
	case "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63", "64",
		"65", "66", "70", "80", "81":
		return "jpeg" // JPEG processes, lossless and JPEG-LS all open with SOI (FFD8)
	case "90", "91", "92", "93", "201", "202", "203":
		return "jpeg2000" // SOC (FF4F) or a JP2 signature box
	}
	return ""
}
