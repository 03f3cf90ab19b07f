//! Catalog reference photos for shelf scans: per variant, the embedding of each photo (the
//! photo itself is not kept), keyed by the photo's and the model's sha256.

use rusqlite::{params, TransactionBehavior};

use crate::store::variant_id;
use crate::{Result, Store};

/// A reference photo to add: its embedding by the model with sha256 `model_sha256`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReferencePhoto {
    pub sku: String,
    pub file_name: String,
    pub photo_sha256: String,
    pub model_sha256: String,
    pub embedding: Vec<f32>,
    pub added_at_ms: i64,
}

/// A stored reference photo (without its embedding).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReferencePhoto {
    pub sku: String,
    pub file_name: String,
    pub photo_sha256: String,
    pub model_sha256: String,
    pub dimensions: usize,
    pub added_at_ms: i64,
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

impl Store {
    /// Adds reference photos in one transaction: all or, if one names an unknown SKU or has
    /// an empty embedding (refused by the table), none. A photo already stored for that SKU and model is skipped;
    /// returns how many were new.
    pub fn add_reference_photos(&mut self, photos: &[NewReferencePhoto]) -> Result<usize> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        for p in photos {
            let variant = variant_id(&tx, &p.sku)?;
            added += tx.execute(
                "INSERT INTO reference_photos (variant_id, file_name, photo_sha256, model_sha256, embedding, added_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (variant_id, photo_sha256, model_sha256) DO NOTHING",
                params![variant, p.file_name, p.photo_sha256, p.model_sha256, to_blob(&p.embedding), p.added_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Reference photos, of one SKU or all, by SKU then time added.
    pub fn reference_photos(&self, sku: Option<&str>) -> Result<Vec<ReferencePhoto>> {
        if let Some(sku) = sku {
            variant_id(&self.conn, sku)?;
        }
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, r.file_name, r.photo_sha256, r.model_sha256, length(r.embedding) / 4, r.added_at_ms
             FROM reference_photos r JOIN variants v ON v.id = r.variant_id
             WHERE ?1 IS NULL OR v.sku = ?1
             ORDER BY v.sku, r.added_at_ms, r.id",
        )?;
        let rows = stmt
            .query_map([sku], |row| {
                Ok(ReferencePhoto {
                    sku: row.get(0)?,
                    file_name: row.get(1)?,
                    photo_sha256: row.get(2)?,
                    model_sha256: row.get(3)?,
                    dimensions: row.get::<_, i64>(4)? as usize,
                    added_at_ms: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// `(sku, embedding)` of every reference photo embedded by the model `model_sha256`.
    pub fn reference_embeddings(&self, model_sha256: &str) -> Result<Vec<(String, Vec<f32>)>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, r.embedding FROM reference_photos r JOIN variants v ON v.id = r.variant_id
             WHERE r.model_sha256 = ?1 ORDER BY v.sku, r.id",
        )?;
        let rows = stmt
            .query_map([model_sha256], |row| Ok((row.get::<_, String>(0)?, from_blob(&row.get::<_, Vec<u8>>(1)?))))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;

    fn photo(sku: &str, sha: &str, model: &str) -> NewReferencePhoto {
        NewReferencePhoto {
            sku: sku.into(),
            file_name: format!("{sha}.jpg"),
            photo_sha256: sha.into(),
            model_sha256: model.into(),
            embedding: vec![0.6, 0.8],
            added_at_ms: 1,
        }
    }

    #[test]
    fn photos_are_added_once_per_model_and_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("kiosk.db")).unwrap();
        store.seed_demo_if_empty().unwrap();
        let sku = store.products().unwrap()[0].variants[0].sku.clone();

        assert_eq!(store.add_reference_photos(&[photo(&sku, "aa", "m1"), photo(&sku, "bb", "m1")]).unwrap(), 2);
        assert_eq!(store.add_reference_photos(&[photo(&sku, "aa", "m1")]).unwrap(), 0, "same photo again is a no-op");
        assert_eq!(store.add_reference_photos(&[photo(&sku, "aa", "m2")]).unwrap(), 1, "a new model embeds it anew");

        let err = store.add_reference_photos(&[photo(&sku, "cc", "m1"), photo("NO-SUCH-SKU", "dd", "m1")]).unwrap_err();
        assert!(matches!(err, StoreError::UnknownVariant(ref s) if s == "NO-SUCH-SKU"), "{err}");
        let mut empty = photo(&sku, "ee", "m1");
        empty.embedding.clear();
        assert!(store.add_reference_photos(&[empty]).is_err());

        let listed = store.reference_photos(Some(&sku)).unwrap();
        assert_eq!(listed.len(), 3, "nothing of the failed batches was written");
        assert_eq!(listed[0].dimensions, 2);
        assert!(store.reference_photos(Some("NO-SUCH-SKU")).is_err());
        let m1 = store.reference_embeddings("m1").unwrap();
        assert_eq!(m1, vec![(sku.clone(), vec![0.6, 0.8]), (sku, vec![0.6, 0.8])]);
        assert!(store.reference_embeddings("m3").unwrap().is_empty());
    }
}
