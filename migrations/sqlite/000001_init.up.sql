-- Patients' attributes live on the study (PS3.18 QIDO matches them at the study level).
-- Dates and times are kept as DICOM strings (YYYYMMDD, HHMMSS.FFFFFF): they sort and range-compare
-- as text, so one schema serves both engines. Timestamps are Unix milliseconds for the same reason.
CREATE TABLE studies (
    pk                       INTEGER PRIMARY KEY,
    study_uid                TEXT    NOT NULL UNIQUE,
    patient_name             TEXT    NOT NULL DEFAULT '',
    patient_id               TEXT    NOT NULL DEFAULT '',
    patient_birth_date       TEXT    NOT NULL DEFAULT '',
    patient_sex              TEXT    NOT NULL DEFAULT '',
    study_date               TEXT    NOT NULL DEFAULT '',
    study_time               TEXT    NOT NULL DEFAULT '',
    accession_number         TEXT    NOT NULL DEFAULT '',
    referring_physician_name TEXT    NOT NULL DEFAULT '',
    study_id                 TEXT    NOT NULL DEFAULT '',
    study_description        TEXT    NOT NULL DEFAULT '',
    modalities_in_study      TEXT    NOT NULL DEFAULT '',
    num_series               INTEGER NOT NULL DEFAULT 0,
    num_instances            INTEGER NOT NULL DEFAULT 0,
    created_at               BIGINT  NOT NULL,
    updated_at               BIGINT  NOT NULL
);
CREATE INDEX studies_patient_id ON studies (patient_id);
CREATE INDEX studies_patient_name ON studies (patient_name);
CREATE INDEX studies_study_date ON studies (study_date, study_time);
CREATE INDEX studies_accession_number ON studies (accession_number);
CREATE INDEX studies_referring_physician_name ON studies (referring_physician_name);
CREATE INDEX studies_study_id ON studies (study_id);
CREATE INDEX studies_created_at ON studies (created_at);

CREATE TABLE series (
    pk                          INTEGER PRIMARY KEY,
    study_pk                    BIGINT  NOT NULL REFERENCES studies (pk) ON DELETE CASCADE,
    series_uid                  TEXT    NOT NULL UNIQUE,
    modality                    TEXT    NOT NULL DEFAULT '',
    series_number               INTEGER,
    series_description          TEXT    NOT NULL DEFAULT '',
    series_date                 TEXT    NOT NULL DEFAULT '',
    series_time                 TEXT    NOT NULL DEFAULT '',
    pps_start_date              TEXT    NOT NULL DEFAULT '',
    pps_start_time              TEXT    NOT NULL DEFAULT '',
    scheduled_procedure_step_id TEXT    NOT NULL DEFAULT '',
    requested_procedure_id      TEXT    NOT NULL DEFAULT '',
    num_instances               INTEGER NOT NULL DEFAULT 0,
    created_at                  BIGINT  NOT NULL,
    updated_at                  BIGINT  NOT NULL
);
CREATE INDEX series_study ON series (study_pk, series_number);
CREATE INDEX series_modality ON series (modality, study_pk);
CREATE INDEX series_pps_start ON series (pps_start_date, pps_start_time);
CREATE INDEX series_scheduled_procedure_step_id ON series (scheduled_procedure_step_id);
CREATE INDEX series_requested_procedure_id ON series (requested_procedure_id);

-- metadata is the PS3.18 Annex F JSON of the instance with relative BulkDataURIs; frames and bulk_data
-- are JSON byte-range indexes into the stored file, so metadata, frame and bulk data requests never
-- re-parse the file.
CREATE TABLE instances (
    pk                  INTEGER PRIMARY KEY,
    study_pk            BIGINT  NOT NULL REFERENCES studies (pk) ON DELETE CASCADE,
    series_pk           BIGINT  NOT NULL REFERENCES series (pk) ON DELETE CASCADE,
    sop_instance_uid    TEXT    NOT NULL UNIQUE,
    sop_class_uid       TEXT    NOT NULL,
    instance_number     INTEGER,
    transfer_syntax_uid TEXT    NOT NULL,
    num_rows            INTEGER NOT NULL DEFAULT 0,
    num_columns         INTEGER NOT NULL DEFAULT 0,
    bits_allocated      INTEGER NOT NULL DEFAULT 0,
    number_of_frames    INTEGER NOT NULL DEFAULT 0,
    blob_key            TEXT    NOT NULL UNIQUE,
    size_bytes          BIGINT  NOT NULL,
    sha256              TEXT    NOT NULL,
    metadata            TEXT    NOT NULL,
    frames              TEXT    NOT NULL,
    bulk_data           TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX instances_series ON instances (series_pk, instance_number);
CREATE INDEX instances_study ON instances (study_pk);
CREATE INDEX instances_sop_class_uid ON instances (sop_class_uid);
