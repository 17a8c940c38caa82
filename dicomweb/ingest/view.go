package ingest

import (
	"bytes"
	"io"
	"strconv"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/dcmjson"
)

// The parser reads every value it meets into memory (pixel data aside, which it can skip), so a
// 300 MB encapsulated PDF would cost 300 MB of heap per STOW part. It is given instead a view of
// the file in which each large binary value has length 0 and no bytes: it allocates nothing for
// it. The walker, which knows every header, plans the view as a list of edits; the values' byte
// ranges still come from the walker, and setMetadata writes them as BulkDataURIs.

// LargeValueMin is the size above which a binary value (OB, OD, OF, OL, OW, UN other than pixel
// data) is never read into memory: the parser does not see it, and it is always bulk data. When
// Options.InlineBinaryMax is larger, that size is used instead, since such values are inlined.
const LargeValueMin = 1 << 20

// edit replaces the n bytes at offset at of the walked input with the bytes of with.
type edit struct {
	at, n int64
	with  []byte
}

// cutValue cuts the value of h, which ends at end (after its sequence delimiter when it has
// undefined length), when it is longer than the walker's cutOver: its 4-byte length field becomes
// 0 and its bytes go. Binary VRs always have a 4-byte length field just before the value,
// explicit or implicit (PS3.5 §7.1.2), and 0 reads the same in either byte order.
func (w *walker) cutValue(h header, end int64) {
	size := end - h.value
	if w.cutOver <= 0 || size <= w.cutOver || isPrivateCreator(h.tag) && size <= LargeValueMin {
		return
	}
	w.res.edits = append(w.res.edits, edit{at: h.value - 4, n: 4 + size, with: make([]byte, 4)})
	w.res.cut = append(w.res.cut, string(w.path))
	w.res.cutBytes += size
}

// isPrivateCreator tells the elements dcmjson may write as text although an implicit VR file
// leaves them UN: they are cut only when too large to be a creator's name.
func isPrivateCreator(t tag.Tag) bool {
	return t.Group%2 == 1 && t.Element >= 0x0010 && t.Element <= 0x00FF
}

// shorten rewrites the length of the defined-length sequence or item h by what was cut inside it
// since cutBefore, so that the parser's limits match the view. Sequence and item lengths are 4
// bytes just before the value in every encoding.
func (w *walker) shorten(h header, cutBefore int64) {
	if d := w.res.cutBytes - cutBefore; d > 0 {
		length := make([]byte, 4)
		w.bo.PutUint32(length, h.length-uint32(d))
		w.res.edits = append(w.res.edits, edit{at: h.value - 4, n: 4, with: length})
	}
}

// view reads r from 0 to size with edits (sorted, not overlapping) applied.
type view struct {
	r       io.ReaderAt
	pos     int64
	size    int64
	edits   []edit
	pending []byte
}

// newView returns the view of r and its size.
func newView(r io.ReaderAt, size int64, walked *walkResult) (*view, int64) {
	return &view{r: r, size: size, edits: walked.edits}, size - walked.cutBytes
}

func (v *view) Read(p []byte) (int, error) {
	for len(v.pending) == 0 && len(v.edits) > 0 && v.edits[0].at <= v.pos {
		v.pending, v.pos, v.edits = v.edits[0].with, v.edits[0].at+v.edits[0].n, v.edits[1:]
	}
	if len(v.pending) > 0 {
		n := copy(p, v.pending)
		v.pending = v.pending[n:]
		return n, nil
	}
	limit := v.size
	if len(v.edits) > 0 {
		limit = v.edits[0].at
	}
	if v.pos >= limit {
		return 0, io.EOF
	}
	if int64(len(p)) > limit-v.pos {
		p = p[:limit-v.pos]
	}
	n, err := v.r.ReadAt(p, v.pos)
	v.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// markCut gives every cut element of ds a stand-in value one byte longer than what dcmjson writes
// inline, so that dcmjson writes it as a BulkDataURI with its VR instead of as an empty value. The
// stand-in is shared and, being at most InlineBinaryMax+1 bytes, smaller than any cut value.
// (0xFF, invalid UTF-8, keeps dcmjson from taking it for a Private Creator's text.)
func markCut(ds *dicom.Dataset, cut []string, inlineBinaryMax int) {
	if len(cut) == 0 {
		return
	}
	paths := make(map[string]bool, len(cut))
	for _, p := range cut {
		paths[p] = true
	}
	standIn := mustBytesValue(bytes.Repeat([]byte{0xFF}, resolvedInlineMax(inlineBinaryMax)+1))
	markCutElements(ds.Elements, nil, paths, standIn)
}

func markCutElements(elems []*dicom.Element, prefix []byte, paths map[string]bool, standIn dicom.Value) {
	for _, el := range elems {
		if el == nil || el.Value == nil {
			continue
		}
		p := prefix
		if len(p) > 0 {
			p = append(p, '/')
		}
		p = appendTagHex(p, el.Tag)
		if paths[string(p)] {
			el.Value = standIn
			continue
		}
		items, ok := el.Value.GetValue().([]*dicom.SequenceItemValue)
		if !ok {
			continue
		}
		for i, item := range items {
			if item == nil {
				continue
			}
			sub, _ := item.GetValue().([]*dicom.Element)
			markCutElements(sub, strconv.AppendInt(append(p, '/'), int64(i), 10), paths, standIn)
		}
	}
}

// resolvedInlineMax is the largest value dcmjson inlines for an InlineBinaryMax option.
func resolvedInlineMax(opt int) int {
	switch {
	case opt == 0:
		return dcmjson.DefaultInlineBinaryMax
	case opt < 0:
		return 0
	}
	return opt
}

// cutOver is the size above which Read cuts binary values from the parser's view.
func cutOver(opts Options) int64 {
	if opts.cutOver != 0 {
		return opts.cutOver
	}
	return max(LargeValueMin, int64(resolvedInlineMax(opts.InlineBinaryMax)))
}

func mustBytesValue(b []byte) dicom.Value {
	v, err := dicom.NewValue(b)
	if err != nil {
		panic(err) // []byte is always a valid value
	}
	return v
}
