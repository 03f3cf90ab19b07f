//! Still images: one file, or every image in a folder, shown in turn at the configured rate.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opencv::imgcodecs;
use opencv::prelude::*;
use tracing::warn;
use vitrine_frame::{CaptureTime, Frame};

use crate::{frame_from_bgr_mat, CaptureError, CaptureOptions, FrameSource};

const EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "bmp", "webp", "tif"];

pub struct ImageSource {
    root: PathBuf,
    files: Vec<PathBuf>,
    next: usize,
    interval: Duration,
    options: CaptureOptions,
    next_due: Option<Instant>,
    seq: u64,
    skipped: u64,
}

impl ImageSource {
    pub fn open(path: &Path, options: &CaptureOptions) -> Result<Self, CaptureError> {
        let no_images = |reason: String| CaptureError::NoImages { path: path.to_owned(), reason };
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| no_images(e.to_string()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
                })
                .collect();
            files.sort();
            files
        } else if path.is_file() {
            vec![path.to_owned()]
        } else {
            return Err(no_images("no such file or folder".into()));
        };
        if files.is_empty() {
            return Err(no_images(format!("the folder has no {} files", EXTENSIONS.join("/"))));
        }
        Ok(Self {
            root: path.to_owned(),
            files,
            next: 0,
            interval: Duration::from_secs_f64(1.0 / options.fps.max(1) as f64),
            options: options.clone(),
            next_due: None,
            seq: 0,
            skipped: 0,
        })
    }
}

impl FrameSource for ImageSource {
    fn describe(&self) -> String {
        format!("images {} ({} files)", self.root.display(), self.files.len())
    }

    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        if self.options.realtime {
            let now = Instant::now();
            if let Some(due) = self.next_due.filter(|d| *d > now) {
                std::thread::sleep(due - now);
            }
            self.next_due = Some(Instant::now() + self.interval);
        }
        // Try each file at most once per call; unreadable ones are skipped and counted.
        for _ in 0..self.files.len() {
            if self.next >= self.files.len() {
                if !self.options.looping {
                    return Err(CaptureError::EndOfStream);
                }
                self.next = 0;
            }
            let path = &self.files[self.next];
            self.next += 1;
            let mat = imgcodecs::imread(path, imgcodecs::IMREAD_COLOR).unwrap_or_default();
            if mat.empty() {
                warn!(path = %path.display(), "skipping an unreadable image");
                self.skipped += 1;
                continue;
            }
            self.seq += 1;
            return Ok(frame_from_bgr_mat(&mat)?.with_meta(self.seq, CaptureTime::now()));
        }
        if !self.options.looping && self.next >= self.files.len() {
            return Err(CaptureError::EndOfStream);
        }
        Err(CaptureError::NoImages { path: self.root.clone(), reason: "none of the files could be decoded".into() })
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path) {
        let mat = opencv::core::Mat::new_rows_cols_with_default(4, 6, opencv::core::CV_8UC3, opencv::core::Scalar::all(90.0)).unwrap();
        imgcodecs::imwrite(path, &mat, &opencv::core::Vector::new()).unwrap();
    }

    #[test]
    fn folder_skips_corrupt_files_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("a.png"));
        std::fs::write(dir.path().join("b.jpg"), b"\xff\xd8 truncated").unwrap();
        write_png(&dir.path().join("c.png"));
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let opts = CaptureOptions { realtime: false, ..Default::default() };
        let mut src = ImageSource::open(dir.path(), &opts).unwrap();
        assert!(src.describe().contains("3 files"));
        for _ in 0..4 {
            let f = src.next_frame().unwrap();
            assert_eq!((f.width(), f.height()), (6, 4));
        }
        assert_eq!(src.skipped(), 2, "b.jpg is skipped on each pass");
    }

    #[test]
    fn empty_or_all_corrupt_folders_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(ImageSource::open(dir.path(), &CaptureOptions::default()), Err(CaptureError::NoImages { .. })));
        std::fs::write(dir.path().join("x.png"), b"not png").unwrap();
        let opts = CaptureOptions { realtime: false, ..Default::default() };
        let mut src = ImageSource::open(dir.path(), &opts).unwrap();
        let err = src.next_frame().unwrap_err();
        assert!(err.to_string().contains("could be decoded"), "{err}");
    }
}
