package dcmjson

import (
	"cmp"
	"slices"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// Object is a DICOM JSON object built attribute by attribute, for responses made of values rather
// than of a parsed dataset (the STOW response, QIDO results). Values follow the same rules as
// Marshal, and the keys come out in tag order whatever the order of the calls. Setting a tag again
// replaces its attribute. The zero Object is empty and ready to use.
type Object struct {
	attrs map[tag.Tag][]byte
}

// Strings sets a text attribute: padding is trimmed, IS and DS values are written as JSON
// numbers, PN values as {"Alphabetic", "Ideographic", "Phonetic"} objects (component groups
// split on '='), an empty value as null. Without values, or with one empty value, the attribute
// has no "Value" (PS3.18 §F.2.5). A value is never split on '\': pass each value separately.
func (o *Object) Strings(t tag.Tag, vr string, v ...string) {
	var e encoder
	e.text(vr, v)
	o.set(t, e.buf)
}

// Ints sets an attribute of integers, such as US or IS, written as JSON numbers; without values
// the attribute has no "Value".
func (o *Object) Ints(t tag.Tag, vr string, v ...int64) {
	var e encoder
	integers(&e, vr, v)
	o.set(t, e.buf)
}

// Sequence sets an SQ attribute with items; without items it has no "Value".
func (o *Object) Sequence(t tag.Tag, items ...*Object) {
	var e encoder
	e.openValues("SQ", len(items))
	for i, item := range items {
		e.comma(i)
		e.buf = item.AppendJSON(e.buf)
	}
	e.closeValues(len(items))
	o.set(t, e.buf)
}

// Raw sets an attribute already written as DICOM JSON, such as one taken from stored metadata;
// attr must be one valid attribute object ({"vr": …}).
func (o *Object) Raw(t tag.Tag, attr []byte) {
	o.set(t, slices.Clip(attr))
}

// Has reports whether the object has an attribute for t.
func (o *Object) Has(t tag.Tag) bool {
	_, ok := o.attrs[t]
	return ok
}

// Len returns the number of attributes.
func (o *Object) Len() int { return len(o.attrs) }

func (o *Object) set(t tag.Tag, attr []byte) {
	if o.attrs == nil {
		o.attrs = map[tag.Tag][]byte{}
	}
	o.attrs[t] = attr
}

// AppendJSON appends the object to b, keys in ascending tag order, and returns the result.
func (o *Object) AppendJSON(b []byte) []byte {
	tags := make([]tag.Tag, 0, len(o.attrs))
	for t := range o.attrs {
		tags = append(tags, t)
	}
	slices.SortFunc(tags, func(a, b tag.Tag) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Element, b.Element))
	})
	b = append(b, '{')
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, t)
		b = append(b, o.attrs[t]...)
	}
	return append(b, '}')
}

// MarshalArray returns the JSON array of objs, as a search response carries its results
// (PS3.18 §F.2); no objects make an empty array.
func MarshalArray(objs []*Object) []byte {
	b := []byte{'['}
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = o.AppendJSON(b)
	}
	return append(b, ']')
}
