//! Garments for try-on, tied to catalog variants by SKU.
//!
//! The cut-out image goes to the asset folder as `<sha256>.png` (written to a temporary file
//! and renamed, so a reader never sees half a file); the row goes in one transaction after
//! it. When the row cannot be written, an image this call created is removed again, so a
//! failed add leaves neither a row nor a file behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::store::variant_id;
use crate::{Result, Store, StoreError};

/// A garment to store: the cut-out PNG and what try-on needs to use it.
#[derive(Debug, Clone)]
pub struct NewGarment<'a> {
    pub sku: &'a str,
    /// `top`, `outerwear` or `dress`.
    pub kind: &'a str,
    pub png: &'a [u8],
    pub width: u32,
    pub height: u32,
    /// Landmarks as JSON.
    pub landmarks: &'a str,
    /// Where it came from (the photo's file name, or "demo").
    pub source: &'a str,
}

/// A stored garment with its variant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GarmentRecord {
    pub sku: String,
    pub product_code: String,
    pub product_name: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub price_cents: i64,
    pub kind: String,
    pub image_sha256: String,
    pub width: u32,
    pub height: u32,
    pub landmarks: String,
    pub source: String,
    pub added_ms: i64,
}

impl GarmentRecord {
    pub fn image_path(&self, assets: &Path) -> PathBuf {
        assets.join(format!("{}.png", self.image_sha256))
    }
}

const SELECT: &str = "SELECT v.sku, p.code, p.name, v.size, v.colour, v.price_cents, g.kind, g.image_sha256, g.width, \
     g.height, g.landmarks, g.source, g.added_ms FROM garments g JOIN variants v ON v.id = g.variant_id \
     JOIN products p ON p.id = v.product_id";

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<GarmentRecord> {
    Ok(GarmentRecord {
        sku: row.get(0)?,
        product_code: row.get(1)?,
        product_name: row.get(2)?,
        size: row.get(3)?,
        colour: row.get(4)?,
        price_cents: row.get(5)?,
        kind: row.get(6)?,
        image_sha256: row.get(7)?,
        width: row.get(8)?,
        height: row.get(9)?,
        landmarks: row.get(10)?,
        source: row.get(11)?,
        added_ms: row.get(12)?,
    })
}

fn asset_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Asset { path: path.to_path_buf(), source }
}

impl Store {
    /// Stores (or replaces) the garment of a variant; the image goes to `assets`.
    pub fn add_garment(&mut self, assets: &Path, garment: &NewGarment<'_>) -> Result<GarmentRecord> {
        let variant = variant_id(&self.conn, garment.sku)?;
        let sha = hex(&Sha256::digest(garment.png));
        let path = assets.join(format!("{sha}.png"));
        let created = !path.is_file();
        if created {
            write_atomically(assets, &path, garment.png)?;
        }
        let previous = match self.insert_garment_row(variant, &sha, garment) {
            Ok(previous) => previous,
            Err(e) => {
                if created {
                    let _ = fs::remove_file(&path);
                }
                return Err(e);
            }
        };
        if let Some(old) = previous.filter(|old| *old != sha) {
            self.remove_unused_image(assets, &old);
        }
        Ok(self.garment(garment.sku)?.expect("the row was just written"))
    }

    fn insert_garment_row(&mut self, variant: i64, sha: &str, g: &NewGarment<'_>) -> Result<Option<String>> {
        let tx = self.conn.transaction()?;
        let previous: Option<String> =
            tx.query_row("SELECT image_sha256 FROM garments WHERE variant_id = ?1", [variant], |r| r.get(0)).optional()?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        tx.execute(
            "INSERT OR REPLACE INTO garments (variant_id, kind, image_sha256, width, height, landmarks, source, added_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![variant, g.kind, sha, g.width, g.height, g.landmarks, g.source, now],
        )?;
        tx.commit()?;
        Ok(previous)
    }

    pub fn garments(&self) -> Result<Vec<GarmentRecord>> {
        let mut stmt = self.conn.prepare(&format!("{SELECT} ORDER BY p.code, v.sku"))?;
        let rows = stmt.query_map([], record)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn garment(&self, sku: &str) -> Result<Option<GarmentRecord>> {
        Ok(self.conn.query_row(&format!("{SELECT} WHERE v.sku = ?1"), [sku], record).optional()?)
    }

    /// The stored image, checked against its hash (a damaged file is an error, not a garment).
    pub fn garment_image(&self, assets: &Path, garment: &GarmentRecord) -> Result<Vec<u8>> {
        let path = garment.image_path(assets);
        let bytes = fs::read(&path).map_err(asset_err(&path))?;
        if hex(&Sha256::digest(&bytes)) != garment.image_sha256 {
            return Err(StoreError::Asset {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the file does not match its SHA-256"),
            });
        }
        Ok(bytes)
    }

    /// Removes a variant's garment; its image goes too unless another variant uses it.
    /// `false` when the variant had none.
    pub fn remove_garment(&mut self, assets: &Path, sku: &str) -> Result<bool> {
        let variant = variant_id(&self.conn, sku)?;
        let tx = self.conn.transaction()?;
        let sha: Option<String> =
            tx.query_row("SELECT image_sha256 FROM garments WHERE variant_id = ?1", [variant], |r| r.get(0)).optional()?;
        tx.execute("DELETE FROM garments WHERE variant_id = ?1", [variant])?;
        tx.commit()?;
        if let Some(sha) = &sha {
            self.remove_unused_image(assets, sha);
        }
        Ok(sha.is_some())
    }

    /// An image no row names any more is deleted; failing that, it only wastes space.
    fn remove_unused_image(&self, assets: &Path, sha: &str) {
        let used: rusqlite::Result<bool> =
            self.conn.query_row("SELECT EXISTS (SELECT 1 FROM garments WHERE image_sha256 = ?1)", [sha], |r| r.get(0));
        if let Ok(false) = used {
            let path = assets.join(format!("{sha}.png"));
            if let Err(e) = fs::remove_file(&path) {
                warn!(path = %path.display(), error = %e, "could not remove an unused garment image");
            }
        }
    }
}

/// Temporary file in the same folder, synced, then renamed over the final name.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir).map_err(asset_err(dir))?;
    let tmp = dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("asset"), std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Asset { path: path.to_path_buf(), source: e });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANDMARKS: &str = r#"{"neck_centre":{"x":1,"y":2}}"#;

    fn seeded() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        store
    }

    fn garment<'a>(sku: &'a str, png: &'a [u8]) -> NewGarment<'a> {
        NewGarment { sku, kind: "top", png, width: 10, height: 12, landmarks: LANDMARKS, source: "test.png" }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = match fs::read_dir(dir) {
            Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    #[test]
    fn add_list_replace_remove() {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join("assets/garments");
        let mut store = seeded();
        let rec = store.add_garment(&assets, &garment("VT-TEE-ORBIT-M-INK", b"png one")).unwrap();
        assert_eq!((rec.product_code.as_str(), rec.colour.as_deref(), rec.kind.as_str()), ("VT-TEE-ORBIT", Some("Ink"), "top"));
        assert_eq!(store.garment_image(&assets, &rec).unwrap(), b"png one");
        // A second variant with the same picture shares the file.
        store.add_garment(&assets, &garment("VT-TEE-ORBIT-L-INK", b"png one")).unwrap();
        assert_eq!(files(&assets), vec![format!("{}.png", rec.image_sha256)]);
        assert_eq!(store.garments().unwrap().len(), 2);
        // Replacing one keeps the shared file (the other still uses it).
        let two = store.add_garment(&assets, &garment("VT-TEE-ORBIT-M-INK", b"png two")).unwrap();
        assert_eq!(files(&assets).len(), 2);
        assert!(store.remove_garment(&assets, "VT-TEE-ORBIT-L-INK").unwrap());
        assert_eq!(files(&assets), vec![format!("{}.png", two.image_sha256)], "the unused image went with its row");
        assert!(!store.remove_garment(&assets, "VT-TEE-ORBIT-L-INK").unwrap());
        assert!(matches!(store.remove_garment(&assets, "NOPE"), Err(StoreError::UnknownVariant(_))));
    }

    #[test]
    fn a_failed_add_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join("garments");
        let mut store = seeded();
        // Unknown SKU: refused before anything is written.
        let err = store.add_garment(&assets, &garment("NOPE", b"png")).unwrap_err();
        assert!(matches!(err, StoreError::UnknownVariant(_)), "{err}");
        assert!(files(&assets).is_empty());
        // The row is refused (bad kind): the image written for it is removed again.
        let bad = NewGarment { kind: "cap", ..garment("VT-TEE-ORBIT-M-INK", b"png") };
        assert!(store.add_garment(&assets, &bad).is_err());
        assert!(files(&assets).is_empty(), "{:?}", files(&assets));
        let bad = NewGarment { landmarks: "{not json", ..garment("VT-TEE-ORBIT-M-INK", b"png") };
        assert!(store.add_garment(&assets, &bad).is_err());
        assert!(files(&assets).is_empty());
        assert!(store.garments().unwrap().is_empty());
        // The asset folder cannot be made (a file is in the way): an error naming it, no row.
        let blocked = dir.path().join("blocked");
        fs::write(&blocked, b"a file").unwrap();
        let err = store.add_garment(&blocked.join("garments"), &garment("VT-TEE-ORBIT-M-INK", b"png")).unwrap_err();
        assert!(err.to_string().contains("blocked"), "{err}");
        assert!(store.garments().unwrap().is_empty());
        // A failed replacement keeps the old garment and its image.
        let ok = store.add_garment(&assets, &garment("VT-TEE-ORBIT-M-INK", b"good")).unwrap();
        let bad = NewGarment { kind: "cap", ..garment("VT-TEE-ORBIT-M-INK", b"new") };
        assert!(store.add_garment(&assets, &bad).is_err());
        assert_eq!(store.garment("VT-TEE-ORBIT-M-INK").unwrap().unwrap(), ok);
        assert_eq!(files(&assets), vec![format!("{}.png", ok.image_sha256)]);
    }

    #[test]
    fn a_damaged_image_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = seeded();
        let rec = store.add_garment(dir.path(), &garment("VT-TEE-ORBIT-M-INK", b"png")).unwrap();
        fs::write(rec.image_path(dir.path()), b"tampered").unwrap();
        let err = store.garment_image(dir.path(), &rec).unwrap_err();
        assert!(err.to_string().contains("SHA-256"), "{err}");
    }
}
