-- Garments for virtual try-on (issue 3): one cut-out per catalog variant. The image lives in
-- the asset folder under its SHA-256 (several variants may share one); the row keeps what
-- try-on needs besides: kind, size and the landmarks (JSON, cut-out pixels).
CREATE TABLE garments (
    variant_id   INTEGER PRIMARY KEY REFERENCES variants(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('top', 'outerwear', 'dress')),
    image_sha256 TEXT NOT NULL CHECK (length(image_sha256) = 64),
    width        INTEGER NOT NULL CHECK (width > 0),
    height       INTEGER NOT NULL CHECK (height > 0),
    landmarks    TEXT NOT NULL CHECK (json_valid(landmarks)),
    source       TEXT NOT NULL,
    added_ms     INTEGER NOT NULL
);
CREATE INDEX garments_by_image ON garments(image_sha256);
