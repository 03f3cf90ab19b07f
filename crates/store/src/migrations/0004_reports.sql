-- Reports (issue 6): reorder settings, lead times, pack sizes.
-- Owned by the reports work; placeholder until it lands.
SELECT 1;
