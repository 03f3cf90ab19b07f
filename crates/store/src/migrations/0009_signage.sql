-- Generated signage (issue 17): the manager's decision on each suggested poster (a product in
-- one design). Posters themselves are rendered from the catalog when shown, so a price change
-- is on the next render; the row keeps only what a person decided, and until when.
CREATE TABLE poster_decisions (
    variant_id   INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    design       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('approved', 'rejected')),
    -- Approved posters play from `from_ms` until `until_ms` (UTC ms).
    from_ms      INTEGER,
    until_ms     INTEGER,
    decided_by   TEXT NOT NULL,
    decided_ms   INTEGER NOT NULL,
    PRIMARY KEY (variant_id, design),
    CHECK (status <> 'approved' OR (from_ms IS NOT NULL AND until_ms > from_ms))
) WITHOUT ROWID;

-- Promotions: a percentage off a product's price over whole UTC days (ends_day included).
CREATE TABLE promotions (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    percent_off INTEGER NOT NULL CHECK (percent_off BETWEEN 1 AND 90),
    starts_day  INTEGER NOT NULL,
    ends_day    INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    CHECK (ends_day >= starts_day)
);
CREATE INDEX promotions_by_product ON promotions(product_id, ends_day);
