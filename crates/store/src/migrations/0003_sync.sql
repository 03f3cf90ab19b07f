-- 0003: sync with HQ (issue 5): how far this kiosk has synced, and other stores' stock.

-- One row: the HQ this file last synced with, the catalog version applied, and when the last
-- push and pull succeeded. `last_error` is the latest failure, cleared by the next success.
CREATE TABLE sync_state (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    hq_url             TEXT,
    catalog_cursor     INTEGER NOT NULL DEFAULT 0 CHECK (catalog_cursor >= 0),
    last_push_unix_ms  INTEGER,
    last_pull_unix_ms  INTEGER,
    last_error         TEXT,
    last_error_unix_ms INTEGER
);
INSERT INTO sync_state (id) VALUES (1);

-- Other stores as HQ last described them; `stock_version` is the pull cursor for that
-- store's stock (HQ bumps it with every batch of that store's events it takes in).
CREATE TABLE remote_stores (
    store_id          TEXT PRIMARY KEY,
    stock_version     INTEGER NOT NULL CHECK (stock_version >= 0),
    events            INTEGER NOT NULL CHECK (events >= 0),
    last_seen_unix_ms INTEGER
) WITHOUT ROWID;

-- Other stores' book stock per SKU ("available at another store"), as HQ derived it from
-- their events. By SKU text, not variant id: another store may sell a SKU this one doesn't.
CREATE TABLE remote_stock (
    store_id TEXT NOT NULL REFERENCES remote_stores(store_id),
    sku      TEXT NOT NULL,
    on_hand  INTEGER NOT NULL,
    PRIMARY KEY (store_id, sku)
) WITHOUT ROWID;
