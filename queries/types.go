package queries

import "errors"

// Errors returned wrapped with the identifying UID (or account).
var (
	// ErrNotFound: no study, series or instance with that UID (under that parent); no such account
	// or token.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: an instance with that SOP Instance UID is already stored.
	ErrDuplicate = errors.New("already stored")
	// ErrConflict: the instance contradicts the index, e.g. its series belongs to another study.
	ErrConflict = errors.New("conflicts with the stored index")
	// ErrUsernameTaken: another account has that username, compared without regard to case.
	ErrUsernameTaken = errors.New("username taken")
	// ErrEmailTaken: another account has that email, compared without regard to case.
	ErrEmailTaken = errors.New("email taken")
	// ErrLastAdmin: the change would leave no active admin, and nobody could manage accounts.
	ErrLastAdmin = errors.New("the last active admin")
)

// StudyAttributes are the study-level (and patient) attributes that QIDO matches and returns.
type StudyAttributes struct {
	StudyInstanceUID       string
	PatientName            string
	PatientID              string
	PatientBirthDate       string
	PatientSex             string
	StudyDate              string
	StudyTime              string
	AccessionNumber        string
	ReferringPhysicianName string
	StudyID                string
	StudyDescription       string
}

// SeriesAttributes are the series-level attributes that QIDO matches and returns.
type SeriesAttributes struct {
	SeriesInstanceUID               string
	Modality                        string
	SeriesNumber                    *int64
	SeriesDescription               string
	SeriesDate                      string
	SeriesTime                      string
	PerformedProcedureStepStartDate string
	PerformedProcedureStepStartTime string
	ScheduledProcedureStepID        string
	RequestedProcedureID            string
}

// InstanceAttributes describe one stored instance and where its bytes are.
type InstanceAttributes struct {
	SOPInstanceUID    string
	SOPClassUID       string
	InstanceNumber    *int64
	TransferSyntaxUID string
	Rows              int
	Columns           int
	BitsAllocated     int
	NumberOfFrames    int
	BlobKey           string
	Size              int64
	SHA256            string
	// Metadata is the PS3.18 Annex F JSON object of the instance, BulkDataURIs relative.
	Metadata string
	// Frames and BulkData are JSON byte-range indexes into the stored file (see dicomweb/ingest).
	Frames   string
	BulkData string
}

// NewInstance is everything AddInstance records for one stored instance.
type NewInstance struct {
	Study    StudyAttributes
	Series   SeriesAttributes
	Instance InstanceAttributes
}

// Study is a stored study with its aggregates.
type Study struct {
	StudyAttributes
	ModalitiesInStudy []string
	NumSeries         int
	NumInstances      int
}

// Series is a stored series with its aggregate.
type Series struct {
	SeriesAttributes
	StudyInstanceUID string
	NumInstances     int
}

// Instance is a stored instance.
type Instance struct {
	InstanceAttributes
	StudyInstanceUID  string
	SeriesInstanceUID string
}
