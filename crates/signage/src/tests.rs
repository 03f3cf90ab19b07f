use super::*;

fn facts(sizes: &[&str]) -> PosterFacts {
    PosterFacts {
        sku: "VT-HOOD-DRIFT-M-COL".into(),
        product_code: "VT-HOOD-DRIFT".into(),
        product_name: "Drift Hoodie".into(),
        price_cents: 5400,
        sizes_in_stock: sizes.iter().map(|s| s.to_string()).collect(),
        location: Some("A1/B2/S1".into()),
        reason: Reason::Overstock { days_of_cover: 84.0 },
        qr_payload: "https://shop.example/p/VT-HOOD-DRIFT".into(),
        promotion: None,
    }
}

#[test]
fn contrast_follows_wcag() {
    assert!((contrast_ratio(Rgb(0, 0, 0), Rgb(255, 255, 255)) - 21.0).abs() < 1e-9);
    assert!((contrast_ratio(Rgb(119, 119, 119), Rgb(255, 255, 255)) - 4.48).abs() < 0.01);
    assert_eq!(contrast_ratio(Rgb(10, 20, 30), Rgb(10, 20, 30)), 1.0);
}

#[test]
fn every_design_and_format_renders_readable_fitting_text_and_lists_its_facts() {
    let renderer = Renderer::new(None).unwrap();
    // A two-line name and four sizes: the tallest text stack of the demo.
    let mut f = facts(&["XS", "S", "M", "L"]);
    f.product_name = "Lumen Wrap Dress".into();
    f.price_cents = 6900;
    // A cut-out photo, so the price joins the text stack instead of a medallion.
    let mut photo = resvg::tiny_skia::Pixmap::new(200, 300).unwrap();
    let mut paint = resvg::tiny_skia::Paint::default();
    paint.set_color_rgba8(40, 40, 120, 255);
    photo.fill_rect(resvg::tiny_skia::Rect::from_xywh(30.0, 20.0, 140.0, 260.0).unwrap(), &paint, resvg::tiny_skia::Transform::identity(), None);
    let png = photo.encode_png().unwrap();
    for format in Format::ALL {
        let ranked = ranked_designs(&renderer, &f, &f.reason.template_copy(&f.product_name), Some(&png), format, 1.0).unwrap();
        assert_eq!(ranked.len(), Design::ALL.len());
        for (poster, rendered, _) in &ranked {
            assert_eq!(poster.overflow(), 0, "{:?} {format:?}: {:?}", poster.design, poster.texts);
            assert!(rendered.min_contrast >= 4.5, "{:?} {format:?}: contrast {}", poster.design, rendered.min_contrast);
            assert!(rendered.png.starts_with(b"\x89PNG"));
            assert!(poster.svg.contains("69.00") && poster.svg.contains("Aisle 1 · Bay 2 · Shelf 1"));
            assert!(poster.facts.contains(&Fact::Price { sku: f.sku.clone(), cents: 6900 }));
            assert_eq!(poster.facts.iter().filter(|x| matches!(x, Fact::SizeInStock { .. })).count(), 4);
        }
    }
}

#[test]
fn a_name_too_long_for_any_size_is_overflow_not_cut() {
    let renderer = Renderer::new(None).unwrap();
    let mut f = facts(&[]);
    f.product_name = "Extraordinarily-long-product-name-without-any-spaces-that-cannot-wrap-anywhere-at-all".into();
    let poster = compose(&renderer.fonts, &f, "copy", None, Design::Stripes, Format::Portrait).unwrap();
    assert!(poster.overflow() >= 1);
    let (best, _, score) = &ranked_designs(&renderer, &f, "copy", None, Format::Portrait, 0.5).unwrap()[0];
    assert!(best.overflow() > 0 && *score < 0.0, "an overflowing poster ranks below any that fits");
}

#[test]
fn a_pdf_is_a_pdf_at_the_print_size() {
    let renderer = Renderer::new(None).unwrap();
    let f = facts(&["M"]);
    let poster = compose(&renderer.fonts, &f, "copy", None, Design::Confetti, Format::A4).unwrap();
    let pdf = renderer.render_pdf(&poster).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // 210 × 297 mm is 595 × 842 pt.
    let text = String::from_utf8_lossy(&pdf);
    let media = text.split("/MediaBox").nth(1).and_then(|t| t.split(']').next()).unwrap_or_default().to_owned();
    let numbers: Vec<f64> = media.trim().trim_start_matches('[').split_whitespace().filter_map(|n| n.parse().ok()).collect();
    assert!(numbers.len() == 4 && (numbers[2] - 595.3).abs() < 1.0 && (numbers[3] - 841.9).abs() < 1.0, "media box {media:?}");
}

#[test]
fn a_missing_font_folder_says_what_to_install() {
    let err = Renderer::new(Some(Path::new("/nonexistent"))).err().unwrap();
    assert!(err.to_string().contains("fonts-dejavu-core"), "{err}");
}

#[test]
fn a_promotion_shows_its_price_the_usual_one_and_its_last_day() {
    assert_eq!(day_text(20_436), "14 Dec", "2025-12-14");
    assert_eq!(day_text(0), "1 Jan");
    let renderer = Renderer::new(None).unwrap();
    let mut f = facts(&["M"]);
    f.promotion = Some(PromotionFacts { percent_off: 20, price_cents: 4320, ends_day: 20_436 });
    f.reason = Reason::Promotion { percent_off: 20, ends_day: 20_436 };
    for design in Design::ALL {
        let poster = compose(&renderer.fonts, &f, &f.reason.template_copy(&f.product_name), None, design, Format::Portrait).unwrap();
        assert!(poster.svg.contains("43.20") && !poster.svg.contains(">54.00<"), "{design:?}: the promotion's price is the big one");
        let line = poster.texts.iter().find(|t| t.role == "promotion").expect("a promotion line");
        assert_eq!(line.text, "20 % off until 14 Dec · usually 54.00");
        assert!(poster.facts.contains(&Fact::Promotion { sku: f.sku.clone(), cents: 4320, percent_off: 20, ends_day: 20_436 }));
        assert_eq!(poster.overflow(), 0);
    }
}
