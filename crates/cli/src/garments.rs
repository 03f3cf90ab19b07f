//! `vitrine garments`: the garments shoppers can try on, one per catalog variant.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use vitrine_app::App;
use vitrine_config::Config;
use vitrine_garment::GarmentKind;

#[derive(Subcommand)]
pub enum Garments {
    /// Cut a garment out of a product photo (transparent PNG, or the garment on a plain
    /// background) and keep it with a variant. Caps, hats and accessories are refused.
    Add {
        photo: PathBuf,
        #[arg(long)]
        sku: String,
        /// top, outerwear or dress
        #[arg(long, default_value = "top")]
        kind: String,
    },
    /// Every garment with its variant.
    List,
    /// Forget a variant's garment (its image goes too unless another variant shares it).
    Remove { sku: String },
}

pub fn run(config: Config, which: Garments) -> Result<()> {
    let app = App::start(config);
    match which {
        Garments::Add { photo, sku, kind } => {
            let kind: GarmentKind = kind.parse()?;
            let bytes = std::fs::read(&photo).with_context(|| format!("reading {}", photo.display()))?;
            let name = photo.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let record = app.add_garment(&bytes, &name, &sku, kind).with_context(|| format!("{} refused", photo.display()))?;
            println!(
                "{}: {} {} ({}×{} px, image {}…)",
                record.sku,
                record.kind,
                record.product_name,
                record.width,
                record.height,
                &record.image_sha256[..12]
            );
        }
        Garments::List => {
            let store = app.store().map_err(|e| anyhow::anyhow!("store unavailable: {e}"))?;
            let garments = store.lock().unwrap_or_else(|e| e.into_inner()).garments()?;
            println!("{:<22} {:<10} {:<26} {:>9}  source", "sku", "kind", "product", "size px");
            for g in &garments {
                println!("{:<22} {:<10} {:<26} {:>9}  {}", g.sku, g.kind, g.product_name, format!("{}x{}", g.width, g.height), g.source);
            }
            println!("{} garments", garments.len());
        }
        Garments::Remove { sku } => {
            if !app.remove_garment(&sku)? {
                bail!("{sku} has no garment");
            }
            println!("removed the garment of {sku}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.inference.models_dir = dir.join("no-models");
        config
    }

    /// Real packshots through the command: the tee is kept, the cap is refused and leaves
    /// no file behind.
    #[test]
    fn add_list_remove_with_real_packshots() {
        let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/media/garments");
        if !shots.is_dir() {
            return eprintln!("shared packshots missing; skipped");
        }
        let dir = tempfile::tempdir().unwrap();
        let add = |photo: &str, sku: &str| {
            run(config(dir.path()), Garments::Add { photo: shots.join(photo), sku: sku.into(), kind: "top".into() })
        };
        add("solidus_dark_tee.png", "VT-TEE-ORBIT-S-INK").unwrap();
        let assets = dir.path().join("assets/garments");
        let files = std::fs::read_dir(&assets).unwrap().count();
        let err = add("solidus_cap_red_1.png", "VT-TEE-ORBIT-S-CHK").unwrap_err();
        assert!(format!("{err:#}").contains("cap, hat"), "{err:#}");
        assert_eq!(std::fs::read_dir(&assets).unwrap().count(), files);
        run(config(dir.path()), Garments::List).unwrap();
        run(config(dir.path()), Garments::Remove { sku: "VT-TEE-ORBIT-S-INK".into() }).unwrap();
        assert!(run(config(dir.path()), Garments::Remove { sku: "VT-TEE-ORBIT-S-INK".into() }).is_err());
    }
}
