-- QIDO-RS matching. Text attributes are matched case-insensitively through *_ci columns that hold
-- the value lower-cased by Go (Unicode-aware, the same function that lower-cases query values);
-- *_words columns hold PN words folded for fuzzy matching (" doe john "). SQLite's BINARY collation
-- is bytewise already (the PostgreSQL migration sets COLLATE "C" to match), so LIKE prefixes and
-- ranges use the indexes and orders agree between engines.
ALTER TABLE studies ADD COLUMN patient_name_ci TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN patient_id_ci TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN accession_number_ci TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN referring_physician_name_ci TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN study_id_ci TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN study_description_ci TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN patient_name_words TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN referring_physician_name_words TEXT NOT NULL DEFAULT '';

ALTER TABLE series ADD COLUMN series_description_ci TEXT NOT NULL DEFAULT '';

-- Rows stored before this migration: SQL lower() folds what it can (ASCII on SQLite); fuzzy words
-- are filled for new rows only.
UPDATE studies SET patient_name_ci = lower(patient_name), patient_id_ci = lower(patient_id),
    accession_number_ci = lower(accession_number), referring_physician_name_ci = lower(referring_physician_name),
    study_id_ci = lower(study_id), study_description_ci = lower(study_description);
UPDATE series SET series_description_ci = lower(series_description);

DROP INDEX studies_patient_id;
DROP INDEX studies_patient_name;
DROP INDEX studies_study_date;
DROP INDEX studies_accession_number;
DROP INDEX studies_referring_physician_name;
DROP INDEX studies_study_id;
CREATE INDEX studies_order ON studies (study_date DESC, study_time DESC, study_uid);
CREATE INDEX studies_patient_name_ci ON studies (patient_name_ci);
CREATE INDEX studies_patient_id_ci ON studies (patient_id_ci);
CREATE INDEX studies_accession_number_ci ON studies (accession_number_ci);
CREATE INDEX studies_referring_physician_name_ci ON studies (referring_physician_name_ci);
CREATE INDEX studies_study_id_ci ON studies (study_id_ci);
CREATE INDEX studies_study_description_ci ON studies (study_description_ci);
CREATE INDEX studies_patient_birth_date ON studies (patient_birth_date);

DROP INDEX series_study;
CREATE INDEX series_study ON series (study_pk, series_number, series_uid);
CREATE INDEX series_series_date ON series (series_date);
CREATE INDEX series_description_ci ON series (series_description_ci);

DROP INDEX instances_series;
CREATE INDEX instances_series ON instances (series_pk, instance_number, sop_instance_uid);
