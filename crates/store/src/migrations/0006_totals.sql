-- 0006: running totals brought up to date lazily (issues 5, 6), and each variant's latest
-- totals in one row.
--
-- A write transaction that appends events adds them to `daily_movements` and marks each
-- variant it moved as stale from the first day it touched (`stale_from`). Before anything
-- reads `variant_days` (per-day sums over locations and running totals), the marked
-- variants' rows are recomputed from that day on and their row here is set to their last
-- day's running totals, in one transaction that also clears the marks. A mark commits with
-- its events, so a crash between an import and the refresh loses nothing. Rows of
-- `variant_days` before a variant's `stale_from` are always up to date (an earlier event
-- lowers the mark).
--
-- Reports over a window that reaches a variant's last day (the usual case: windows end on
-- the ledger's last day) take the window's end from here, one look-up instead of two;
-- `cum_net` is also the variant's book stock summed over locations.
CREATE TABLE variant_totals (
    variant_id    INTEGER PRIMARY KEY REFERENCES variants(id),
    -- NULL when up to date; else the first day whose `variant_days` rows wait for a refresh.
    stale_from    INTEGER,
    -- The variant's last day with a movement, and the last day with a sale.
    last_day      INTEGER,
    last_sold_day INTEGER,
    -- The running totals of `variant_days` at `last_day`.
    cum_sold      INTEGER NOT NULL DEFAULT 0,
    cum_returned  INTEGER NOT NULL DEFAULT 0,
    cum_received  INTEGER NOT NULL DEFAULT 0,
    cum_net       INTEGER NOT NULL DEFAULT 0,
    cum_demand    INTEGER NOT NULL DEFAULT 0,
    cum_demand_sq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX variant_totals_stale ON variant_totals(stale_from) WHERE stale_from IS NOT NULL;

INSERT INTO variant_totals
    (variant_id, stale_from, last_day, last_sold_day, cum_sold, cum_returned, cum_received,
     cum_net, cum_demand, cum_demand_sq)
SELECT d.variant_id, NULL, d.day,
       (SELECT s.day FROM variant_days s WHERE s.variant_id = d.variant_id AND s.sold > 0
        ORDER BY s.day DESC LIMIT 1),
       d.cum_sold, d.cum_returned, d.cum_received, d.cum_net, d.cum_demand, d.cum_demand_sq
FROM variant_days d
WHERE d.day = (SELECT MAX(x.day) FROM variant_days x WHERE x.variant_id = d.variant_id);
