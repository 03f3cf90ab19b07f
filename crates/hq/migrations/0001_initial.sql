-- 0001: store tokens, every store's events, the stock HQ derives from them, the catalog.
--
-- Written for PostgreSQL 15 and, unchanged, for Citus (see crates/hq/README.md): every
-- per-store table has `store_id` first in its primary key so it can be distributed (and
-- co-located) by store_id; the small tables every node needs are plain tables that Citus
-- turns into reference tables. No sequences, no cross-store foreign keys.

-- Per-store bearer tokens, stored as the SHA-256 of the token only. `token_id` is a short
-- prefix of that hash, safe to show and to name a token by when revoking it.
CREATE TABLE store_tokens (
    token_hash text PRIMARY KEY CHECK (length(token_hash) = 64),
    token_id   text NOT NULL UNIQUE,
    store_id   text NOT NULL CHECK (store_id <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- One row per store. Its row lock serialises that store's pushes, and `stock_version` is
-- bumped by each one: the cursor other kiosks pull that store's stock by.
CREATE TABLE stores (
    store_id      text PRIMARY KEY,
    stock_version bigint NOT NULL DEFAULT 0,
    events        bigint NOT NULL DEFAULT 0,
    max_hlc       text,
    last_seen     timestamptz
);

-- Every event of every store, exactly once: the kiosk's event id is globally unique, and the
-- key leads with the store it came from (the token's store) so it can be distributed.
CREATE TABLE events (
    store_id        text NOT NULL,
    event_id        text NOT NULL,
    hlc             text NOT NULL,
    origin_store_id text NOT NULL,
    device_id       text NOT NULL,
    occurred_at_ms  bigint NOT NULL,
    actor           text NOT NULL,
    kind            text NOT NULL CHECK (kind IN
                        ('received', 'sold', 'returned', 'transferred', 'adjusted', 'counted')),
    sku             text NOT NULL,
    location        text NOT NULL,
    to_location     text,
    quantity        bigint NOT NULL,
    reference       text,
    note            text,
    source_key      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, event_id)
);
-- No index on hlc: ingest is the hot path (a second index costs about 40% of its insert
-- time) and the HLC-ordered listing (`vitrine-hq events`) is an occasional admin read.

-- Book stock per store and SKU (all locations of the store together), kept in the same
-- transaction as the events that move it. `version` is the store's stock_version when the
-- row last changed.
CREATE TABLE store_stock (
    store_id text NOT NULL,
    sku      text NOT NULL,
    on_hand  bigint NOT NULL,
    version  bigint NOT NULL,
    PRIMARY KEY (store_id, sku)
);
CREATE INDEX store_stock_by_version ON store_stock (store_id, version);

-- The catalog HQ hands out. Writers lock `catalog_head` and number their changes after it,
-- so versions are committed in order and a kiosk's cursor never skips one.
CREATE TABLE catalog_head (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO catalog_head (id, version) VALUES (1, 0);

CREATE TABLE catalog_variants (
    sku          text PRIMARY KEY,
    product_code text NOT NULL,
    product_name text NOT NULL,
    category     text NOT NULL,
    size         text,
    colour       text,
    barcode      text,
    price_cents  bigint NOT NULL CHECK (price_cents >= 0),
    cost_cents   bigint NOT NULL CHECK (cost_cents >= 0),
    version      bigint NOT NULL
);
CREATE INDEX catalog_variants_by_version ON catalog_variants (version);
