package transcode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/pixels"
)

// pixelPlan is how an encapsulated source becomes native: the format Decode returns, which the
// Image Pixel attributes are rewritten to say before the pixel data is reached.
type pixelPlan struct {
	in        pixels.Format
	frames    int
	frameSize int // bytes of one decoded frame
	out       pixels.Format
	replace   []replacement // in tag order
}

// replacement is an attribute written in place of the source's; insert adds it when absent.
type replacement struct {
	tag    tag.Tag
	vr     string
	value  []byte // little endian
	insert bool
}

// firstFrame is what the scan learns from decoding the first frame.
type firstFrame struct {
	in     pixels.Format
	frames int
	out    pixels.Format
	size   int
}

// planPixels reads the source up to its pixel data and decodes the first frame, so that the
// attributes before the pixel data can be written as the decoded frames are. A source without
// pixel data needs no plan.
func planPixels(r io.ReaderAt, size, start int64, from string, s syntax) (*pixelPlan, error) {
	t := &transcoder{src: newSource(r, size, start, s), dst: newTarget(io.Discard, syntaxes[ExplicitVRLittleEndian]), from: from, scan: true}
	err := t.run()
	switch {
	case err == nil:
		return nil, nil
	case !errors.Is(err, errScanDone):
		return nil, err
	}
	f := t.first
	p := &pixelPlan{in: f.in, frames: f.frames, frameSize: f.size, out: f.out}
	us := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	p.replace = []replacement{
		{tag: tagSamplesPerPixel, vr: "US", value: us(f.out.SamplesPerPixel)},
		{tag: tagPhotometricInterpretation, vr: "CS", value: padded(f.out.Photometric)},
		{tag: tagPlanarConfiguration, vr: "US", value: us(f.out.PlanarConfiguration), insert: f.out.SamplesPerPixel > 1},
		{tag: tagBitsAllocated, vr: "US", value: us(f.out.BitsAllocated)},
		{tag: tagBitsStored, vr: "US", value: us(f.out.BitsStored)},
		{tag: tagHighBit, vr: "US", value: us(f.out.HighBit)},
		{tag: tagPixelRepresentation, vr: "US", value: us(f.out.PixelRepresentation)},
	}
	if s.lossy {
		p.replace = append(p.replace, replacement{tag: tagLossyImageCompression, vr: "CS", value: []byte("01"), insert: true})
	}
	slices.SortFunc(p.replace, func(a, b replacement) int {
		if less(a.tag, b.tag) {
			return -1
		}
		return 1
	})
	return p, nil
}

// padded pads a string value to an even length with a space.
func padded(s string) []byte {
	if len(s)%2 == 1 {
		s += " "
	}
	return []byte(s)
}

// format is the pixels.Format of the source's frames.
func (a pixelAttrs) format() (pixels.Format, int) {
	n := a.numberOfFrames
	if n <= 0 {
		n = 1
	}
	return pixels.Format{
		Rows: a.rows, Columns: a.columns, SamplesPerPixel: a.samplesPerPixel,
		BitsAllocated: a.bitsAllocated, BitsStored: a.bitsStored, HighBit: a.highBit,
		PixelRepresentation: a.pixelRepresentation, PlanarConfiguration: a.planarConfiguration,
		Photometric: a.photometric,
	}, n
}

// pixels decodes encapsulated pixel data frame by frame into one native value.
func (t *transcoder) pixels(end int64) error {
	in, n := t.attrs.format()
	if t.plan != nil {
		// The attributes were replaced on the way, so only the scan saw the source's.
		in, n = t.plan.in, t.plan.frames
	}
	fr, err := newFragments(t.src, end, syntaxes[t.from].jpeg, n)
	if err != nil {
		return err
	}
	var i int
	for ; ; i++ {
		frags, err := fr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		native, out, err := pixels.Decode(t.from, in, frags)
		if err != nil {
			return fmt.Errorf("%w: frame %d: %w", ErrMalformed, i+1, err)
		}
		if t.scan {
			t.first = &firstFrame{in: in, frames: n, out: out, size: len(native)}
			return errScanDone
		}
		if i >= n || len(native) != t.plan.frameSize || !sameLayout(out, t.plan.out) {
			return fmt.Errorf("%w: frame %d of %d decodes to %d bytes of %+v, not like the first frame", ErrMalformed, i+1, n, len(native), out)
		}
		if i == 0 {
			if err := t.pixelHeader(); err != nil {
				return err
			}
		}
		if err := t.writeFrame(native); err != nil {
			return err
		}
	}
	if i != n {
		return fmt.Errorf("%w: %d frames of encapsulated pixel data, NumberOfFrames says %d", ErrMalformed, i, n)
	}
	if n*t.plan.frameSize%2 == 1 {
		return t.dst.write([]byte{0})
	}
	return nil
}

// sameLayout reports whether two decoded frames are laid out alike.
func sameLayout(a, b pixels.Format) bool {
	return a.Rows == b.Rows && a.Columns == b.Columns && a.SamplesPerPixel == b.SamplesPerPixel &&
		a.BitsAllocated == b.BitsAllocated && a.BitsStored == b.BitsStored && a.HighBit == b.HighBit &&
		a.PixelRepresentation == b.PixelRepresentation && a.PlanarConfiguration == b.PlanarConfiguration &&
		a.Photometric == b.Photometric
}

// pixelHeader writes the native PixelData header: OB up to 8 bits, OW above.
func (t *transcoder) pixelHeader() error {
	total := int64(t.plan.frames) * int64(t.plan.frameSize)
	total += total % 2
	if total >= undefinedLength {
		return fmt.Errorf("%w: %d bytes of native pixel data do not fit one element", ErrUnsupported, total)
	}
	return t.dst.header(tag.PixelData, t.pixelVR(), uint32(total))
}

func (t *transcoder) pixelVR() string {
	if t.plan.out.BitsAllocated <= 8 {
		return "OB"
	}
	return "OW"
}

// writeFrame writes one decoded (little endian) frame.
func (t *transcoder) writeFrame(native []byte) error {
	if t.dst.bigEndian && t.pixelVR() == "OW" {
		native = swap(native, 2) // Decode's result is ours: it never shares memory for encapsulated data
	}
	return t.dst.write(native)
}
