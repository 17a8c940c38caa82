package ingest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Cutting values from the parser's view must change nothing but the parser's allocations: each
// test reads a file twice, with every binary value above a few bytes cut and with nothing cut,
// and compares what Read returns.

// noCut reads nothing out of the parser's view; cutAll cuts every binary value above 16 bytes.
// Both send every binary value to bulk data, so that cut and uncut values are written alike.
var (
	noCut  = Options{InlineBinaryMax: -1, cutOver: 1 << 62}
	cutAll = Options{InlineBinaryMax: -1, cutOver: 16}
)

func readCutAndUncut(t testing.TB, data []byte) (cut, uncut *Instance) {
	t.Helper()
	cut, err := Read(bytes.NewReader(data), int64(len(data)), cutAll)
	if err != nil {
		t.Fatalf("Read with values cut: %v", err)
	}
	uncut, err = Read(bytes.NewReader(data), int64(len(data)), noCut)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return cut, uncut
}

func TestCutValuesChangeNothing(t *testing.T) {
	files := map[string][]byte{}
	for _, name := range []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm", "6.dcm"} {
		files[name] = readBytes(t, realFile(t, name))
	}
	for _, name := range []string{"mr_explicit_big_endian.dcm", "mr_implicit_little_endian.dcm", "mr_jpeg_lossless.dcm", "ct_multiframe_rle.dcm"} {
		files[name] = readBytes(t, variantFile(t, name))
	}
	for _, enc := range []struct {
		name     string
		ts       string
		bo       binary.AppendByteOrder
		implicit bool
	}{
		{"explicit_little_endian", tsExplicitLE, binary.LittleEndian, false},
		{"implicit_little_endian", tsImplicitLE, binary.LittleEndian, true},
		{"explicit_big_endian", tsExplicitBE, binary.BigEndian, false},
		{"deflated", tsDeflated, binary.LittleEndian, false},
	} {
		files["nested_"+enc.name] = nestedLargeValues(enc.ts, enc.bo, enc.implicit)
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			cut, uncut := readCutAndUncut(t, data)
			if diff := cmp.Diff(uncut, cut); diff != "" {
				t.Errorf("cut values changed the instance (-uncut +cut):\n%s", diff)
			}
		})
	}
}

// TestCutNestedValues checks the file whose large values sit in defined-length sequences two
// levels deep, in an undefined-length sequence, and as an undefined-length value: the elements
// after each are read, and every large value is bulk data addressing its bytes.
func TestCutNestedValues(t *testing.T) {
	data := nestedLargeValues(tsExplicitBE, binary.BigEndian, false)
	inst, err := Read(bytes.NewReader(data), int64(len(data)), Options{cutOver: 16})
	if err != nil {
		t.Fatal(err)
	}
	if inst.ScheduledProcedureStepID != "SPS1" || inst.RequestedProcedureID != "RP1" {
		t.Errorf("request attributes %q %q, want SPS1 RP1", inst.ScheduledProcedureStepID, inst.RequestedProcedureID)
	}
	for path, want := range map[string][]byte{
		"00400275/0/00420011":            largeValue(1),
		"0040A730/0/0040A730/0/00420011": largeValue(2),
	} {
		r, ok := inst.BulkData[path]
		if !ok {
			t.Errorf("%s is not bulk data: %s", path, inst.Metadata)
			continue
		}
		if got := data[r.Offset : r.Offset+r.Length]; !bytes.Equal(got, want) {
			t.Errorf("%s addresses %q, want %q", path, got, want)
		}
	}
	for _, want := range []string{`"00420012":{"vr":"LO","Value":["after the value"]}`, `"Value":["after the nested value"]`, `"Value":["second item"]`} {
		if !strings.Contains(string(inst.Metadata), want) {
			t.Errorf("metadata lacks %s: %s", want, inst.Metadata)
		}
	}
}

// largeValue is a binary value of 64 bytes, above cutAll's size.
func largeValue(seed byte) []byte { return bytes.Repeat([]byte{seed, 'x'}, 32) }

// el is an element for the test encoder: a value, the items of a sequence, or the fragments of an
// undefined-length binary value. undefined gives a sequence and its items undefined lengths.
type el struct {
	tag       tag.Tag
	vr        string
	value     []byte
	items     [][]el
	fragments [][]byte
	undefined bool
}

// nestedLargeValues writes a Part 10 object with large binary values where cutting them must
// shorten the sequences and items around them.
func nestedLargeValues(ts string, bo binary.AppendByteOrder, implicit bool) []byte {
	ui := func(g, e uint16, v string) el {
		return el{tag: tag.Tag{Group: g, Element: e}, vr: "UI", value: []byte(v)}
	}
	lo := func(v string) el {
		return el{tag: tag.Tag{Group: 0x0042, Element: 0x0012}, vr: "LO", value: []byte(v)}
	}
	doc := func(v []byte) el { return el{tag: tag.Tag{Group: 0x0042, Element: 0x0011}, vr: "OB", value: v} }
	content := tag.Tag{Group: 0x0040, Element: 0xA730}
	dataset := []el{
		ui(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.104.1"),
		ui(0x0008, 0x0018, "1.2.3.4"),
		ui(0x0020, 0x000D, "1.2.3.5"),
		ui(0x0020, 0x000E, "1.2.3.6"),
		{tag: tagRequestAttributesSequence, vr: "SQ", undefined: true, items: [][]el{{
			{tag: tagScheduledProcedureStepID, vr: "SH", value: []byte("SPS1")},
			{tag: tagRequestedProcedureID, vr: "SH", value: []byte("RP1 ")},
			doc(largeValue(1)),
			lo("after the value"),
		}}},
		{tag: content, vr: "SQ", items: [][]el{
			{{tag: content, vr: "SQ", items: [][]el{{doc(largeValue(2)), lo("after the nested value")}}}, lo("after the sequence ")},
			{lo("second item ")},
		}},
		{tag: tag.Tag{Group: 0x0042, Element: 0x0011}, vr: "OB", fragments: [][]byte{largeValue(3), largeValue(4)}},
		lo("after the value"),
	}
	enc := encoder{bo: bo, implicit: implicit}
	body := enc.elements(dataset)
	if ts == tsDeflated {
		var z bytes.Buffer
		zw, _ := flate.NewWriter(&z, flate.BestSpeed)
		zw.Write(body)
		zw.Close()
		body = z.Bytes()
	}
	metaEnc := encoder{bo: binary.LittleEndian}
	metaGroup := metaEnc.elements([]el{
		{tag: tag.Tag{Group: 0x0002, Element: 0x0001}, vr: "OB", value: []byte{0, 1}},
		ui(0x0002, 0x0010, ts+strings.Repeat("\x00", len(ts)%2)),
	})
	out := append(make([]byte, 128), "DICM"...)
	out = append(out, metaEnc.elements([]el{{tag: tagMetaGroupLength, vr: "UL", value: binary.LittleEndian.AppendUint32(nil, uint32(len(metaGroup)))}})...)
	out = append(out, metaGroup...)
	return append(out, body...)
}

type encoder struct {
	bo       binary.AppendByteOrder
	implicit bool
}

func (e encoder) elements(elems []el) []byte {
	var b []byte
	for _, x := range elems {
		switch {
		case x.vr == "SQ":
			var items []byte
			for _, it := range x.items {
				body := e.elements(it)
				if x.undefined {
					items = append(e.header(tagItem, "", undefinedLength, items), body...)
					items = e.header(tagItemDelim, "", 0, items)
				} else {
					items = append(e.header(tagItem, "", uint32(len(body)), items), body...)
				}
			}
			if x.undefined {
				b = e.header(tagSequenceDelim, "", 0, append(e.header(x.tag, x.vr, undefinedLength, b), items...))
			} else {
				b = append(e.header(x.tag, x.vr, uint32(len(items)), b), items...)
			}
		case x.fragments != nil:
			b = e.header(x.tag, x.vr, undefinedLength, b)
			for _, f := range x.fragments {
				b = append(e.header(tagItem, "", uint32(len(f)), b), f...)
			}
			b = e.header(tagSequenceDelim, "", 0, b)
		default:
			b = append(e.header(x.tag, x.vr, uint32(len(x.value)), b), x.value...)
		}
	}
	return b
}

func (e encoder) header(t tag.Tag, vr string, length uint32, b []byte) []byte {
	b = e.bo.AppendUint16(b, t.Group)
	b = e.bo.AppendUint16(b, t.Element)
	switch {
	case e.implicit || t.Group == 0xFFFE:
		return e.bo.AppendUint32(b, length)
	case vr == "OB" || vr == "SQ":
		return e.bo.AppendUint32(append(b, vr[0], vr[1], 0, 0), length)
	}
	return e.bo.AppendUint16(append(b, vr...), uint16(length))
}
