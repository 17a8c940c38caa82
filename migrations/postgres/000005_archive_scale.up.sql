-- Search at archive scale.
--
-- Unscoped series and instance searches list results in the order they were stored (by primary
-- key), so that paging with limit/offset stays stable while instances are added. These narrow
-- indexes hold that order and the keys the joins need: a page, even 100,000 rows deep, is found by
-- an index-only scan over their entries, never over the wide rows (instances carry their metadata).
CREATE INDEX instances_order ON instances (pk, series_pk, study_pk);
CREATE INDEX series_order ON series (pk, study_pk, modality);
CREATE INDEX series_modality_order ON series (modality, pk);

-- Infix wildcards and fuzzy names: trigram indexes on the studies' folded text columns, which the
-- planner uses for LIKE '%…%' by itself; the LIKE still decides (the index is rechecked), so the
-- matching rules stay exactly those of the *_ci and *_words columns. pg_trgm is a trusted
-- extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX studies_patient_name_trgm ON studies USING gin (patient_name_ci gin_trgm_ops);
CREATE INDEX studies_patient_name_words_trgm ON studies USING gin (patient_name_words gin_trgm_ops);
CREATE INDEX studies_patient_id_trgm ON studies USING gin (patient_id_ci gin_trgm_ops);
CREATE INDEX studies_accession_number_trgm ON studies USING gin (accession_number_ci gin_trgm_ops);
CREATE INDEX studies_referring_physician_name_trgm ON studies USING gin (referring_physician_name_ci gin_trgm_ops);
CREATE INDEX studies_referring_physician_name_words_trgm ON studies USING gin (referring_physician_name_words gin_trgm_ops);
CREATE INDEX studies_study_id_trgm ON studies USING gin (study_id_ci gin_trgm_ops);
CREATE INDEX studies_study_description_trgm ON studies USING gin (study_description_ci gin_trgm_ops);
