package dicomweb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/queries"
)

// searchResponse builds the DICOM JSON array of a search (PS3.18 §10.6.3.3 and Annex F): the return
// attributes of PS3.18 Table 6.7.1-2 from the index, the computed ones, RetrieveURL, and what
// includefield asks from the stored metadata.
type searchResponse struct {
	base  string
	query *qido.Query
	items []jsonObject
}

// jsonObject is one DICOM JSON object; encoding/json writes its keys sorted, which is tag order.
type jsonObject map[string]json.RawMessage

// Tags that the index always answers, per level: includefield of these needs no stored metadata.
var (
	studyTags    = []uint32{0x00080020, 0x00080030, 0x00080050, 0x00080056, 0x00080061, 0x00080090, 0x00081030, 0x00081190, 0x00100010, 0x00100020, 0x00100030, 0x00100040, 0x0020000D, 0x00200010, 0x00201206, 0x00201208}
	seriesTags   = []uint32{0x00080021, 0x00080031, 0x00080060, 0x0008103E, 0x00081190, 0x0020000D, 0x0020000E, 0x00200011, 0x00201209, 0x00400244, 0x00400245, 0x00400275}
	instanceTags = []uint32{0x00080016, 0x00080018, 0x00080056, 0x00081190, 0x00083002, 0x0020000D, 0x0020000E, 0x00200013, 0x00280008, 0x00280010, 0x00280011, 0x00280100}
)

// needsMetadata reports whether includefield asks for attributes beyond the index.
func needsMetadata(q *qido.Query) bool {
	if q.IncludeAll {
		return true
	}
	indexed := map[uint32]bool{}
	for _, t := range levelTags(q.Level) {
		indexed[t] = true
	}
	for _, t := range q.IncludeFields {
		if !indexed[t] {
			return true
		}
	}
	return false
}

// levelTags are the tags a result at level carries from the index (a study-level search of series
// or instances across studies carries more, which needsMetadata does not count on).
func levelTags(level qido.Level) []uint32 {
	switch level {
	case qido.Study:
		return studyTags
	case qido.Series:
		return seriesTags
	default:
		return instanceTags
	}
}

func (r *searchResponse) studies(rows []queries.StudyResult) {
	for _, st := range rows {
		o := jsonObject{}
		o.study(st.Study)
		o.str(0x00081190, "UR", studyURL(r.base, st.StudyInstanceUID))
		r.include(o, st.Metadata, "")
		r.items = append(r.items, o)
	}
}

func (r *searchResponse) series(rows []queries.SeriesResult, withStudy bool) {
	for _, se := range rows {
		o := jsonObject{}
		if withStudy {
			o.study(se.Study)
		}
		o.series(se.Series)
		o.str(0x0020000D, "UI", se.StudyInstanceUID)
		o.str(0x00081190, "UR", studyURL(r.base, se.StudyInstanceUID)+"/series/"+se.SeriesInstanceUID)
		r.include(o, se.Metadata, "")
		r.items = append(r.items, o)
	}
}

func (r *searchResponse) instances(rows []queries.InstanceResult, withStudy, withSeries bool) {
	for _, in := range rows {
		o := jsonObject{}
		if withStudy {
			o.study(in.Study)
		}
		if withSeries {
			o.series(in.Series)
		}
		o.str(0x0020000D, "UI", in.StudyInstanceUID)
		o.str(0x0020000E, "UI", in.SeriesInstanceUID)
		o.str(0x00080016, "UI", in.SOPClassUID)
		o.str(0x00080018, "UI", in.SOPInstanceUID)
		o.str(0x00080056, "CS", "ONLINE")
		o.str(0x00083002, "UI", in.TransferSyntaxUID)
		o.num64(0x00200013, "IS", in.InstanceNumber)
		if in.Rows > 0 {
			o.num(0x00280010, "US", &in.Rows)
			o.num(0x00280011, "US", &in.Columns)
			o.num(0x00280100, "US", &in.BitsAllocated)
			o.num(0x00280008, "IS", &in.NumberOfFrames)
		}
		url := instanceURL(r.base, in.StudyInstanceUID, in.SeriesInstanceUID, in.SOPInstanceUID)
		o.str(0x00081190, "UR", url)
		r.include(o, in.Metadata, url)
		r.items = append(r.items, o)
	}
}

func (o jsonObject) study(st queries.Study) {
	o.str(0x00080020, "DA", st.StudyDate)
	o.str(0x00080030, "TM", st.StudyTime)
	o.str(0x00080050, "SH", st.AccessionNumber)
	o.str(0x00080056, "CS", "ONLINE")
	if len(st.ModalitiesInStudy) > 0 { // an empty one broke OHIF's study list (OHIF#2774)
		o.strs(0x00080061, "CS", st.ModalitiesInStudy)
	}
	o.pn(0x00080090, st.ReferringPhysicianName)
	o.str(0x00081030, "LO", st.StudyDescription)
	o.pn(0x00100010, st.PatientName)
	o.str(0x00100020, "LO", st.PatientID)
	o.str(0x00100030, "DA", st.PatientBirthDate)
	o.str(0x00100040, "CS", st.PatientSex)
	o.str(0x0020000D, "UI", st.StudyInstanceUID)
	o.str(0x00200010, "SH", st.StudyID)
	o.num(0x00201206, "IS", &st.NumSeries)
	o.num(0x00201208, "IS", &st.NumInstances)
}

func (o jsonObject) series(se queries.Series) {
	o.str(0x00080021, "DA", se.SeriesDate)
	o.str(0x00080031, "TM", se.SeriesTime)
	o.str(0x00080060, "CS", se.Modality)
	o.str(0x0008103E, "LO", se.SeriesDescription)
	o.str(0x0020000E, "UI", se.SeriesInstanceUID)
	o.num64(0x00200011, "IS", se.SeriesNumber)
	o.num(0x00201209, "IS", &se.NumInstances)
	o.str(0x00400244, "DA", se.PerformedProcedureStepStartDate)
	o.str(0x00400245, "TM", se.PerformedProcedureStepStartTime)
	if se.ScheduledProcedureStepID != "" || se.RequestedProcedureID != "" {
		item := jsonObject{}
		item.str(0x00400009, "SH", se.ScheduledProcedureStepID)
		item.str(0x00401001, "SH", se.RequestedProcedureID)
		o.set(0x00400275, value{"SQ", []jsonObject{item}})
	}
}

// include adds what includefield asks from stored metadata, never replacing what the index gave.
// Attributes with bulk data are left out at study and series level (their URIs belong to another
// resource); at instance level their relative BulkDataURIs are made absolute under instanceURL.
func (r *searchResponse) include(o jsonObject, metadata, instanceURL string) {
	if metadata == "" || (!r.query.IncludeAll && len(r.query.IncludeFields) == 0) {
		return
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal([]byte(metadata), &md); err != nil {
		return // stored by ingest, so valid; a damaged row only loses its extra attributes
	}
	take := func(key string, v json.RawMessage) {
		if _, ok := o[key]; ok {
			return
		}
		if bytes.Contains(v, []byte(`"BulkDataURI"`)) {
			if instanceURL == "" {
				return
			}
			v = absoluteBulkDataURIs(v, instanceURL)
		}
		o[key] = v
	}
	if r.query.IncludeAll {
		for key, v := range md {
			take(key, v)
		}
		return
	}
	for _, t := range r.query.IncludeFields {
		key := tagKey(t)
		if v, ok := md[key]; ok {
			take(key, v)
		}
	}
}

func (r *searchResponse) marshal() []byte {
	b, _ := json.Marshal(r.items) // raw messages from our own encoders and stored JSON: cannot fail
	return b
}

func tagKey(t uint32) string { return fmt.Sprintf("%08X", t) }

// value is one attribute; a struct so that "vr" comes first, as in PS3.18's examples.
type value struct {
	VR    string `json:"vr"`
	Value any    `json:"Value,omitempty"`
}

func (o jsonObject) set(t uint32, v value) {
	b, _ := json.Marshal(v)
	o[tagKey(t)] = b
}

// str sets a single-valued string attribute; an empty value is an attribute without Value
// (PS3.18 §F.2.5), as type 2 return attributes are.
func (o jsonObject) str(t uint32, vr, v string) {
	if v == "" {
		o.set(t, value{VR: vr})
		return
	}
	o.set(t, value{vr, []string{v}})
}

func (o jsonObject) strs(t uint32, vr string, v []string) {
	o.set(t, value{vr, v})
}

// num sets a numeric attribute (IS as a JSON number, PS3.18 §F.2.3); nil is an empty attribute.
func (o jsonObject) num(t uint32, vr string, v *int) {
	if v == nil {
		o.set(t, value{VR: vr})
		return
	}
	o.set(t, value{vr, []int{*v}})
}

// num64 sets an IS value kept in 64 bits (SeriesNumber, InstanceNumber), exactly.
func (o jsonObject) num64(t uint32, vr string, v *int64) {
	if v == nil {
		o.set(t, value{VR: vr})
		return
	}
	o.set(t, value{vr, []int64{*v}})
}

// pn sets a person name as PS3.18 §F.2.2 objects: component groups split on '='.
func (o jsonObject) pn(t uint32, v string) {
	if v == "" {
		o.set(t, value{VR: "PN"})
		return
	}
	groups := strings.SplitN(v, "=", 3)
	name := map[string]string{}
	for i, key := range []string{"Alphabetic", "Ideographic", "Phonetic"} {
		if i < len(groups) && groups[i] != "" {
			name[key] = groups[i]
		}
	}
	o.set(t, value{"PN", []map[string]string{name}})
}
