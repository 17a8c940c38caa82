package transcode

import (
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxCaptured is the largest value of a captured attribute that is read: real ones are a few
// bytes; a longer one is copied without being looked at.
const maxCaptured = 64

var (
	tagSamplesPerPixel           = tag.Tag{Group: 0x0028, Element: 0x0002}
	tagPhotometricInterpretation = tag.Tag{Group: 0x0028, Element: 0x0004}
	tagPlanarConfiguration       = tag.Tag{Group: 0x0028, Element: 0x0006}
	tagNumberOfFrames            = tag.Tag{Group: 0x0028, Element: 0x0008}
	tagRows                      = tag.Tag{Group: 0x0028, Element: 0x0010}
	tagColumns                   = tag.Tag{Group: 0x0028, Element: 0x0011}
	tagBitsAllocated             = tag.Tag{Group: 0x0028, Element: 0x0100}
	tagBitsStored                = tag.Tag{Group: 0x0028, Element: 0x0101}
	tagHighBit                   = tag.Tag{Group: 0x0028, Element: 0x0102}
	tagPixelRepresentation       = tag.Tag{Group: 0x0028, Element: 0x0103}
	tagLossyImageCompression     = tag.Tag{Group: 0x0028, Element: 0x2110}
)

// pixelAttrs are the top-level Image Pixel attributes that decoding needs.
type pixelAttrs struct {
	samplesPerPixel, planarConfiguration, numberOfFrames, rows, columns int
	bitsAllocated, bitsStored, highBit, pixelRepresentation             int
	photometric                                                         string
}

// captured reports whether the value of tg is read on its way through.
func captured(tg tag.Tag) bool {
	switch tg {
	case tagSamplesPerPixel, tagPhotometricInterpretation, tagPlanarConfiguration, tagNumberOfFrames,
		tagRows, tagColumns, tagBitsAllocated, tagBitsStored, tagHighBit, tagPixelRepresentation:
		return true
	}
	return false
}

// capturedValue copies a small value, remembering what it says.
func (t *transcoder) capturedValue(h header, vr, dstVR string, depth int) error {
	var small [maxCaptured]byte
	b := small[:h.length]
	if err := t.src.read(b); err != nil {
		return err
	}
	t.remember(h.tag, b, depth)
	if t.src.bigEndian {
		swap(b, swapWidth(vr))
	}
	if err := t.dst.header(h.tag, dstVR, h.length); err != nil {
		return err
	}
	if t.dst.bigEndian {
		swap(b, swapWidth(dstVR))
	}
	return t.dst.write(b)
}

// remember records an attribute's value; b is as stored, in the source's byte order.
func (t *transcoder) remember(tg tag.Tag, b []byte, depth int) {
	us := 0
	if len(b) >= 2 {
		us = int(t.src.bo.Uint16(b))
	}
	switch tg {
	case tagBitsAllocated:
		t.ctx.bitsAllocated = us
	case tagPixelRepresentation:
		t.ctx.pixelRepresentation = us
	}
	if depth > 0 {
		return
	}
	a := &t.attrs
	switch tg {
	case tagSamplesPerPixel:
		a.samplesPerPixel = us
	case tagPhotometricInterpretation:
		a.photometric = strings.Trim(string(b), " \x00")
	case tagPlanarConfiguration:
		a.planarConfiguration = us
	case tagNumberOfFrames:
		a.numberOfFrames, _ = strconv.Atoi(strings.Trim(string(b), " \x00"))
	case tagRows:
		a.rows = us
	case tagColumns:
		a.columns = us
	case tagBitsAllocated:
		a.bitsAllocated = us
	case tagBitsStored:
		a.bitsStored = us
	case tagHighBit:
		a.highBit = us
	case tagPixelRepresentation:
		a.pixelRepresentation = us
	}
}
