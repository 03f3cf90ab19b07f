-- 0001: catalog, store locations, the append-only stock ledger and its book-stock projection.

CREATE TABLE products (
    id       INTEGER PRIMARY KEY,
    code     TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    category TEXT NOT NULL
);

-- The sellable unit: every size/colour combination has its own SKU, price and cost.
CREATE TABLE variants (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products(id),
    sku         TEXT NOT NULL UNIQUE,
    size        TEXT,
    colour      TEXT,
    barcode     TEXT UNIQUE,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    cost_cents  INTEGER NOT NULL CHECK (cost_cents >= 0)
);
CREATE INDEX variants_by_product ON variants(product_id);

-- Shelves are coded aisle/bay/shelf ("A4/B2/S3"); the backroom is one free-named place.
CREATE TABLE locations (
    id   INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('shelf', 'backroom')),
    name TEXT NOT NULL,
    CHECK (kind <> 'shelf' OR code GLOB 'A[0-9]*/B[0-9]*/S[0-9]*')
);

-- The ledger. `id` is globally unique (UUIDv7) so events from several devices merge without
-- clashes; `seq` is only this file's arrival order. `quantity` is a positive amount for
-- received/sold/returned/transferred (the kind gives the direction), a signed delta for
-- adjusted, and the observed absolute count for counted (which never moves book stock).
CREATE TABLE stock_events (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    store_id       TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    kind           TEXT NOT NULL
        CHECK (kind IN ('received', 'sold', 'returned', 'transferred', 'adjusted', 'counted')),
    variant_id     INTEGER NOT NULL REFERENCES variants(id),
    location_id    INTEGER NOT NULL REFERENCES locations(id),
    to_location_id INTEGER REFERENCES locations(id),
    quantity       INTEGER NOT NULL,
    reference      TEXT,
    note           TEXT,
    CHECK (CASE kind
               WHEN 'adjusted' THEN quantity <> 0
               WHEN 'counted' THEN quantity >= 0
               ELSE quantity > 0
           END),
    CHECK ((kind = 'transferred') = (to_location_id IS NOT NULL AND to_location_id <> location_id))
);
CREATE INDEX stock_events_by_variant ON stock_events(variant_id);

-- Append-only, enforced by the database so that no writer (sqlite3 shell included) can
-- rewrite history.
CREATE TRIGGER stock_events_no_update BEFORE UPDATE ON stock_events
BEGIN
    SELECT RAISE(ABORT, 'stock_events is append-only: UPDATE refused');
END;

CREATE TRIGGER stock_events_no_delete BEFORE DELETE ON stock_events
BEGIN
    SELECT RAISE(ABORT, 'stock_events is append-only: DELETE refused');
END;

-- INSERT OR REPLACE deletes the clashing row without firing DELETE triggers (unless
-- recursive_triggers is on), so refuse any insert that collides with a recorded event.
CREATE TRIGGER stock_events_no_replace BEFORE INSERT ON stock_events
WHEN EXISTS (SELECT 1 FROM stock_events WHERE id = NEW.id OR seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'stock_events is append-only: event already recorded');
END;

-- Book stock per variant and location, maintained in the same transaction as each event
-- insert; can be recomputed from stock_events at any time. Book stock may go negative
-- (a sale recorded before its delivery), so there is no CHECK on on_hand.
CREATE TABLE stock_levels (
    variant_id  INTEGER NOT NULL REFERENCES variants(id),
    location_id INTEGER NOT NULL REFERENCES locations(id),
    on_hand     INTEGER NOT NULL,
    PRIMARY KEY (variant_id, location_id)
) WITHOUT ROWID;
