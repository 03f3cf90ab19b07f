-- 0002: a hybrid logical clock timestamp on every event, the outbox of events HQ has not yet
-- acknowledged, this device's identity and clock, idempotent feed imports, and each SKU's
-- home location.

-- This device: who it is, and the last HLC timestamp it issued or observed, so the clock
-- never goes backwards across restarts (or between two processes on one file). One row.
CREATE TABLE node (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    store_id  TEXT NOT NULL CHECK (store_id <> ''),
    device_id TEXT NOT NULL CHECK (device_id <> ''),
    last_hlc  TEXT
);
INSERT INTO node (id, store_id, device_id)
VALUES (1, 'local', 'device-' || lower(hex(randomblob(8))));

-- The ledger gains `hlc` (see the store crate's `hlc` module for the format: it sorts as text)
-- and `source_key`, the idempotency key of an event that came from an outside feed
-- ("sales:<sale_id>:<line>"), unique so a re-imported row is recognised whatever its id.
-- SQLite can't add a NOT NULL column without a default, so the table is rebuilt; `seq` values
-- are kept.
CREATE TABLE stock_events_v2 (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    -- A sanity check only (starts with a digit, long enough for PHYSICAL-LOGICAL-NODE): a
    -- full pattern match costs a noticeable share of bulk-import time, and every reader
    -- parses the value strictly anyway.
    hlc            TEXT NOT NULL CHECK (length(hlc) > 22 AND hlc >= '0' AND hlc < ':'),
    store_id       TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    -- The same set as 0001's `kind IN (...)`, spelled out: SQLite evaluates an IN list in a
    -- CHECK by filling a temporary index for every inserted row.
    kind           TEXT NOT NULL
        CHECK (kind = 'received' OR kind = 'sold' OR kind = 'returned'
               OR kind = 'transferred' OR kind = 'adjusted' OR kind = 'counted'),
    variant_id     INTEGER NOT NULL REFERENCES variants(id),
    location_id    INTEGER NOT NULL REFERENCES locations(id),
    to_location_id INTEGER REFERENCES locations(id),
    quantity       INTEGER NOT NULL,
    reference      TEXT,
    note           TEXT,
    source_key     TEXT UNIQUE,
    CHECK (CASE kind
               WHEN 'adjusted' THEN quantity <> 0
               WHEN 'counted' THEN quantity >= 0
               ELSE quantity > 0
           END),
    CHECK ((kind = 'transferred') = (to_location_id IS NOT NULL AND to_location_id <> location_id))
);

-- Events from v1 get the HLC their device would have issued: their own time, counting up
-- among events of one device in the same millisecond, in arrival order.
INSERT INTO stock_events_v2
    (seq, id, hlc, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id,
     to_location_id, quantity, reference, note, source_key)
SELECT seq, id,
       printf('%015d-%05d-%s',
              min(max(occurred_at_ms, 0), 281474976710655),
              min(row_number() OVER (PARTITION BY device_id, occurred_at_ms ORDER BY seq) - 1, 65535),
              device_id),
       store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id,
       to_location_id, quantity, reference, note, NULL
FROM stock_events;

DROP TABLE stock_events;
ALTER TABLE stock_events_v2 RENAME TO stock_events;
CREATE INDEX stock_events_by_variant ON stock_events(variant_id);

CREATE TRIGGER stock_events_no_update BEFORE UPDATE ON stock_events
BEGIN
    SELECT RAISE(ABORT, 'stock_events is append-only: UPDATE refused');
END;

CREATE TRIGGER stock_events_no_delete BEFORE DELETE ON stock_events
BEGIN
    SELECT RAISE(ABORT, 'stock_events is append-only: DELETE refused');
END;

-- As in 0001, now also covering the source key. Separate EXISTS probes rather than one OR:
-- SQLite answers an OR over three indexes with a temporary table per inserted row.
CREATE TRIGGER stock_events_no_replace BEFORE INSERT ON stock_events
WHEN EXISTS (SELECT 1 FROM stock_events WHERE id = NEW.id)
  OR EXISTS (SELECT 1 FROM stock_events WHERE seq = NEW.seq)
  OR (NEW.source_key IS NOT NULL
      AND EXISTS (SELECT 1 FROM stock_events WHERE source_key = NEW.source_key))
BEGIN
    SELECT RAISE(ABORT, 'stock_events is append-only: event already recorded');
END;

-- Events recorded on this device that HQ has not acknowledged yet, by ledger `seq`. An ack
-- deletes the row; the event itself stays in the ledger for good. Every v1 event is pending:
-- nothing was ever sent.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY REFERENCES stock_events(seq)
);
INSERT INTO outbox (seq) SELECT seq FROM stock_events;

-- Where a SKU normally sits; feeds use it when a row names no location.
ALTER TABLE variants ADD COLUMN home_location_id INTEGER REFERENCES locations(id);
-- For v1 files: the shelf holding most of the SKU's book stock.
UPDATE variants
SET home_location_id = (
    SELECT s.location_id
    FROM stock_levels s JOIN locations l ON l.id = s.location_id
    WHERE s.variant_id = variants.id AND l.kind = 'shelf'
    ORDER BY s.on_hand DESC, l.code
    LIMIT 1
);
