-- 0004: reports (issue 6): per-variant reorder settings, daily movement totals kept beside
-- the ledger, and an index for shelf counts.

-- How a variant is reordered. A variant without a row uses the defaults in the store
-- crate's `ReorderSettings::default()`. `reorder_point` is a manager's override; NULL means
-- "computed from the demand forecast".
CREATE TABLE reorder_settings (
    variant_id         INTEGER PRIMARY KEY REFERENCES variants(id),
    reorder_point      INTEGER CHECK (reorder_point >= 0),
    lead_time_days     INTEGER NOT NULL CHECK (lead_time_days BETWEEN 0 AND 365),
    review_period_days INTEGER NOT NULL CHECK (review_period_days BETWEEN 0 AND 365),
    pack_size          INTEGER NOT NULL CHECK (pack_size >= 1),
    service_level      REAL NOT NULL CHECK (service_level >= 0.5 AND service_level < 1)
);

-- Movements per variant, location and UTC day (days since 1970-01-01), summed from the
-- ledger in the same transaction as each event; recomputed by the stock rebuild. Reports
-- read rates and histories from here instead of scanning a million events. All quantities
-- are positive units; `adjusted` is the signed net of adjustments.
CREATE TABLE daily_movements (
    variant_id  INTEGER NOT NULL REFERENCES variants(id),
    location_id INTEGER NOT NULL REFERENCES locations(id),
    day         INTEGER NOT NULL,
    sold        INTEGER NOT NULL DEFAULT 0,
    returned    INTEGER NOT NULL DEFAULT 0,
    received    INTEGER NOT NULL DEFAULT 0,
    adjusted    INTEGER NOT NULL DEFAULT 0,
    moved_in    INTEGER NOT NULL DEFAULT 0,
    moved_out   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (variant_id, location_id, day)
) WITHOUT ROWID;
CREATE INDEX daily_movements_by_day ON daily_movements(day);

-- Shelf counts are few among many sales; a partial index finds them without a scan.
CREATE INDEX stock_events_counts
    ON stock_events(variant_id, location_id, occurred_at_ms)
    WHERE kind = 'counted';

INSERT INTO daily_movements
    (variant_id, location_id, day, sold, returned, received, adjusted, moved_in, moved_out)
SELECT variant_id, location_id, day,
       SUM(sold), SUM(returned), SUM(received), SUM(adjusted), SUM(moved_in), SUM(moved_out)
FROM (
    SELECT variant_id, location_id, occurred_at_ms / 86400000 AS day,
           CASE kind WHEN 'sold' THEN quantity ELSE 0 END AS sold,
           CASE kind WHEN 'returned' THEN quantity ELSE 0 END AS returned,
           CASE kind WHEN 'received' THEN quantity ELSE 0 END AS received,
           CASE kind WHEN 'adjusted' THEN quantity ELSE 0 END AS adjusted,
           0 AS moved_in,
           CASE kind WHEN 'transferred' THEN quantity ELSE 0 END AS moved_out
    FROM stock_events
    WHERE kind <> 'counted'
    UNION ALL
    SELECT variant_id, to_location_id, occurred_at_ms / 86400000, 0, 0, 0, 0, quantity, 0
    FROM stock_events
    WHERE kind = 'transferred'
)
GROUP BY variant_id, location_id, day;

-- The same movements summed over locations per variant and day, with running totals from
-- the first day on (`cum_*`, through this day). A window's totals are then two look-ups per
-- variant (the rows at its last day and the day before its first) whatever its length, so
-- store-wide reports stay fast over any history. `net` is the book-stock change (transfers
-- cancel out); demand is sold − returned, not below 0, and `cum_demand_sq` sums its square
-- for the variance of daily demand.
CREATE TABLE variant_days (
    variant_id    INTEGER NOT NULL REFERENCES variants(id),
    day           INTEGER NOT NULL,
    sold          INTEGER NOT NULL,
    returned      INTEGER NOT NULL,
    received      INTEGER NOT NULL,
    net           INTEGER NOT NULL,
    cum_sold      INTEGER NOT NULL,
    cum_returned  INTEGER NOT NULL,
    cum_received  INTEGER NOT NULL,
    cum_net       INTEGER NOT NULL,
    cum_demand    INTEGER NOT NULL,
    cum_demand_sq INTEGER NOT NULL,
    PRIMARY KEY (variant_id, day)
) WITHOUT ROWID;

INSERT INTO variant_days
    (variant_id, day, sold, returned, received, net,
     cum_sold, cum_returned, cum_received, cum_net, cum_demand, cum_demand_sq)
SELECT variant_id, day, sold, returned, received, net,
       SUM(sold) OVER running, SUM(returned) OVER running, SUM(received) OVER running,
       SUM(net) OVER running, SUM(max(sold - returned, 0)) OVER running,
       SUM(max(sold - returned, 0) * max(sold - returned, 0)) OVER running
FROM (
    SELECT variant_id, day, SUM(sold) AS sold, SUM(returned) AS returned,
           SUM(received) AS received,
           SUM(received + returned + adjusted + moved_in - sold - moved_out) AS net
    FROM daily_movements
    GROUP BY variant_id, day
)
WINDOW running AS (PARTITION BY variant_id ORDER BY day ROWS UNBOUNDED PRECEDING);

-- A variant's events in time order (the same index, one column longer, so no extra cost on
-- ingest): the book stock at a shelf count needs the events after it on its day.
DROP INDEX stock_events_by_variant;
CREATE INDEX stock_events_by_variant ON stock_events(variant_id, occurred_at_ms);
