package dicomweb

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb/clip"
	"github.com/medimg/medimg/dicomweb/ingest"
	"github.com/medimg/medimg/queries"
)

// MediaTypeDICOMJSON is the media type of DICOM JSON responses (PS3.18 §8.7.3.2).
const MediaTypeDICOMJSON = "application/dicom+json"

// attr is one attribute of the DICOM JSON model (PS3.18 Annex F).
type attr struct {
	VR    string `json:"vr"`
	Value []any  `json:"Value,omitempty"`
}

// dataset is a DICOM JSON object; encoding/json writes its keys sorted, which is tag order.
type dataset map[string]attr

// writeStoreResponse writes the Store Instances Response Module (PS3.18 Annex I) and a Warning
// header naming what was wrong with each failed part (PS3.18 §8.3.5.1).
func (s *Service) writeStoreResponse(c *gin.Context, status int, targetStudy string, results []storeResult) {
	base := s.baseURL(c.Request)
	var referenced, failed []any
	studies := map[string]bool{}
	if targetStudy != "" {
		studies[targetStudy] = true
	}
	for _, r := range results {
		item := dataset{}
		if r.classUID != "" {
			item["00081150"] = attr{VR: "UI", Value: []any{r.classUID}}
		}
		if r.instanceUID != "" {
			item["00081155"] = attr{VR: "UI", Value: []any{r.instanceUID}}
		}
		if r.reason != 0 {
			item["00081197"] = attr{VR: "US", Value: []any{r.reason}}
			failed = append(failed, item)
			c.Writer.Header().Add("Warning", warning(r.message))
			continue
		}
		studies[r.studyUID] = true
		item["00081190"] = attr{VR: "UR", Value: []any{instanceURL(base, r.studyUID, r.seriesUID, r.instanceUID)}}
		referenced = append(referenced, item)
	}
	resp := dataset{"00081190": {VR: "UR"}}
	if len(studies) == 1 && len(referenced) > 0 {
		for study := range studies {
			resp["00081190"] = attr{VR: "UR", Value: []any{studyURL(base, study)}}
		}
	}
	if failed != nil {
		resp["00081198"] = attr{VR: "SQ", Value: failed}
	}
	if referenced != nil {
		resp["00081199"] = attr{VR: "SQ", Value: referenced}
	}
	body, _ := json.Marshal(resp) // plain maps, strings and numbers: cannot fail
	c.Data(status, MediaTypeDICOMJSON, body)
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
