//! Which person to dress: connected parts of the person mask, the most central large one;
//! people standing shoulder to shoulder, whose masks join, apart by the dips between heads.

use std::collections::VecDeque;

use vitrine_vision::PersonMask;

/// A part counts as a person when it has at least this share of the largest part...
const MIN_SHARE_OF_LARGEST: f32 = 0.3;
/// ...and of the whole mask image.
const MIN_FRACTION: f32 = 0.015;

/// The chosen person's mask (others zeroed) and how many people were seen.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub mask: PersonMask,
    pub people: usize,
}

/// `None` when nobody is in view.
pub fn choose_person(mask: &PersonMask) -> Option<Chosen> {
    let (w, h) = (mask.width, mask.height);
    let mut label = vec![0u32; w * h];
    let mut parts: Vec<(usize, f64)> = Vec::new(); // (area, sum of x)
    let mut queue = VecDeque::new();
    for start in 0..w * h {
        if mask.data[start] <= 0.5 || label[start] != 0 {
            continue;
        }
        let id = parts.len() as u32 + 1;
        label[start] = id;
        queue.push_back(start);
        let (mut area, mut sum_x) = (0usize, 0f64);
        while let Some(i) = queue.pop_front() {
            let (x, y) = (i % w, i / w);
            area += 1;
            sum_x += x as f64;
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask.data[j] > 0.5 && label[j] == 0 {
                        label[j] = id;
                        queue.push_back(j);
                    }
                }
            }
        }
        parts.push((area, sum_x));
    }
    let largest = parts.iter().map(|p| p.0).max()? as f32;
    let people: Vec<(usize, f32)> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.0 as f32 >= MIN_SHARE_OF_LARGEST * largest && p.0 as f32 >= MIN_FRACTION * (w * h) as f32)
        .map(|(i, p)| (i + 1, (p.1 / p.0 as f64) as f32 / w as f32))
        .collect();
    let &(chosen, _) = people.iter().min_by(|a, b| (a.1 - 0.5).abs().total_cmp(&(b.1 - 0.5).abs()))?;
    // Everything of the others goes; soft pixels (≤ 0.5, unlabelled) stay, they only feather.
    let data = mask.data.iter().zip(&label).map(|(&p, &l)| if l == chosen as u32 || l == 0 { p } else { 0.0 }).collect();
    Some(Chosen { mask: PersonMask { width: w, height: h, data }, people: people.len() })
}

/// A dip in the column profile counts as the gap between two people when it is at most this
/// share of the lower of the two peaks beside it (heads stand well above joined shoulders)...
const MAX_DIP: f32 = 0.7;
/// ...and each side is at least this wide for its height (a raised hand or arm is narrower).
const MIN_WIDTH_TO_HEIGHT: f32 = 0.25;

/// Splits a chosen person whose mask may hold several people side by side (shoulders touching
/// join their masks): the mask's columns are cut at deep dips of its per-column height, and
/// the most central band is kept. `None` when the mask does not split. Meant as a second try
/// when the pose of the whole mask fails: cutting by columns is rough where people overlap.
pub fn separate_joined(chosen: &Chosen) -> Option<Chosen> {
    let mask = &chosen.mask;
    let w = mask.width;
    let mut heights = vec![0f32; w];
    for (i, &p) in mask.data.iter().enumerate() {
        if p > 0.5 {
            heights[i % w] += 1.0;
        }
    }
    // Smoothed, so a strand of hair or a jagged edge makes no dip.
    let k = (w / 60).max(1);
    let smooth: Vec<f32> = (0..w)
        .map(|x| {
            let (a, b) = (x.saturating_sub(k), (x + k + 1).min(w));
            heights[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect();
    let (first, last) = (smooth.iter().position(|&c| c > 0.0)?, smooth.iter().rposition(|&c| c > 0.0)?);
    let mut cuts = Vec::new();
    split_columns(&smooth, first, last + 1, &mut cuts);
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_unstable();
    let mut bounds = vec![first];
    bounds.extend(&cuts);
    bounds.push(last + 1);
    let bands: Vec<(usize, usize)> = bounds.windows(2).map(|b| (b[0], b[1])).collect();
    let centre = |&(a, b): &(usize, usize)| {
        let area: f32 = heights[a..b].iter().sum();
        let sum_x: f32 = (a..b).map(|x| heights[x] * x as f32).sum();
        (sum_x / area.max(1.0) / w as f32 - 0.5).abs()
    };
    let &(a, b) = bands.iter().min_by(|p, q| centre(p).total_cmp(&centre(q)))?;
    let data = mask.data.iter().enumerate().map(|(i, &p)| if (a..b).contains(&(i % w)) { p } else { 0.0 }).collect();
    Some(Chosen { mask: PersonMask { width: w, height: mask.height, data }, people: chosen.people + bands.len() - 1 })
}

/// Finds the deepest qualifying dip in `c[a..b]`, records it, and looks on either side.
fn split_columns(c: &[f32], a: usize, b: usize, cuts: &mut Vec<usize>) {
    let peak = |from: usize, to: usize| c[from..to].iter().copied().fold(0.0, f32::max);
    let mut best: Option<(f32, usize)> = None;
    for x in a + 1..b.saturating_sub(1) {
        let (left, right) = (peak(a, x), peak(x, b));
        let dip = c[x] / left.min(right).max(1.0);
        let wide = |from: usize, to: usize, top: f32| (to - from) as f32 >= MIN_WIDTH_TO_HEIGHT * top;
        if dip <= MAX_DIP && wide(a, x, left) && wide(x, b, right) && best.is_none_or(|(d, _)| dip < d) {
            best = Some((dip, x));
        }
    }
    if let Some((_, x)) = best {
        cuts.push(x);
        split_columns(c, a, x, cuts);
        split_columns(c, x, b, cuts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(w: usize, h: usize, rects: &[(usize, usize, usize, usize)]) -> PersonMask {
        let mut data = vec![0.0; w * h];
        for &(x0, y0, x1, y1) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    data[y * w + x] = 1.0;
                }
            }
        }
        PersonMask { width: w, height: h, data }
    }

    #[test]
    fn the_most_central_large_person_is_chosen() {
        // Three people: a big one on the left, a big one near the centre, a small speck centre-right.
        let mask = blobs(100, 50, &[(2, 5, 25, 50), (40, 10, 58, 50), (60, 40, 62, 42)]);
        let chosen = choose_person(&mask).unwrap();
        assert_eq!(chosen.people, 2);
        assert_eq!(chosen.mask.data[20 * 100 + 50], 1.0);
        assert_eq!(chosen.mask.data[20 * 100 + 10], 0.0, "the other person is removed");
    }

    /// Three people whose masks join at the shoulders: heads above, one body below.
    #[test]
    fn joined_people_are_told_apart_by_the_dips_between_heads() {
        let (w, h) = (120, 60);
        let mut rects = vec![(5, 25, 115, 60)];
        for head in [(14, 5, 30, 25), (52, 2, 68, 25), (90, 8, 106, 25)] {
            rects.push(head);
        }
        let chosen = choose_person(&blobs(w, h, &rects)).unwrap();
        assert_eq!(chosen.people, 1, "one joined part");
        let split = separate_joined(&chosen).expect("it splits");
        assert_eq!(split.people, 3);
        let (x0, _, x1, _) = split.mask.bounding_box().unwrap();
        assert!(x0 > 0.2 && x1 < 0.8 && x0 < 0.5 && x1 > 0.5, "the middle one: {x0}..{x1}");
    }

    /// One person with a raised arm beside the head, or arms out: not split.
    #[test]
    fn one_person_with_raised_or_spread_arms_stays_whole() {
        let raised = blobs(100, 80, &[(30, 30, 70, 80), (42, 10, 58, 30), (64, 0, 70, 30)]);
        assert!(separate_joined(&choose_person(&raised).unwrap()).is_none());
        let spread = blobs(100, 80, &[(35, 25, 65, 80), (43, 8, 57, 25), (2, 28, 35, 33), (65, 28, 98, 33)]);
        assert!(separate_joined(&choose_person(&spread).unwrap()).is_none());
    }

    #[test]
    fn nobody_is_none() {
        assert!(choose_person(&blobs(40, 30, &[])).is_none());
        assert!(choose_person(&blobs(100, 100, &[(0, 0, 2, 2)])).is_none(), "a speck is nobody");
    }
}
