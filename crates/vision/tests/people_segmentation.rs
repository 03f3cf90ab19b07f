//! The real segmentation models on real photos of people (../shared/data/media/people):
//! the mask must cover the person and leave the background. Regions were picked by looking
//! at each photo; they are fractions of the width and height (x0, y0, x1, y1).

use std::path::{Path, PathBuf};

use vitrine_infer::{Registry, Runtime, RuntimeOptions};
use vitrine_vision::PersonSegmenter;

type Region = (f32, f32, f32, f32);

/// (file, a region that is all person, regions that are all background)
const PHOTOS: &[(&str, Region, &[Region])] = &[
    ("intel_asl_again_frame.jpg", (0.40, 0.40, 0.60, 0.80), &[(0.0, 0.0, 0.12, 0.12), (0.80, 0.0, 1.0, 0.15)]),
    ("intel_asl_bird_frame.jpg", (0.42, 0.45, 0.58, 0.80), &[(0.0, 0.0, 0.12, 0.12), (0.80, 0.0, 1.0, 0.15)]),
    ("intel_asl_book_frame.jpg", (0.42, 0.45, 0.58, 0.80), &[(0.0, 0.0, 0.12, 0.12), (0.80, 0.0, 1.0, 0.15)]),
    ("intel_asl_hungry_frame.jpg", (0.42, 0.45, 0.58, 0.80), &[(0.0, 0.0, 0.12, 0.12), (0.80, 0.0, 1.0, 0.15)]),
    ("intel_head-pose-male_frame.jpg", (0.40, 0.70, 0.60, 0.95), &[(0.0, 0.0, 0.15, 0.20), (0.85, 0.0, 1.0, 0.20)]),
    ("skimage_astronaut.png", (0.30, 0.40, 0.60, 0.80), &[(0.85, 0.0, 1.0, 0.15)]),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn masks_cover_people_and_not_backgrounds() {
    let people = root().join("../shared/data/media/people");
    if !people.is_dir() {
        eprintln!("{} missing; skipped", people.display());
        return;
    }
    let runtime = Runtime::init(&RuntimeOptions::default()).expect("ONNX Runtime (run scripts/setup.sh)");
    let registry = Registry::load(&runtime, &root().join("models"));
    for model in ["selfie_segmentation", "selfie_segmentation_landscape"] {
        let mut seg = PersonSegmenter::new(&registry, model).unwrap();
        for (file, person, backgrounds) in PHOTOS {
            let mat = opencv::imgcodecs::imread(&people.join(file), opencv::imgcodecs::IMREAD_COLOR).unwrap();
            let frame = vitrine_capture::frame_from_bgr_mat(&mat).unwrap();
            let mask = seg.segment(&frame).unwrap();
            let on_person = mask.coverage(person.0, person.1, person.2, person.3);
            assert!(on_person > 0.9, "{model} on {file}: person region only {on_person:.2} covered");
            for bg in *backgrounds {
                let on_bg = mask.coverage(bg.0, bg.1, bg.2, bg.3);
                assert!(on_bg < 0.10, "{model} on {file}: background {bg:?} {on_bg:.2} covered");
            }
            let (x0, _, x1, _) = mask.bounding_box().expect("a person");
            assert!(x0 < 0.5 && x1 > 0.5, "{model} on {file}: the person is centred");
        }
    }
}
