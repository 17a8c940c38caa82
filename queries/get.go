package queries

import (
	"context"

	"github.com/medimg/medimg/queries/internal/sqlcdb"
)

// GetStudy returns a study with its aggregates.
func (s *Store) GetStudy(ctx context.Context, studyUID string) (Study, error) {
	r, err := s.reader().GetStudy(ctx, studyUID)
	if err != nil {
		return Study{}, notFound(err, "study %s", studyUID)
	}
	return studyFromRow(r), nil
}

// GetSeries returns a series with its aggregate.
func (s *Store) GetSeries(ctx context.Context, seriesUID string) (Series, error) {
	r, err := s.reader().GetSeries(ctx, seriesUID)
	if err != nil {
		return Series{}, notFound(err, "series %s", seriesUID)
	}
	return Series{
		SeriesAttributes: SeriesAttributes{
			SeriesInstanceUID:               r.SeriesUid,
			Modality:                        r.Modality,
			SeriesNumber:                    intPtr(r.SeriesNumber),
			SeriesDescription:               r.SeriesDescription,
			SeriesDate:                      r.SeriesDate,
			SeriesTime:                      r.SeriesTime,
			PerformedProcedureStepStartDate: r.PpsStartDate,
			PerformedProcedureStepStartTime: r.PpsStartTime,
			ScheduledProcedureStepID:        r.ScheduledProcedureStepID,
			RequestedProcedureID:            r.RequestedProcedureID,
		},
		StudyInstanceUID: r.StudyUid,
		NumInstances:     int(r.NumInstances),
	}, nil
}

// GetInstance returns a stored instance.
func (s *Store) GetInstance(ctx context.Context, sopUID string) (Instance, error) {
	r, err := s.reader().GetInstance(ctx, sopUID)
	if err != nil {
		return Instance{}, notFound(err, "instance %s", sopUID)
	}
	return Instance{
		InstanceAttributes: InstanceAttributes{
			SOPInstanceUID:    r.SopInstanceUid,
			SOPClassUID:       r.SopClassUid,
			InstanceNumber:    intPtr(r.InstanceNumber),
			TransferSyntaxUID: r.TransferSyntaxUid,
			Rows:              int(r.NumRows),
			Columns:           int(r.NumColumns),
			BitsAllocated:     int(r.BitsAllocated),
			NumberOfFrames:    int(r.NumberOfFrames),
			BlobKey:           r.BlobKey,
			Size:              r.SizeBytes,
			SHA256:            r.Sha256,
			Metadata:          r.Metadata,
			Frames:            r.Frames,
			BulkData:          r.BulkData,
		},
		StudyInstanceUID:  r.StudyUid,
		SeriesInstanceUID: r.SeriesUid,
	}, nil
}

// CountStudies returns how many studies are stored.
func (s *Store) CountStudies(ctx context.Context) (int64, error) {
	return s.reader().CountStudies(ctx)
}

func studyFromRow(r sqlcdb.Study) Study {
	st := Study{
		StudyAttributes: StudyAttributes{
			StudyInstanceUID:       r.StudyUid,
			PatientName:            r.PatientName,
			PatientID:              r.PatientID,
			PatientBirthDate:       r.PatientBirthDate,
			PatientSex:             r.PatientSex,
			StudyDate:              r.StudyDate,
			StudyTime:              r.StudyTime,
			AccessionNumber:        r.AccessionNumber,
			ReferringPhysicianName: r.ReferringPhysicianName,
			StudyID:                r.StudyID,
			StudyDescription:       r.StudyDescription,
		},
		NumSeries:    int(r.NumSeries),
		NumInstances: int(r.NumInstances),
	}
	st.ModalitiesInStudy = splitModalities(r.ModalitiesInStudy)
	return st
}
