-- SQLite's INTEGER is already 64-bit: SeriesNumber and InstanceNumber are kept exactly. This
-- migration keeps both engines at the same version (PostgreSQL widens its columns to BIGINT).
SELECT 1;
