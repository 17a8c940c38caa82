DROP TRIGGER studies_text_update;
DROP TRIGGER studies_text_delete;
DROP TRIGGER studies_text_insert;
DROP TABLE studies_text;
DROP INDEX series_modality_order;
DROP INDEX series_order;
DROP INDEX instances_order;
