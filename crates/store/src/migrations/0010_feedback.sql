-- Shoppers' feedback (issue 16): a rating and/or a comment at the end of a mirror or assistant
-- session, scored on the device. Only the text, the scores and the product are kept: no
-- session id, no device user, nothing that says who gave it.
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    session     TEXT NOT NULL CHECK (session IN ('mirror', 'assistant')),
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT CHECK (comment IS NULL OR length(comment) <= 500),
    product_id  INTEGER REFERENCES products(id) ON DELETE SET NULL,
    sentiment   REAL,
    label       TEXT NOT NULL CHECK (label IN ('positive', 'neutral', 'negative')),
    -- Comma-separated topic tags: fit, price, stock, staff, store.
    topics      TEXT NOT NULL DEFAULT '',
    CHECK (rating IS NOT NULL OR comment IS NOT NULL)
);
CREATE INDEX feedback_by_day ON feedback(day);
