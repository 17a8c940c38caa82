-- The pg_trgm extension stays: other schemas of the database may use it, and it is inert.
DROP INDEX studies_study_description_trgm;
DROP INDEX studies_study_id_trgm;
DROP INDEX studies_referring_physician_name_words_trgm;
DROP INDEX studies_referring_physician_name_trgm;
DROP INDEX studies_accession_number_trgm;
DROP INDEX studies_patient_id_trgm;
DROP INDEX studies_patient_name_words_trgm;
DROP INDEX studies_patient_name_trgm;
DROP INDEX series_modality_order;
DROP INDEX series_order;
DROP INDEX instances_order;
