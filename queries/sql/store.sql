-- name: UpsertStudy :one
-- The DO UPDATE (rather than DO NOTHING) takes the study row's lock, which serializes concurrent
-- writers of one study so that the aggregates updated later in the transaction are exact.
-- The first instance stored sets the study's attributes; later instances fill only empty ones.
-- The *_ci and *_words search columns follow their attribute.
INSERT INTO studies (
    study_uid, patient_name, patient_id, patient_birth_date, patient_sex, study_date, study_time,
    accession_number, referring_physician_name, study_id, study_description, created_at, updated_at,
    patient_name_ci, patient_id_ci, accession_number_ci, referring_physician_name_ci, study_id_ci,
    study_description_ci, patient_name_words, referring_physician_name_words
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17, $18, $19, $20)
ON CONFLICT (study_uid) DO UPDATE SET
    patient_name = CASE WHEN studies.patient_name = '' THEN excluded.patient_name ELSE studies.patient_name END,
    patient_name_ci = CASE WHEN studies.patient_name = '' THEN excluded.patient_name_ci ELSE studies.patient_name_ci END,
    patient_name_words = CASE WHEN studies.patient_name = '' THEN excluded.patient_name_words ELSE studies.patient_name_words END,
    patient_id = CASE WHEN studies.patient_id = '' THEN excluded.patient_id ELSE studies.patient_id END,
    patient_id_ci = CASE WHEN studies.patient_id = '' THEN excluded.patient_id_ci ELSE studies.patient_id_ci END,
    patient_birth_date = CASE WHEN studies.patient_birth_date = '' THEN excluded.patient_birth_date ELSE studies.patient_birth_date END,
    patient_sex = CASE WHEN studies.patient_sex = '' THEN excluded.patient_sex ELSE studies.patient_sex END,
    study_date = CASE WHEN studies.study_date = '' THEN excluded.study_date ELSE studies.study_date END,
    study_time = CASE WHEN studies.study_time = '' THEN excluded.study_time ELSE studies.study_time END,
    accession_number = CASE WHEN studies.accession_number = '' THEN excluded.accession_number ELSE studies.accession_number END,
    accession_number_ci = CASE WHEN studies.accession_number = '' THEN excluded.accession_number_ci ELSE studies.accession_number_ci END,
    referring_physician_name = CASE WHEN studies.referring_physician_name = '' THEN excluded.referring_physician_name ELSE studies.referring_physician_name END,
    referring_physician_name_ci = CASE WHEN studies.referring_physician_name = '' THEN excluded.referring_physician_name_ci ELSE studies.referring_physician_name_ci END,
    referring_physician_name_words = CASE WHEN studies.referring_physician_name = '' THEN excluded.referring_physician_name_words ELSE studies.referring_physician_name_words END,
    study_id = CASE WHEN studies.study_id = '' THEN excluded.study_id ELSE studies.study_id END,
    study_id_ci = CASE WHEN studies.study_id = '' THEN excluded.study_id_ci ELSE studies.study_id_ci END,
    study_description = CASE WHEN studies.study_description = '' THEN excluded.study_description ELSE studies.study_description END,
    study_description_ci = CASE WHEN studies.study_description = '' THEN excluded.study_description_ci ELSE studies.study_description_ci END,
    updated_at = excluded.updated_at
-- Only when an empty attribute gets a value: SQLite rewrites the entry of every index on a column
-- the SET assigns, even to the value it had, which made the study row's fifteen indexes most of
-- the pages an instance wrote. Otherwise no row is returned (a study stored since the caller's
-- TouchStudy found none), and the caller runs TouchStudy, which finds the row locked by this one.
WHERE (studies.patient_name = '' AND excluded.patient_name <> '')
   OR (studies.patient_id = '' AND excluded.patient_id <> '')
   OR (studies.patient_birth_date = '' AND excluded.patient_birth_date <> '')
   OR (studies.patient_sex = '' AND excluded.patient_sex <> '')
   OR (studies.study_date = '' AND excluded.study_date <> '')
   OR (studies.study_time = '' AND excluded.study_time <> '')
   OR (studies.accession_number = '' AND excluded.accession_number <> '')
   OR (studies.referring_physician_name = '' AND excluded.referring_physician_name <> '')
   OR (studies.study_id = '' AND excluded.study_id <> '')
   OR (studies.study_description = '' AND excluded.study_description <> '')
RETURNING pk;

-- name: TouchStudy :one
-- An instance added to a stored study: the row's lock (see UpsertStudy) in one round trip, and the
-- attributes, for the caller to run UpsertStudy only when the instance fills an empty one.
UPDATE studies SET updated_at = $2 WHERE study_uid = $1
RETURNING pk, patient_name, patient_id, patient_birth_date, patient_sex, study_date, study_time,
    accession_number, referring_physician_name, study_id, study_description;

-- name: InsertSeries :one
INSERT INTO series (
    study_pk, series_uid, modality, series_number, series_description, series_date, series_time,
    pps_start_date, pps_start_time, scheduled_procedure_step_id, requested_procedure_id, created_at, updated_at,
    series_description_ci
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
ON CONFLICT (series_uid) DO NOTHING
RETURNING pk;

-- name: GetSeriesRef :one
SELECT se.pk, se.study_pk, se.modality, st.study_uid
FROM series se JOIN studies st ON st.pk = se.study_pk
WHERE se.series_uid = $1;

-- name: InsertInstance :one
-- A duplicate SOP Instance UID inserts nothing and returns no row: the caller reports it without
-- aborting the transaction (a unique violation would, on PostgreSQL).
INSERT INTO instances (
    study_pk, series_pk, sop_instance_uid, sop_class_uid, instance_number, transfer_syntax_uid,
    num_rows, num_columns, bits_allocated, number_of_frames, blob_key, size_bytes, sha256,
    metadata, frames, bulk_data, created_at, modality
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (sop_instance_uid) DO NOTHING
RETURNING pk;

-- name: GetInstanceRef :one
SELECT i.pk, i.series_pk, i.study_pk, i.blob_key
FROM instances i
WHERE i.sop_instance_uid = $1;

-- name: InstanceExists :one
SELECT count(*) FROM instances WHERE sop_instance_uid = $1;

-- name: BlobKeyExists :one
SELECT count(*) FROM instances WHERE blob_key = $1;

-- name: ListBlobs :many
-- A page of every instance's file, by primary key, for copying the blob store: keyset paging, so
-- that instances added or deleted meanwhile never make a page skip or repeat another's rows.
SELECT pk, blob_key, size_bytes, sha256 FROM instances WHERE pk > $1 ORDER BY pk LIMIT $2;

-- name: CountBlobs :one
-- CAST: PostgreSQL's SUM of a BIGINT is a NUMERIC; standard CAST reads the same on both engines.
SELECT count(*) AS count, CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM instances;

-- name: DeleteInstanceByPK :exec
DELETE FROM instances WHERE pk = $1;

-- name: RefreshSeriesCount :exec
UPDATE series SET num_instances = (SELECT count(*) FROM instances WHERE instances.series_pk = $1)
WHERE series.pk = $1;

-- name: SeriesModalities :many
SELECT DISTINCT modality FROM series WHERE study_pk = $1 AND modality <> '' ORDER BY modality;

-- name: RefreshStudyAggregates :exec
UPDATE studies SET
    num_series = (SELECT count(*) FROM series WHERE series.study_pk = $1),
    num_instances = (SELECT count(*) FROM instances WHERE instances.study_pk = $1),
    modalities_in_study = $2
WHERE studies.pk = $1;

-- name: DeleteEmptySeries :exec
DELETE FROM series WHERE series.pk = $1 AND NOT EXISTS (SELECT 1 FROM instances WHERE instances.series_pk = $1);

-- name: DeleteEmptyStudy :exec
DELETE FROM studies WHERE studies.pk = $1 AND NOT EXISTS (SELECT 1 FROM series WHERE series.study_pk = $1);

-- name: GetStudyPK :one
SELECT pk FROM studies WHERE study_uid = $1;

-- name: GetSeriesInStudy :one
SELECT se.pk FROM series se JOIN studies st ON st.pk = se.study_pk
WHERE st.study_uid = $1 AND se.series_uid = $2;

-- name: GetInstanceInSeries :one
SELECT i.pk, i.series_pk, i.study_pk, i.blob_key
FROM instances i
JOIN series se ON se.pk = i.series_pk
JOIN studies st ON st.pk = i.study_pk
WHERE st.study_uid = $1 AND se.series_uid = $2 AND i.sop_instance_uid = $3;

-- name: StudyBlobKeys :many
SELECT blob_key FROM instances WHERE study_pk = $1;

-- name: SeriesBlobKeys :many
SELECT blob_key FROM instances WHERE series_pk = $1;

-- name: DeleteStudyByPK :exec
DELETE FROM studies WHERE pk = $1;

-- name: DeleteSeriesByPK :exec
DELETE FROM series WHERE pk = $1;

-- name: GetStudy :one
SELECT * FROM studies WHERE study_uid = $1;

-- name: GetSeries :one
SELECT se.*, st.study_uid FROM series se JOIN studies st ON st.pk = se.study_pk
WHERE se.series_uid = $1;

-- name: GetInstance :one
SELECT i.*, se.series_uid, st.study_uid
FROM instances i
JOIN series se ON se.pk = i.series_pk
JOIN studies st ON st.pk = i.study_pk
WHERE i.sop_instance_uid = $1;

-- name: CountStudies :one
SELECT count(*) FROM studies;

-- name: LockStudy :one
-- Locks an existing study row for the rest of the transaction (deletes recount under it, as
-- AddInstance does); a missing study returns no row.
UPDATE studies SET updated_at = updated_at WHERE study_uid = $1 RETURNING pk;

-- name: BumpSeriesCount :exec
-- The common path of AddInstance counts by increment, once per series at the end of a batch:
-- exact under the study row lock, and constant time however large the series has grown.
UPDATE series SET num_instances = num_instances + sqlc.arg(added) WHERE pk = sqlc.arg(pk);

-- name: BumpStudyCounts :exec
UPDATE studies SET num_instances = num_instances + sqlc.arg(added_instances), num_series = num_series + sqlc.arg(added_series)
WHERE pk = sqlc.arg(pk);

-- name: SetStudyModalities :exec
UPDATE studies SET modalities_in_study = $2 WHERE pk = $1;

-- name: RetrieveInstances :many
-- The instances of a study, of one of its series ($2 > 0) or one instance ($3 > 0), in the order
-- of a series list and each series' instances.
SELECT i.sop_instance_uid, se.series_uid, i.sop_class_uid, i.transfer_syntax_uid, i.blob_key,
       i.size_bytes, i.sha256, i.number_of_frames
FROM instances i JOIN series se ON se.pk = i.series_pk
WHERE i.study_pk = sqlc.arg(study_pk) AND (CAST(sqlc.arg(series_pk) AS BIGINT) = 0 OR i.series_pk = sqlc.arg(series_pk))
  AND (CAST(sqlc.arg(instance_pk) AS BIGINT) = 0 OR i.pk = sqlc.arg(instance_pk))
ORDER BY se.series_number IS NULL, se.series_number, se.series_uid,
         i.instance_number IS NULL, i.instance_number, i.sop_instance_uid;

-- name: GetFrameSource :one
-- One row read per frame or bulk data request: the file and the byte-range indexes, not the metadata.
SELECT i.sop_class_uid, i.transfer_syntax_uid, i.blob_key, i.sha256, i.size_bytes, i.number_of_frames,
       i.num_rows, i.num_columns, i.bits_allocated, i.frames, i.bulk_data
FROM instances i
JOIN series se ON se.pk = i.series_pk
JOIN studies st ON st.pk = i.study_pk
WHERE st.study_uid = $1 AND se.series_uid = $2 AND i.sop_instance_uid = $3;

-- name: GetInstanceMetadata :one
SELECT i.metadata
FROM instances i
JOIN series se ON se.pk = i.series_pk
JOIN studies st ON st.pk = i.study_pk
WHERE st.study_uid = $1 AND se.series_uid = $2 AND i.sop_instance_uid = $3;
