package dicomweb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/dcmjson"
	"github.com/medimg/medimg/dicomweb/qido"
	"github.com/medimg/medimg/queries"
)

// searchResponse builds the DICOM JSON array of a search (PS3.18 §10.6.3.3 and Annex F): the return
// attributes of PS3.18 Table 6.7.1-2 from the index, the computed ones, RetrieveURL, and what
// includefield asks from the stored metadata.
type searchResponse struct {
	base  string
	query *qido.Query
	items []*dcmjson.Object
}

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
		o := &dcmjson.Object{}
		study(o, st.Study)
		o.Strings(tag.RetrieveURL, "UR", studyURL(r.base, st.StudyInstanceUID))
		r.include(o, st.Metadata, "")
		r.items = append(r.items, o)
	}
}

func (r *searchResponse) series(rows []queries.SeriesResult, withStudy bool) {
	for _, se := range rows {
		o := &dcmjson.Object{}
		if withStudy {
			study(o, se.Study)
		}
		series(o, se.Series)
		o.Strings(tag.StudyInstanceUID, "UI", se.StudyInstanceUID)
		o.Strings(tag.RetrieveURL, "UR", studyURL(r.base, se.StudyInstanceUID)+"/series/"+se.SeriesInstanceUID)
		r.include(o, se.Metadata, "")
		r.items = append(r.items, o)
	}
}

func (r *searchResponse) instances(rows []queries.InstanceResult, withStudy, withSeries bool) {
	for _, in := range rows {
		o := &dcmjson.Object{}
		if withStudy {
			study(o, in.Study)
		}
		if withSeries {
			series(o, in.Series)
		}
		o.Strings(tag.StudyInstanceUID, "UI", in.StudyInstanceUID)
		o.Strings(tag.SeriesInstanceUID, "UI", in.SeriesInstanceUID)
		o.Strings(tag.SOPClassUID, "UI", in.SOPClassUID)
		o.Strings(tag.SOPInstanceUID, "UI", in.SOPInstanceUID)
		o.Strings(tag.InstanceAvailability, "CS", "ONLINE")
		o.Strings(tag.AvailableTransferSyntaxUID, "UI", in.TransferSyntaxUID)
		o.Ints(tag.InstanceNumber, "IS", optional(in.InstanceNumber)...)
		if in.Rows > 0 {
			o.Ints(tag.Rows, "US", int64(in.Rows))
			o.Ints(tag.Columns, "US", int64(in.Columns))
			o.Ints(tag.BitsAllocated, "US", int64(in.BitsAllocated))
			o.Ints(tag.NumberOfFrames, "IS", int64(in.NumberOfFrames))
		}
		url := instanceURL(r.base, in.StudyInstanceUID, in.SeriesInstanceUID, in.SOPInstanceUID)
		o.Strings(tag.RetrieveURL, "UR", url)
		r.include(o, in.Metadata, url)
		r.items = append(r.items, o)
	}
}

// study sets the study's attributes; an empty one is an attribute without Value (PS3.18 §F.2.5),
// as type 2 return attributes are.
func study(o *dcmjson.Object, st queries.Study) {
	o.Strings(tag.StudyDate, "DA", st.StudyDate)
	o.Strings(tag.StudyTime, "TM", st.StudyTime)
	o.Strings(tag.AccessionNumber, "SH", st.AccessionNumber)
	o.Strings(tag.InstanceAvailability, "CS", "ONLINE")
	if len(st.ModalitiesInStudy) > 0 { // an empty one broke OHIF's study list (OHIF#2774)
		o.Strings(tag.ModalitiesInStudy, "CS", st.ModalitiesInStudy...)
	}
	o.Strings(tag.ReferringPhysicianName, "PN", st.ReferringPhysicianName)
	o.Strings(tag.StudyDescription, "LO", st.StudyDescription)
	o.Strings(tag.PatientName, "PN", st.PatientName)
	o.Strings(tag.PatientID, "LO", st.PatientID)
	o.Strings(tag.PatientBirthDate, "DA", st.PatientBirthDate)
	o.Strings(tag.PatientSex, "CS", st.PatientSex)
	o.Strings(tag.StudyInstanceUID, "UI", st.StudyInstanceUID)
	o.Strings(tag.StudyID, "SH", st.StudyID)
	o.Ints(tag.NumberOfStudyRelatedSeries, "IS", int64(st.NumSeries))
	o.Ints(tag.NumberOfStudyRelatedInstances, "IS", int64(st.NumInstances))
}

func series(o *dcmjson.Object, se queries.Series) {
	o.Strings(tag.SeriesDate, "DA", se.SeriesDate)
	o.Strings(tag.SeriesTime, "TM", se.SeriesTime)
	o.Strings(tag.Modality, "CS", se.Modality)
	o.Strings(tag.SeriesDescription, "LO", se.SeriesDescription)
	o.Strings(tag.SeriesInstanceUID, "UI", se.SeriesInstanceUID)
	o.Ints(tag.SeriesNumber, "IS", optional(se.SeriesNumber)...)
	o.Ints(tag.NumberOfSeriesRelatedInstances, "IS", int64(se.NumInstances))
	o.Strings(tag.PerformedProcedureStepStartDate, "DA", se.PerformedProcedureStepStartDate)
	o.Strings(tag.PerformedProcedureStepStartTime, "TM", se.PerformedProcedureStepStartTime)
	if se.ScheduledProcedureStepID != "" || se.RequestedProcedureID != "" {
		item := &dcmjson.Object{}
		item.Strings(tag.ScheduledProcedureStepID, "SH", se.ScheduledProcedureStepID)
		item.Strings(tag.RequestedProcedureID, "SH", se.RequestedProcedureID)
		o.Sequence(tag.RequestAttributesSequence, item)
	}
}

// optional is the values of an IS kept in 64 bits (SeriesNumber, InstanceNumber): none when absent.
func optional(v *int64) []int64 {
	if v == nil {
		return nil
	}
	return []int64{*v}
}

// include adds what includefield asks from stored metadata, never replacing what the index gave.
// Attributes with bulk data are left out at study and series level (their URIs belong to another
// resource); at instance level their relative BulkDataURIs are made absolute under instanceURL.
func (r *searchResponse) include(o *dcmjson.Object, metadata, instanceURL string) {
	if metadata == "" || (!r.query.IncludeAll && len(r.query.IncludeFields) == 0) {
		return
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal([]byte(metadata), &md); err != nil {
		return // stored by ingest, so valid; a damaged row only loses its extra attributes
	}
	take := func(t tag.Tag, v json.RawMessage) {
		if o.Has(t) {
			return
		}
		if bytes.Contains(v, []byte(`"BulkDataURI"`)) {
			if instanceURL == "" {
				return
			}
			v = absoluteBulkDataURIs(v, instanceURL)
		}
		o.Raw(t, v)
	}
	if r.query.IncludeAll {
		for key, v := range md {
			if t, err := strconv.ParseUint(key, 16, 32); err == nil && len(key) == 8 {
				take(tagOf(uint32(t)), v)
			}
		}
		return
	}
	for _, t := range r.query.IncludeFields {
		if v, ok := md[tagKey(t)]; ok {
			take(tagOf(t), v)
		}
	}
}

func (r *searchResponse) marshal() []byte {
	return dcmjson.MarshalArray(r.items)
}

func tagOf(t uint32) tag.Tag { return tag.Tag{Group: uint16(t >> 16), Element: uint16(t)} }

func tagKey(t uint32) string { return fmt.Sprintf("%08X", t) }
