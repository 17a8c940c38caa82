-- Search at archive scale.
--
-- Unscoped series and instance searches list results in the order they were stored (by primary
-- key), so that paging with limit/offset stays stable while instances are added. These narrow
-- indexes hold that order and the keys the joins need: a page, even 100,000 rows deep, is found by
-- stepping over index entries only, never over the wide rows (instances carry their metadata).
CREATE INDEX instances_order ON instances (pk, series_pk, study_pk);
CREATE INDEX series_order ON series (pk, study_pk, modality);
CREATE INDEX series_modality_order ON series (modality, pk);

-- Infix wildcards and fuzzy names: a trigram index of the studies' folded text columns, used as a
-- prefilter only (a MATCH on the literal runs of the pattern); the LIKE on the column itself still
-- decides, so the matching rules stay exactly those of the *_ci and *_words columns. External
-- content: the text lives once, in studies; the triggers keep the index in step with it.
CREATE VIRTUAL TABLE studies_text USING fts5(
    patient_name_ci, patient_name_words, patient_id_ci, accession_number_ci,
    referring_physician_name_ci, referring_physician_name_words, study_id_ci, study_description_ci,
    content='studies', content_rowid='pk', tokenize='trigram'
);
INSERT INTO studies_text (studies_text) VALUES ('rebuild');

CREATE TRIGGER studies_text_insert AFTER INSERT ON studies
BEGIN
    INSERT INTO studies_text (rowid, patient_name_ci, patient_name_words, patient_id_ci, accession_number_ci,
        referring_physician_name_ci, referring_physician_name_words, study_id_ci, study_description_ci)
    VALUES (new.pk, new.patient_name_ci, new.patient_name_words, new.patient_id_ci, new.accession_number_ci,
        new.referring_physician_name_ci, new.referring_physician_name_words, new.study_id_ci, new.study_description_ci);
END;

CREATE TRIGGER studies_text_delete AFTER DELETE ON studies
BEGIN
    INSERT INTO studies_text (studies_text, rowid, patient_name_ci, patient_name_words, patient_id_ci, accession_number_ci,
        referring_physician_name_ci, referring_physician_name_words, study_id_ci, study_description_ci)
    VALUES ('delete', old.pk, old.patient_name_ci, old.patient_name_words, old.patient_id_ci, old.accession_number_ci,
        old.referring_physician_name_ci, old.referring_physician_name_words, old.study_id_ci, old.study_description_ci);
END;

-- Every stored instance updates its study row (UpsertStudy sets the text columns to themselves,
-- then the counts change): the WHEN clause keeps that common path free of index work.
CREATE TRIGGER studies_text_update AFTER UPDATE OF patient_name_ci, patient_name_words, patient_id_ci,
    accession_number_ci, referring_physician_name_ci, referring_physician_name_words, study_id_ci,
    study_description_ci ON studies
WHEN old.patient_name_ci IS NOT new.patient_name_ci OR old.patient_name_words IS NOT new.patient_name_words
    OR old.patient_id_ci IS NOT new.patient_id_ci OR old.accession_number_ci IS NOT new.accession_number_ci
    OR old.referring_physician_name_ci IS NOT new.referring_physician_name_ci
    OR old.referring_physician_name_words IS NOT new.referring_physician_name_words
    OR old.study_id_ci IS NOT new.study_id_ci OR old.study_description_ci IS NOT new.study_description_ci
BEGIN
    INSERT INTO studies_text (studies_text, rowid, patient_name_ci, patient_name_words, patient_id_ci, accession_number_ci,
        referring_physician_name_ci, referring_physician_name_words, study_id_ci, study_description_ci)
    VALUES ('delete', old.pk, old.patient_name_ci, old.patient_name_words, old.patient_id_ci, old.accession_number_ci,
        old.referring_physician_name_ci, old.referring_physician_name_words, old.study_id_ci, old.study_description_ci);
    INSERT INTO studies_text (rowid, patient_name_ci, patient_name_words, patient_id_ci, accession_number_ci,
        referring_physician_name_ci, referring_physician_name_words, study_id_ci, study_description_ci)
    VALUES (new.pk, new.patient_name_ci, new.patient_name_words, new.patient_id_ci, new.accession_number_ci,
        new.referring_physician_name_ci, new.referring_physician_name_words, new.study_id_ci, new.study_description_ci);
END;
