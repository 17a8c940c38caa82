-- Instances carry their series' Modality, with an index of (modality, pk): an unscoped instance
-- search by one Modality then steps over that index in the order stored, where it had to look up
-- the series of every instance before its page (half a million lookups, 241 ms, for page 6,250 of
-- MR at a million instances). A series' Modality never changes once stored (InsertSeries does
-- nothing on conflict), so the copy cannot go stale. The UPDATE rewrites every instance row: 12 s
-- at a million instances here, and the file grows by the index only.
ALTER TABLE instances ADD COLUMN modality TEXT NOT NULL DEFAULT '';
UPDATE instances SET modality = (SELECT se.modality FROM series se WHERE se.pk = instances.series_pk);
CREATE INDEX instances_modality_order ON instances (modality, pk);
