-- The UTC day of a timestamp in seconds ('2026-12-06'), as the reports group by it; the
-- SQLite connector registers the same function on its connections.
CREATE FUNCTION utc_day(seconds DOUBLE PRECISION) RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char(to_timestamp(seconds) AT TIME ZONE 'UTC', 'YYYY-MM-DD') $$;
