// Package dicomgen writes synthetic DICOM Part 10 objects (explicit VR little endian, native
// 16-bit pixel data) for tests and benchmarks of the store path. Pixel values are deterministic
// for a seed, so a test can check frame bytes without keeping files.
package dicomgen

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/medimg/medimg/dicomweb/ts"
)

// Tag is a DICOM attribute tag.
type Tag struct{ Group, Element uint16 }

// Tags Spec knobs commonly refer to.
var (
	TagMediaStorageSOPInstanceUID = Tag{0x0002, 0x0003}
	TagTransferSyntaxUID          = Tag{0x0002, 0x0010}
	TagSOPClassUID                = Tag{0x0008, 0x0016}
	TagSOPInstanceUID             = Tag{0x0008, 0x0018}
	TagStudyInstanceUID           = Tag{0x0020, 0x000D}
	TagSeriesInstanceUID          = Tag{0x0020, 0x000E}
	TagPixelData                  = Tag{0x7FE0, 0x0010}
)

// CTImageStorage is the default SOP class.
const CTImageStorage = "1.2.840.10008.5.1.4.1.1.2"

// ExplicitVRLittleEndian is the transfer syntax Write uses.
const ExplicitVRLittleEndian = ts.ExplicitVRLittleEndian

// implementationClassUID identifies this generator in the meta group (a fixed 2.25 UUID-derived UID).
const implementationClassUID = "2.25.160881378411216224380418553958541405042"

// Spec describes one synthetic instance. Zero values get defaults from WithDefaults.
type Spec struct {
	SOPClassUID, SOPInstanceUID, StudyInstanceUID, SeriesInstanceUID string // empty: CT / UID()

	PatientName, PatientID, PatientBirthDate, PatientSex                                     string
	StudyDate, StudyTime, AccessionNumber, StudyDescription, ReferringPhysicianName, StudyID string
	Modality, SeriesDescription                                                              string // Modality empty: "CT"
	SeriesNumber, InstanceNumber                                                             int    // 0: 1

	Rows, Columns       int // 0: 32
	BitsStored          int // 0: 12; BitsAllocated is always 16 and HighBit BitsStored-1
	PixelRepresentation int // 0 unsigned, 1 signed
	NumberOfFrames      int // 0: 1; written only when > 1

	RescaleSlope, RescaleIntercept float64 // slope 0: 1
	WindowCenter, WindowWidth      float64 // width 0: 1<<BitsStored, centre 0: half of that

	// ImagePositionPatient (3 values), ImageOrientationPatient (6) and PixelSpacing (2, row then
	// column) give an instance a place in space; each is written only when non-nil, so that specs
	// without them keep their bytes.
	ImagePositionPatient, ImageOrientationPatient, PixelSpacing []float64

	// Seed chooses the pixel values; the same Spec always gives the same bytes.
	Seed uint64

	// Omit leaves these attributes out (meta group included), for negative tests.
	Omit []Tag
	// Override writes these raw values instead of the generated ones (padded to even length),
	// for malformed values; the tag must be one Write writes.
	Override map[Tag]string
}

// UID returns a new "2.25." UID from 128 random bits (PS3.5 §B.2).
func UID() string {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "2.25." + n.String()
}

// WithDefaults returns s with every empty field filled in: the UIDs a caller must know before
// writing come from here (Write calls it too, so call it first to learn generated UIDs).
func (s Spec) WithDefaults() Spec {
	def := func(p *string, v func() string) {
		if *p == "" {
			*p = v()
		}
	}
	def(&s.SOPClassUID, func() string { return CTImageStorage })
	def(&s.SOPInstanceUID, UID)
	def(&s.StudyInstanceUID, UID)
	def(&s.SeriesInstanceUID, UID)
	def(&s.Modality, func() string { return "CT" })
	for _, p := range []*int{&s.SeriesNumber, &s.InstanceNumber, &s.NumberOfFrames} {
		if *p == 0 {
			*p = 1
		}
	}
	if s.Rows == 0 {
		s.Rows = 32
	}
	if s.Columns == 0 {
		s.Columns = 32
	}
	if s.BitsStored == 0 {
		s.BitsStored = 12
	}
	if s.RescaleSlope == 0 {
		s.RescaleSlope = 1
	}
	if s.WindowWidth == 0 {
		s.WindowWidth = float64(int(1) << s.BitsStored)
	}
	if s.WindowCenter == 0 {
		s.WindowCenter = s.WindowWidth / 2
	}
	return s
}

// FrameBytes returns the size of one frame of s (after defaults).
func (s Spec) FrameBytes() int { s = s.WithDefaults(); return s.Rows * s.Columns * 2 }

// Frame returns the little-endian bytes of frame i (0-based) of s, as Write writes them.
func (s Spec) Frame(i int) []byte {
	s = s.WithDefaults()
	rng := mrand.New(mrand.NewPCG(s.Seed, uint64(i)))
	mask := uint16(1)<<min(s.BitsStored, 16) - 1
	b := make([]byte, s.Rows*s.Columns*2)
	for p := 0; p < len(b); p += 2 {
		binary.LittleEndian.PutUint16(b[p:], uint16(rng.Uint32())&mask)
	}
	return b
}

// Write writes s as a Part 10 object: preamble, "DICM", meta group, dataset, pixel data.
func Write(w io.Writer, s Spec) error {
	s = s.WithDefaults()
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(make([]byte, 128)); err != nil {
		return err
	}
	bw.WriteString("DICM")
	meta := s.encode(s.metaElements())
	group := element{Tag{0x0002, 0x0000}, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(meta)))}
	bw.Write(group.append(nil))
	bw.Write(meta)
	bw.Write(s.encode(s.datasetElements()))
	if !slices.Contains(s.Omit, TagPixelData) {
		n := s.NumberOfFrames * s.Rows * s.Columns * 2
		bw.Write(element{TagPixelData, "OW", nil}.header(n))
		for i := range s.NumberOfFrames {
			if _, err := bw.Write(s.Frame(i)); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func (s Spec) metaElements() []element {
	return []element{
		{Tag{0x0002, 0x0001}, "OB", []byte{0, 1}},
		{Tag{0x0002, 0x0002}, "UI", []byte(s.SOPClassUID)},
		{TagMediaStorageSOPInstanceUID, "UI", []byte(s.SOPInstanceUID)},
		{TagTransferSyntaxUID, "UI", []byte(ExplicitVRLittleEndian)},
		{Tag{0x0002, 0x0012}, "UI", []byte(implementationClassUID)},
		{Tag{0x0002, 0x0013}, "SH", []byte("MEDIMG_GEN")},
	}
}

func (s Spec) datasetElements() []element {
	str := func(g, e uint16, vr, v string) element { return element{Tag{g, e}, vr, []byte(v)} }
	us := func(e uint16, v int) element {
		return element{Tag{0x0028, e}, "US", binary.LittleEndian.AppendUint16(nil, uint16(v))}
	}
	ds := func(e uint16, v float64) element {
		return str(0x0028, e, "DS", strconv.FormatFloat(v, 'g', 10, 64))
	}
	// multi appends a multi-valued DS element when the values are given (tag order is kept by the
	// callers, which place it between its neighbours).
	multi := func(elems []element, tag Tag, vs []float64) []element {
		if vs == nil {
			return elems
		}
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = strconv.FormatFloat(v, 'g', 10, 64)
		}
		return append(elems, element{tag, "DS", []byte(strings.Join(parts, `\`))})
	}
	elems := []element{
		str(0x0008, 0x0016, "UI", s.SOPClassUID),
		str(0x0008, 0x0018, "UI", s.SOPInstanceUID),
		str(0x0008, 0x0020, "DA", s.StudyDate),
		str(0x0008, 0x0030, "TM", s.StudyTime),
		str(0x0008, 0x0050, "SH", s.AccessionNumber),
		str(0x0008, 0x0060, "CS", s.Modality),
		str(0x0008, 0x0090, "PN", s.ReferringPhysicianName),
		str(0x0008, 0x1030, "LO", s.StudyDescription),
		str(0x0008, 0x103E, "LO", s.SeriesDescription),
		str(0x0010, 0x0010, "PN", s.PatientName),
		str(0x0010, 0x0020, "LO", s.PatientID),
		str(0x0010, 0x0030, "DA", s.PatientBirthDate),
		str(0x0010, 0x0040, "CS", s.PatientSex),
		str(0x0020, 0x000D, "UI", s.StudyInstanceUID),
		str(0x0020, 0x000E, "UI", s.SeriesInstanceUID),
		str(0x0020, 0x0010, "SH", s.StudyID),
		str(0x0020, 0x0011, "IS", strconv.Itoa(s.SeriesNumber)),
		str(0x0020, 0x0013, "IS", strconv.Itoa(s.InstanceNumber)),
	}
	elems = multi(elems, Tag{0x0020, 0x0032}, s.ImagePositionPatient)
	elems = multi(elems, Tag{0x0020, 0x0037}, s.ImageOrientationPatient)
	elems = append(elems, us(0x0002, 1), str(0x0028, 0x0004, "CS", "MONOCHROME2"))
	if s.NumberOfFrames > 1 {
		elems = append(elems, str(0x0028, 0x0008, "IS", strconv.Itoa(s.NumberOfFrames)))
	}
	elems = append(elems, us(0x0010, s.Rows), us(0x0011, s.Columns))
	elems = multi(elems, Tag{0x0028, 0x0030}, s.PixelSpacing)
	return append(elems,
		us(0x0100, 16), us(0x0101, s.BitsStored), us(0x0102, s.BitsStored-1), us(0x0103, s.PixelRepresentation),
		ds(0x1050, s.WindowCenter), ds(0x1051, s.WindowWidth),
		ds(0x1052, s.RescaleIntercept), ds(0x1053, s.RescaleSlope),
	)
}

// encode applies Omit and Override and encodes the elements in order.
func (s Spec) encode(elems []element) []byte {
	var b []byte
	for _, e := range elems {
		if slices.Contains(s.Omit, e.tag) {
			continue
		}
		if v, ok := s.Override[e.tag]; ok {
			e.value = []byte(v)
		}
		b = e.append(b)
	}
	return b
}

// element is one explicit VR little endian data element.
type element struct {
	tag   Tag
	vr    string
	value []byte
}

// header encodes the element header for a value of n bytes.
func (e element) header(n int) []byte {
	b := binary.LittleEndian.AppendUint16(nil, e.tag.Group)
	b = binary.LittleEndian.AppendUint16(b, e.tag.Element)
	b = append(b, e.vr...)
	switch e.vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		b = append(b, 0, 0)
		return binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	if n > 0xFFFF {
		panic(fmt.Sprintf("dicomgen: %d bytes do not fit a %s value", n, e.vr))
	}
	return binary.LittleEndian.AppendUint16(b, uint16(n))
}

// append encodes the element, padding odd values as PS3.5 §6.2 asks (NUL for UI and binary, space
// for text).
func (e element) append(b []byte) []byte {
	v := e.value
	if len(v)%2 == 1 {
		pad := byte(' ')
		if e.vr == "UI" || e.vr == "OB" {
			pad = 0
		}
		v = append(slices.Clone(v), pad)
	}
	b = append(b, e.header(len(v))...)
	return append(b, v...)
}
