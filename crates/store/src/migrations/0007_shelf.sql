-- 0007: catalog reference photos for shelf scans (issue 4). One row per variant, photo and
-- embedding model: the photo itself is not kept, only its name, its sha256 (so adding the
-- same photo again is a no-op) and its embedding (little-endian float32) from the model
-- named by `model_sha256` (embeddings of different models are not comparable).
CREATE TABLE reference_photos (
    id           INTEGER PRIMARY KEY,
    variant_id   INTEGER NOT NULL REFERENCES variants(id),
    file_name    TEXT NOT NULL,
    photo_sha256 TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    embedding    BLOB NOT NULL CHECK (length(embedding) > 0 AND length(embedding) % 4 = 0),
    added_at_ms  INTEGER NOT NULL,
    UNIQUE (variant_id, photo_sha256, model_sha256)
);
