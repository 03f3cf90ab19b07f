//! Which person to dress: connected parts of the person mask, the most central large one.

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

    #[test]
    fn nobody_is_none() {
        assert!(choose_person(&blobs(40, 30, &[])).is_none());
        assert!(choose_person(&blobs(100, 100, &[(0, 0, 2, 2)])).is_none(), "a speck is nobody");
    }
}
