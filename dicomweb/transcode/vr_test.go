package transcode

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// implicitElement encodes one implicit VR little endian element.
func implicitElement(g, e uint16, value []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, g)
	b = binary.LittleEndian.AppendUint16(b, e)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// part10File wraps a dataset in a preamble and a meta group saying ts.
func part10File(ts string, dataset []byte) []byte {
	var b bytes.Buffer
	m := meta{elements: []metaElement{{element: 0x0002, raw: append([]byte{2, 0, 2, 0, 'U', 'I', 8, 0}, "1.2.3.4\x00"...)}}}
	if err := writeMeta(&b, m, ts); err != nil {
		panic(err)
	}
	return append(b.Bytes(), dataset...)
}

func TestImplicitVRsAreChosenAsPS35Says(t *testing.T) {
	us := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	long := bytes.Repeat([]byte("1\\"), 40000) // 80000 bytes: too long for DS's 2-byte length
	var ds []byte
	for _, el := range []struct {
		g, e  uint16
		value []byte
	}{
		{0x0008, 0x0016, []byte("1.2.3.4\x00")},
		{0x0009, 0x0010, []byte("ACME")},
		{0x0009, 0x1001, []byte{1, 2, 3, 4}},
		{0x0028, 0x0010, us(2)},
		{0x0028, 0x0011, us(2)},
		{0x0028, 0x0100, us(8)},
		{0x0028, 0x0103, us(1)},
		{0x0028, 0x0106, us(0xFFFF)},
		{0x0028, 0x1050, long},
		{0x6002, 0x3000, []byte{0, 0}},
		{0x7FE0, 0x0010, []byte{1, 2, 3, 4}},
	} {
		ds = append(ds, implicitElement(el.g, el.e, el.value)...)
	}
	out := transcoded(t, part10File(ImplicitVRLittleEndian, ds), ImplicitVRLittleEndian, ExplicitVRLittleEndian)
	parsed, err := dicom.Parse(bytes.NewReader(out), int64(len(out)), nil, dicom.SkipPixelData())
	if err != nil {
		t.Fatal(err)
	}
	got := map[tag.Tag]string{}
	for _, el := range parsed.Elements {
		if el.Tag.Group != 2 {
			got[el.Tag] = el.RawValueRepresentation
		}
	}
	want := map[tag.Tag]string{
		{Group: 0x0008, Element: 0x0016}: "UI",
		{Group: 0x0009, Element: 0x0010}: "LO", // private creator
		{Group: 0x0009, Element: 0x1001}: "UN", // private, unknown
		{Group: 0x0028, Element: 0x0010}: "US",
		{Group: 0x0028, Element: 0x0011}: "US",
		{Group: 0x0028, Element: 0x0100}: "US",
		{Group: 0x0028, Element: 0x0103}: "US",
		{Group: 0x0028, Element: 0x0106}: "SS", // US or SS: PixelRepresentation 1
		{Group: 0x0028, Element: 0x1050}: "UN", // longer than 65535 bytes
		{Group: 0x6002, Element: 0x3000}: "OW", // repeating group, OB or OW
		{Group: 0x7FE0, Element: 0x0010}: "OB", // BitsAllocated 8
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VRs (-want +got):\n%s", diff)
	}
	checkDcmdump(t, out)
}
