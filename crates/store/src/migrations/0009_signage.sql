-- Generated signage (issue 17): the manager's decision on each suggested poster (a product in
-- one design). Posters themselves are rendered from the catalog when shown, so a price change
-- is on the next render; the row keeps only what a person decided, and until when.
CREATE TABLE poster_decisions (
    variant_id   INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    design       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('approved', 'rejected')),
    -- Approved posters play until then (UTC ms); rejected ones stay out of the suggestions.
    until_ms     INTEGER,
    decided_by   TEXT NOT NULL,
    decided_ms   INTEGER NOT NULL,
    PRIMARY KEY (variant_id, design),
    CHECK (status <> 'approved' OR until_ms IS NOT NULL)
) WITHOUT ROWID;
