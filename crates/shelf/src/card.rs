//! Shelf-edge label boxes snapped to the card they are printed on. The detector finds a label
//! from the peak of its centre heatmap, and on a long label that peak often sits off-centre,
//! so the box can miss a third of the card: the barcode falls outside what is read, and the
//! slot boundary moves under the neighbouring product. A label card is brighter than the rail
//! around it, so its true left and right edges are where the bright columns end.

/// A greyscale image borrowed as rows of bytes.
#[derive(Debug, Clone, Copy)]
pub struct GrayView<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes from one row to the next.
    pub stride: usize,
}

impl GrayView<'_> {
    fn at(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.stride + x]
    }
}

/// The label box `[x1, y1, x2, y2]` with its left and right edges moved to the edges of the
/// bright card around its centre. The box comes back unchanged when the card does not stand
/// out from its surroundings, or when the snapped width is implausible (less than 0.6 or more
/// than 1.7 times the detected one: two touching cards, or a white wall).
pub fn snap_to_card(gray: &GrayView<'_>, bbox: [f32; 4]) -> [f32; 4] {
    let (w, h) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    if w < 4.0 || h < 4.0 || gray.width == 0 || gray.height == 0 {
        return bbox;
    }
    let clamp_x = |x: f32| (x.max(0.0) as usize).min(gray.width - 1);
    let clamp_y = |y: f32| (y.max(0.0) as usize).min(gray.height - 1);
    // The middle of the card's height: clear of a coloured top strip and of the rail's edge.
    let (y0, y1) = (clamp_y(bbox[1] + 0.15 * h), clamp_y(bbox[3] - 0.15 * h));
    let (from, to) = (clamp_x(bbox[0] - 0.6 * w), clamp_x(bbox[2] + 0.6 * w));
    let (inside_from, inside_to) = (clamp_x(bbox[0]), clamp_x(bbox[2]));
    if y1 <= y0 || to <= from || inside_to <= inside_from {
        return bbox;
    }

    // Bright enough to be card: halfway between the card's paper (the 90th percentile inside
    // the box) and the surroundings (the median of the columns searched outside it).
    let mut inside: Vec<u8> = Vec::new();
    let mut outside: Vec<u8> = Vec::new();
    for y in y0..=y1 {
        for x in from..=to {
            if (inside_from..=inside_to).contains(&x) {
                inside.push(gray.at(x, y));
            } else {
                outside.push(gray.at(x, y));
            }
        }
    }
    if outside.is_empty() {
        return bbox;
    }
    inside.sort_unstable();
    outside.sort_unstable();
    let paper = inside[inside.len() * 9 / 10] as f32;
    let around = outside[outside.len() / 2] as f32;
    if paper - around < 40.0 {
        return bbox;
    }
    let threshold = (paper + around) / 2.0;

    // A column is card when a fair share of it is paper; bars of a barcode are dark over most
    // of the card's height but never wider than a few modules, so short dark runs are bridged.
    let rows = (y1 - y0 + 1) as f32;
    let is_card: Vec<bool> = (from..=to)
        .map(|x| {
            (y0..=y1)
                .filter(|&y| gray.at(x, y) as f32 > threshold)
                .count() as f32
                / rows
                >= 0.3
        })
        .collect();
    let max_gap = ((0.08 * w) as usize).max(3);
    let centre = ((bbox[0] + bbox[2]) / 2.0) as usize;
    let Some(start) = (inside_from..=inside_to)
        .filter(|&x| is_card[x - from])
        .min_by_key(|&x| x.abs_diff(centre))
    else {
        return bbox;
    };
    let edge = |step: isize| {
        let (mut x, mut last_card, mut gap) = (start as isize, start, 0);
        while gap <= max_gap {
            x += step;
            if x < from as isize || x > to as isize {
                break;
            }
            if is_card[x as usize - from] {
                last_card = x as usize;
                gap = 0;
            } else {
                gap += 1;
            }
        }
        last_card
    };
    let (left, right) = (edge(-1) as f32, edge(1) as f32 + 1.0);
    let snapped_w = right - left;
    if snapped_w < 0.6 * w || snapped_w > 1.7 * w {
        return bbox;
    }
    [left, bbox[1], right, bbox[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey rail with a white card at x 100..300 carrying a dark top strip and barcode bars.
    fn rail_with_card() -> (Vec<u8>, usize, usize) {
        let (w, h) = (480, 60);
        let mut px = vec![110u8; w * h];
        for y in 10..50 {
            for x in 100..300 {
                let bar = (110..200).contains(&x) && (16..44).contains(&y) && (x / 3) % 2 == 0;
                let strip = y < 14;
                px[y * w + x] = if bar || strip { 30 } else { 235 };
            }
        }
        (px, w, h)
    }

    fn view(pixels: &[u8], width: usize, height: usize) -> GrayView<'_> {
        GrayView { pixels, width, height, stride: width }
    }

    #[test]
    fn an_off_centre_box_snaps_to_its_card() {
        let (px, w, h) = rail_with_card();
        let gray = view(&px, w, h);
        // The detector saw the right two thirds of the card and some rail.
        assert_eq!(snap_to_card(&gray, [170.0, 10.0, 330.0, 50.0]), [100.0, 10.0, 300.0, 50.0]);
        // A box already on the card stays where it is.
        assert_eq!(snap_to_card(&gray, [100.0, 10.0, 300.0, 50.0]), [100.0, 10.0, 300.0, 50.0]);
    }

    #[test]
    fn no_contrast_or_an_implausible_card_leaves_the_box() {
        let flat = vec![200u8; 480 * 60];
        assert_eq!(snap_to_card(&view(&flat, 480, 60), [170.0, 10.0, 330.0, 50.0]), [170.0, 10.0, 330.0, 50.0]);
        let (px, w, h) = rail_with_card();
        let gray = view(&px, w, h);
        // A box a quarter of the card's width: the card would be 4x as wide, so it stays.
        assert_eq!(snap_to_card(&gray, [240.0, 10.0, 290.0, 50.0]), [240.0, 10.0, 290.0, 50.0]);
        // Off the edge of the image: no panic.
        assert_eq!(snap_to_card(&gray, [470.0, 55.0, 520.0, 80.0]), [470.0, 55.0, 520.0, 80.0]);
    }
}
