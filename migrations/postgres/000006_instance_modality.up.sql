-- Instances carry their series' Modality, with an index of (modality, pk): an unscoped instance
-- search by one Modality then steps over that index in the order stored, where it had to join
-- the series of every instance before its page (206 ms for page 6,250 of MR at a million
-- instances). A series' Modality never changes once stored (InsertSeries does nothing on
-- conflict), so the copy cannot go stale.
--
-- The copy is made by a rewrite of the table (ALTER COLUMN … TYPE … USING), which writes each row
-- once into a new, compact table and rebuilds its indexes: an UPDATE would leave every old row
-- dead, doubling the table and its indexes (1 GB more per million instances) until a VACUUM
-- FULL. USING cannot hold a subquery, hence the function. 11 s at a million instances here; the
-- server then vacuums (queries.Open), which an index-only scan needs to skip the table.
ALTER TABLE instances ADD COLUMN modality TEXT NOT NULL DEFAULT '';
CREATE FUNCTION pg_temp.series_modality(bigint) RETURNS text LANGUAGE sql STABLE
    AS 'SELECT modality FROM series WHERE pk = $1';
ALTER TABLE instances ALTER COLUMN modality TYPE text USING pg_temp.series_modality(series_pk);
DROP FUNCTION pg_temp.series_modality(bigint);
CREATE INDEX instances_modality_order ON instances (modality, pk);
