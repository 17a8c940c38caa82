-- Fails if a stored number no longer fits in 32 bits, rather than wrapping it.
ALTER TABLE instances ALTER COLUMN instance_number TYPE INTEGER;
ALTER TABLE series ALTER COLUMN series_number TYPE INTEGER;
