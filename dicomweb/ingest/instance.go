package ingest

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/uids"
)

// Instance is everything STOW needs from one stored object.
type Instance struct {
	TransferSyntaxUID, SOPClassUID, SOPInstanceUID, StudyInstanceUID, SeriesInstanceUID string

	// Study level (patient attributes live on the study in our schema).
	PatientName, PatientID, PatientBirthDate, PatientSex                                     string
	StudyDate, StudyTime, AccessionNumber, ReferringPhysicianName, StudyID, StudyDescription string

	// Series level.
	Modality, SeriesDescription, SeriesDate, SeriesTime string
	SeriesNumber                                        *int64
	PerformedProcedureStepStartDate                     string
	PerformedProcedureStepStartTime                     string
	// ScheduledProcedureStepID and RequestedProcedureID come from the first item of
	// RequestAttributesSequence (0040,0275).
	ScheduledProcedureStepID, RequestedProcedureID string

	// Instance level.
	InstanceNumber *int64
	// NumberOfFrames is 1 when the attribute is absent (or not a positive number) and there is
	// pixel data, 0 without pixel data.
	Rows, Columns, BitsAllocated, NumberOfFrames int

	// Metadata is the PS3.18 Annex F JSON of the whole dataset; BulkDataURI values are relative:
	// "bulkdata/" + tag path.
	Metadata []byte
	Frames   FrameIndex
	// BulkData maps each tag path written as a BulkDataURI in Metadata to the byte range of its
	// value in the stored file (value bytes only; for encapsulated values, the items without the
	// sequence delimiter). Empty for deflated objects, whose values are not addressable.
	BulkData map[string]Range
}

var (
	tagRequestAttributesSequence = tag.Tag{Group: 0x0040, Element: 0x0275}
	tagScheduledProcedureStepID  = tag.Tag{Group: 0x0040, Element: 0x0009}
	tagRequestedProcedureID      = tag.Tag{Group: 0x0040, Element: 0x1001}
	tagPPSStartDate              = tag.Tag{Group: 0x0040, Element: 0x0244}
	tagPPSStartTime              = tag.Tag{Group: 0x0040, Element: 0x0245}
)

// setAttributes copies the index attributes and checks the four UIDs every instance needs.
func (inst *Instance) setAttributes(ds *dicom.Dataset) error {
	required := []struct {
		keyword string
		t       tag.Tag
		dst     *string
	}{
		{"SOPClassUID", tag.SOPClassUID, &inst.SOPClassUID},
		{"SOPInstanceUID", tag.SOPInstanceUID, &inst.SOPInstanceUID},
		{"StudyInstanceUID", tag.StudyInstanceUID, &inst.StudyInstanceUID},
		{"SeriesInstanceUID", tag.SeriesInstanceUID, &inst.SeriesInstanceUID},
	}
	for _, r := range required {
		*r.dst = trimUID(stringValue(ds.Elements, r.t))
		if *r.dst == "" {
			return fmt.Errorf("ingest: %s %s: %w", r.keyword, r.t, ErrMissingAttribute)
		}
		if err := validateUID(r.keyword, *r.dst); err != nil {
			return err
		}
	}
	if media := trimUID(stringValue(ds.Elements, tagMediaSOPInst)); media != "" && media != inst.SOPInstanceUID {
		return fmt.Errorf("ingest: MediaStorageSOPInstanceUID %q differs from SOPInstanceUID %q: %w", media, inst.SOPInstanceUID, ErrInvalidUID)
	}

	for dst, t := range map[*string]tag.Tag{
		&inst.PatientName: tag.PatientName, &inst.PatientID: tag.PatientID,
		&inst.PatientBirthDate: tag.PatientBirthDate, &inst.PatientSex: tag.PatientSex,
		&inst.StudyDate: tag.StudyDate, &inst.StudyTime: tag.StudyTime,
		&inst.AccessionNumber: tag.AccessionNumber, &inst.ReferringPhysicianName: tag.ReferringPhysicianName,
		&inst.StudyID: tag.StudyID, &inst.StudyDescription: tag.StudyDescription,
		&inst.Modality: tag.Modality, &inst.SeriesDescription: tag.SeriesDescription,
		&inst.SeriesDate: tag.SeriesDate, &inst.SeriesTime: tag.SeriesTime,
		&inst.PerformedProcedureStepStartDate: tagPPSStartDate,
		&inst.PerformedProcedureStepStartTime: tagPPSStartTime,
	} {
		*dst = stringValue(ds.Elements, t)
	}
	if item := firstItem(ds.Elements, tagRequestAttributesSequence); item != nil {
		inst.ScheduledProcedureStepID = stringValue(item, tagScheduledProcedureStepID)
		inst.RequestedProcedureID = stringValue(item, tagRequestedProcedureID)
	}
	inst.SeriesNumber = int64Value(ds.Elements, tag.SeriesNumber)
	inst.InstanceNumber = int64Value(ds.Elements, tag.InstanceNumber)
	inst.Rows = derefOr(intValue(ds.Elements, tag.Rows), 0)
	inst.Columns = derefOr(intValue(ds.Elements, tag.Columns), 0)
	inst.BitsAllocated = derefOr(intValue(ds.Elements, tag.BitsAllocated), 0)
	if find(ds.Elements, tag.PixelData) != nil {
		n := derefOr(int64Value(ds.Elements, tag.NumberOfFrames), 1)
		if n > MaxNumberOfFrames {
			return fmt.Errorf("ingest: NumberOfFrames %d is more than the %d supported: %w", n, MaxNumberOfFrames, ErrInvalidValue)
		}
		inst.NumberOfFrames = int(max(n, 1))
	}
	return nil
}

// setFrames builds the frame index of the top-level pixel data the walker found.
func (inst *Instance) setFrames(r io.ReaderAt, ds *dicom.Dataset, walked *walkResult) {
	px := walked.pixel
	switch {
	case px == nil:
	case px.encapsulated && walked.inflatedFrom > 0:
		// Deflated transfer syntaxes carry native pixel data only.
	case px.encapsulated:
		inst.Frames = encapsulatedFrames(r, px, inst.TransferSyntaxUID, inst.NumberOfFrames)
	default:
		inst.Frames = nativeFrames(px, pixelGeometry{
			rows: inst.Rows, columns: inst.Columns, bitsAllocated: inst.BitsAllocated,
			samplesPerPixel: derefOr(intValue(ds.Elements, tag.SamplesPerPixel), 1),
			frames:          inst.NumberOfFrames,
		})
		if walked.inflatedFrom > 0 && inst.Frames.Count > 0 {
			inst.Frames.Inflated, inst.Frames.DatasetStart = true, walked.inflatedFrom
		}
	}
}

func validateUID(keyword, v string) error {
	if err := uids.Validate(v); err != nil {
		return fmt.Errorf("ingest: %s %q: %v: %w", keyword, v, err, ErrInvalidUID)
	}
	return nil
}

func find(elems []*dicom.Element, t tag.Tag) *dicom.Element {
	for _, e := range elems {
		if e != nil && e.Tag == t && e.Value != nil {
			return e
		}
	}
	return nil
}

// stringValue returns a text attribute as parsed, each value trimmed, values joined with '\'.
func stringValue(elems []*dicom.Element, t tag.Tag) string {
	e := find(elems, t)
	if e == nil {
		return ""
	}
	v, ok := e.Value.GetValue().([]string)
	if !ok {
		return ""
	}
	trimmed := make([]string, len(v))
	for i, s := range v {
		trimmed[i] = strings.Trim(s, " \x00")
	}
	return strings.Trim(strings.Join(trimmed, `\`), `\`)
}

// MaxNumberOfFrames is the most frames an instance may declare: the index keeps the count in 32
// bits, and no pixel data holds more (a frame takes at least one byte).
const MaxNumberOfFrames = 1<<31 - 1

// int64Value reads an IS value exactly (IS has at most 12 characters, so it always fits).
func int64Value(elems []*dicom.Element, t tag.Tag) *int64 {
	n := intValue(elems, t)
	if n == nil {
		return nil
	}
	v := int64(*n)
	if s, ok := find(elems, t).Value.GetValue().([]string); ok && len(s) > 0 {
		if p, err := strconv.ParseInt(strings.TrimSpace(strings.Trim(s[0], "\x00")), 10, 64); err == nil {
			v = p // exact even where int is 32 bits
		}
	}
	return &v
}

// intValue returns the first value of an integer attribute, binary (US…) or text (IS); nil when
// absent or not a number.
func intValue(elems []*dicom.Element, t tag.Tag) *int {
	e := find(elems, t)
	if e == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			n := v[0] // a copy: the slice belongs to the dataset
			return &n
		}
	case []string:
		if len(v) > 0 {
			if n, err := strconv.Atoi(strings.TrimSpace(strings.Trim(v[0], "\x00"))); err == nil {
				return &n
			}
		}
	}
	return nil
}

func firstItem(elems []*dicom.Element, t tag.Tag) []*dicom.Element {
	e := find(elems, t)
	if e == nil {
		return nil
	}
	items, ok := e.Value.GetValue().([]*dicom.SequenceItemValue)
	if !ok || len(items) == 0 || items[0] == nil {
		return nil
	}
	item, _ := items[0].GetValue().([]*dicom.Element)
	return item
}

func derefOr[T int | int64](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
