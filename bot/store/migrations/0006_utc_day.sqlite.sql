-- utc_day(seconds), the UTC day the reports group by, is a function the SQLite connector
-- registers on each connection (SQLite has no CREATE FUNCTION): nothing to change here,
-- the version keeps both dialects' sequences alike.
SELECT utc_day(0);
