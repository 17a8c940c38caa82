DROP INDEX instances_modality_order;
ALTER TABLE instances DROP COLUMN modality;
