//! Shelf structure from detections alone: shelf rows from the shelf-edge labels, and
//! label-anchored slots. A label sits at the left end of its run of facings (as on the
//! synthetic shelves and most real ones), so a slot spans from its label to the next label
//! on the same shelf; the products and gaps above that span belong to it.

use crate::detect::{Detection, DetectionClass};

/// Detections (by index) grouped into rows, top to bottom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub rows: Vec<RowLayout>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowLayout {
    /// False for products below the last label line, or a shelf photo without labels.
    pub labelled: bool,
    pub slots: Vec<SlotLayout>,
    /// Median label width (px) on this row, for a cm scale.
    pub label_width_px: Option<f32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlotLayout {
    /// The label that anchors the slot; `None` for products left of a row's first label.
    pub label: Option<usize>,
    /// Horizontal extent `[from, to)` in frame pixels.
    pub span: [f32; 2],
    pub products: Vec<usize>,
    pub gaps: Vec<usize>,
}

pub(crate) fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

/// Least-squares line `y = a + b x` through the boxes' (centre x, `y_of` box), its slope
/// clamped to `±max_slope` (a bad fit on a few boxes must not tilt a shelf).
pub(crate) fn fit_line<'a>(boxes: &[&'a Detection], y_of: impl Fn(&'a Detection) -> f32, max_slope: f32) -> (f32, f32) {
    let n = boxes.len() as f32;
    let mx = boxes.iter().map(|d| d.centre_x()).sum::<f32>() / n;
    let my = boxes.iter().map(|&d| y_of(d)).sum::<f32>() / n;
    let sxx: f32 = boxes.iter().map(|d| (d.centre_x() - mx).powi(2)).sum();
    let sxy: f32 = boxes.iter().map(|&d| (d.centre_x() - mx) * (y_of(d) - my)).sum();
    let b = if sxx > 1.0 { (sxy / sxx).clamp(-max_slope, max_slope) } else { 0.0 };
    (my - b * mx, b)
}

/// The labels' line through their (centre x, top y). A shelf is never steeper than 1 in 2
/// in a usable photo.
fn label_line(labels: &[&Detection]) -> (f32, f32) {
    fit_line(labels, |d| d.bbox[1], 0.5)
}

/// Groups detections into rows and slots. `frame_width` bounds the last slot.
pub fn layout(dets: &[Detection], frame_width: f32) -> Layout {
    let of = |class| dets.iter().enumerate().filter(move |(_, d)| d.class == class).map(|(i, _)| i);
    let labels: Vec<usize> = of(DetectionClass::ShelfLabel).collect();
    let stock: Vec<usize> = of(DetectionClass::Product).chain(of(DetectionClass::Gap)).collect();
    if labels.is_empty() {
        return unlabelled_rows(dets, &stock, frame_width);
    }
    let label_h = median(labels.iter().map(|&i| dets[i].height()).collect()).unwrap_or(1.0).max(1.0);

    // Rows: labels sorted by height, split where the next label is clearly lower.
    let mut by_y = labels.clone();
    by_y.sort_by(|&a, &b| (dets[a].bbox[1] + dets[a].bbox[3]).total_cmp(&(dets[b].bbox[1] + dets[b].bbox[3])));
    let mut label_rows: Vec<Vec<usize>> = Vec::new();
    let mut last_y = f32::NEG_INFINITY;
    for i in by_y {
        let y = (dets[i].bbox[1] + dets[i].bbox[3]) / 2.0;
        if y - last_y > 2.5 * label_h || label_rows.is_empty() {
            label_rows.push(Vec::new());
        }
        label_rows.last_mut().unwrap().push(i);
        last_y = y;
    }
    let lines: Vec<(f32, f32)> = label_rows.iter().map(|r| label_line(&r.iter().map(|&i| &dets[i]).collect::<Vec<_>>())).collect();

    // Each product or gap belongs to the first label line at or below its bottom edge.
    let tolerance = label_h;
    let mut row_stock: Vec<Vec<usize>> = vec![Vec::new(); label_rows.len()];
    let mut below_last = Vec::new();
    for &i in &stock {
        let d = &dets[i];
        let x = d.centre_x();
        match lines.iter().position(|(a, b)| d.bbox[3] <= a + b * x + tolerance) {
            Some(r) => row_stock[r].push(i),
            None => below_last.push(i),
        }
    }

    let margin = label_h / 2.0;
    let mut rows: Vec<RowLayout> = label_rows
        .into_iter()
        .zip(row_stock)
        .map(|(mut row_labels, stock)| {
            row_labels.sort_by(|&a, &b| dets[a].bbox[0].total_cmp(&dets[b].bbox[0]));
            let starts: Vec<f32> = row_labels.iter().map(|&i| dets[i].bbox[0] - margin).collect();
            let mut slots = Vec::new();
            if starts[0] > 0.0 {
                slots.push(SlotLayout { label: None, span: [0.0, starts[0]], ..Default::default() });
            }
            for (k, &label) in row_labels.iter().enumerate() {
                let to = starts.get(k + 1).copied().unwrap_or(frame_width);
                slots.push(SlotLayout { label: Some(label), span: [starts[k].max(0.0), to], ..Default::default() });
            }
            distribute(dets, &stock, &mut slots);
            // The leading unlabelled slot only matters when something stands in it.
            slots.retain(|s| s.label.is_some() || !s.products.is_empty() || !s.gaps.is_empty());
            let label_width_px = median(row_labels.iter().map(|&i| dets[i].width()).collect());
            RowLayout { labelled: true, slots, label_width_px }
        })
        .collect();
    if !below_last.is_empty() {
        rows.extend(unlabelled_rows(dets, &below_last, frame_width).rows);
    }
    Layout { rows }
}

fn distribute(dets: &[Detection], stock: &[usize], slots: &mut [SlotLayout]) {
    for &i in stock {
        let x = dets[i].centre_x();
        let slot = slots.iter().position(|s| x >= s.span[0] && x < s.span[1]).unwrap_or(if x < slots[0].span[0] { 0 } else { slots.len() - 1 });
        if dets[i].class == DetectionClass::Gap {
            slots[slot].gaps.push(i);
        } else {
            slots[slot].products.push(i);
        }
    }
    for slot in slots.iter_mut() {
        slot.products.sort_by(|&a, &b| dets[a].bbox[0].total_cmp(&dets[b].bbox[0]));
        slot.gaps.sort_by(|&a, &b| dets[a].bbox[0].total_cmp(&dets[b].bbox[0]));
    }
}

/// Without labels: rows by the products' bottom edges, one slot per row.
fn unlabelled_rows(dets: &[Detection], stock: &[usize], frame_width: f32) -> Layout {
    let Some(item_h) = median(stock.iter().map(|&i| dets[i].height()).collect()) else {
        return Layout::default();
    };
    let mut by_bottom = stock.to_vec();
    by_bottom.sort_by(|&a, &b| dets[a].bbox[3].total_cmp(&dets[b].bbox[3]));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut last = f32::NEG_INFINITY;
    for i in by_bottom {
        if dets[i].bbox[3] - last > item_h / 2.0 || groups.is_empty() {
            groups.push(Vec::new());
        }
        groups.last_mut().unwrap().push(i);
        last = dets[i].bbox[3];
    }
    let rows = groups
        .into_iter()
        .map(|group| {
            let mut slots = vec![SlotLayout { label: None, span: [0.0, frame_width], ..Default::default() }];
            distribute(dets, &group, &mut slots);
            RowLayout { labelled: false, slots, label_width_px: None }
        })
        .collect();
    Layout { rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class: DetectionClass, bbox: [f32; 4]) -> Detection {
        Detection { class, bbox, score: 0.9 }
    }
    use DetectionClass::{Gap, Product, ShelfLabel};

    /// Two slanted shelves: three products over the first label, a gap over the second, one
    /// product standing left of every label, and a product on the floor below the last shelf.
    #[test]
    fn rows_and_label_anchored_slots() {
        let dets = vec![
            det(ShelfLabel, [100.0, 100.0, 160.0, 114.0]),
            det(ShelfLabel, [300.0, 108.0, 360.0, 122.0]),
            det(Product, [102.0, 40.0, 150.0, 99.0]),
            det(Product, [150.0, 41.0, 198.0, 100.0]),
            det(Product, [198.0, 42.0, 246.0, 101.0]),
            det(Gap, [305.0, 50.0, 400.0, 107.0]),
            det(Product, [10.0, 40.0, 60.0, 98.0]),
            det(ShelfLabel, [120.0, 250.0, 180.0, 264.0]),
            det(Product, [125.0, 180.0, 170.0, 249.0]),
            det(Product, [200.0, 300.0, 260.0, 380.0]),
        ];
        let layout = layout(&dets, 512.0);
        assert_eq!(layout.rows.len(), 3);
        let top = &layout.rows[0];
        assert!(top.labelled);
        assert_eq!(top.slots.len(), 3, "{top:?}");
        assert_eq!((top.slots[0].label, &top.slots[0].products), (None, &vec![6]));
        assert_eq!((top.slots[1].label, &top.slots[1].products), (Some(0), &vec![2, 3, 4]));
        assert_eq!((top.slots[2].label, top.slots[2].products.len(), &top.slots[2].gaps), (Some(1), 0, &vec![5]));
        assert_eq!(top.label_width_px, Some(60.0));
        assert_eq!(layout.rows[1].slots[0].products, vec![8]);
        assert!(!layout.rows[2].labelled);
        assert_eq!(layout.rows[2].slots[0].products, vec![9]);
    }

    #[test]
    fn without_labels_rows_come_from_product_bottoms() {
        let dets = vec![
            det(Product, [0.0, 0.0, 40.0, 60.0]),
            det(Product, [50.0, 2.0, 90.0, 62.0]),
            det(Product, [0.0, 100.0, 40.0, 160.0]),
        ];
        let layout = layout(&dets, 100.0);
        assert_eq!(layout.rows.len(), 2);
        assert_eq!(layout.rows[0].slots[0].products, vec![0, 1]);
        assert!(layout.rows.iter().all(|r| !r.labelled));
        assert_eq!(super::layout(&[], 100.0), Layout::default());
    }
}
