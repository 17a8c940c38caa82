package dicomweb

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/medimg/medimg/dicomweb/clip"
	"github.com/medimg/medimg/dicomweb/dcmjson"
	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/queries"
)

// MediaTypeDICOMJSON is the media type of DICOM JSON responses (PS3.18 §8.7.3.2).
const MediaTypeDICOMJSON = "application/dicom+json"

// writeStoreResponse writes the Store Instances Response Module (PS3.18 Annex I) and a Warning
// header naming what was wrong with each failed part (PS3.18 §8.3.5.1).
func (s *Service) writeStoreResponse(c *gin.Context, status int, targetStudy string, results []storeResult) {
	base := s.baseURL(c.Request)
	var referenced, failed []*dcmjson.Object
	studies := map[string]bool{}
	if targetStudy != "" {
		studies[targetStudy] = true
	}
	for _, r := range results {
		item := &dcmjson.Object{}
		if r.classUID != "" {
			item.Strings(tag.ReferencedSOPClassUID, "UI", r.classUID)
		}
		if r.instanceUID != "" {
			item.Strings(tag.ReferencedSOPInstanceUID, "UI", r.instanceUID)
		}
		if r.reason != 0 {
			item.Ints(tag.FailureReason, "US", int64(r.reason))
			failed = append(failed, item)
			c.Writer.Header().Add("Warning", warning(r.message))
			continue
		}
		studies[r.studyUID] = true
		item.Strings(tag.RetrieveURL, "UR", instanceURL(base, r.studyUID, r.seriesUID, r.instanceUID))
		referenced = append(referenced, item)
	}
	var url []string // the study's, when the stored instances are all of one study; else empty
	if len(studies) == 1 && len(referenced) > 0 {
		for study := range studies {
			url = append(url, studyURL(base, study))
		}
	}
	resp := &dcmjson.Object{}
	resp.Strings(tag.RetrieveURL, "UR", url...)
	if failed != nil {
		resp.Sequence(tag.FailedSOPSequence, failed...)
	}
	if referenced != nil {
		resp.Sequence(tag.ReferencedSOPSequence, referenced...)
	}
	c.Data(status, MediaTypeDICOMJSON, resp.AppendJSON(nil))
}

// maxWarningBytes bounds one Warning header value.
const maxWarningBytes = 1024

// warning formats a Warning header value (RFC 7234 §5.5) with code 299 and a quoted message.
func warning(msg string) string {
	// Quoted input is clipped where it is quoted; this bounds whatever a message still carries.
	msg = clip.To(msg, maxWarningBytes)
	msg = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", " ", "\n", " ").Replace(msg)
	return fmt.Sprintf(`299 medimg "%s"`, msg)
}

// newInstanceRecord turns what ingest extracted into the index row.
func newInstanceRecord(in *ingest.Instance, key string, size int64, sha string) (queries.NewInstance, error) {
	frames, err := encodeFrameIndex(in.Frames)
	if err != nil {
		return queries.NewInstance{}, err
	}
	bulk, err := encodeBulkData(in.BulkData)
	if err != nil {
		return queries.NewInstance{}, err
	}
	return queries.NewInstance{
		Study: queries.StudyAttributes{
			StudyInstanceUID:       in.StudyInstanceUID,
			PatientName:            in.PatientName,
			PatientID:              in.PatientID,
			PatientBirthDate:       in.PatientBirthDate,
			PatientSex:             in.PatientSex,
			StudyDate:              in.StudyDate,
			StudyTime:              in.StudyTime,
			AccessionNumber:        in.AccessionNumber,
			ReferringPhysicianName: in.ReferringPhysicianName,
			StudyID:                in.StudyID,
			StudyDescription:       in.StudyDescription,
		},
		Series: queries.SeriesAttributes{
			SeriesInstanceUID:               in.SeriesInstanceUID,
			Modality:                        in.Modality,
			SeriesNumber:                    in.SeriesNumber,
			SeriesDescription:               in.SeriesDescription,
			SeriesDate:                      in.SeriesDate,
			SeriesTime:                      in.SeriesTime,
			PerformedProcedureStepStartDate: in.PerformedProcedureStepStartDate,
			PerformedProcedureStepStartTime: in.PerformedProcedureStepStartTime,
			ScheduledProcedureStepID:        in.ScheduledProcedureStepID,
			RequestedProcedureID:            in.RequestedProcedureID,
		},
		Instance: queries.InstanceAttributes{
			SOPInstanceUID:    in.SOPInstanceUID,
			SOPClassUID:       in.SOPClassUID,
			InstanceNumber:    in.InstanceNumber,
			TransferSyntaxUID: in.TransferSyntaxUID,
			Rows:              in.Rows,
			Columns:           in.Columns,
			BitsAllocated:     in.BitsAllocated,
			NumberOfFrames:    in.NumberOfFrames,
			BlobKey:           key,
			Size:              size,
			SHA256:            sha,
			Metadata:          string(in.Metadata),
			Frames:            frames,
			BulkData:          bulk,
		},
	}, nil
}
