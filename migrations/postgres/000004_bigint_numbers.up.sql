-- SeriesNumber and InstanceNumber are IS values, which PS3.5 allows up to 2^31-1 in magnitude but
-- which modalities and converters exceed; they are kept exactly, as SQLite's INTEGER already does.
ALTER TABLE series ALTER COLUMN series_number TYPE BIGINT;
ALTER TABLE instances ALTER COLUMN instance_number TYPE BIGINT;
