//! The one piece of linear algebra EASE needs: inverting a symmetric positive-definite matrix
//! in place (Gauss-Jordan without pivoting, which such a matrix never needs), its row updates
//! spread over the cores.

use std::thread;

/// Inverts the `n`×`n` row-major `a` in place; an error when a pivot is not positive (the
/// matrix was not positive definite).
pub(crate) fn invert_spd(a: &mut [f64], n: usize) -> Result<(), String> {
    assert_eq!(a.len(), n * n, "matrix size");
    let threads = thread::available_parallelism().map_or(1, |t| t.get()).min(8);
    let mut pivot_row = vec![0f64; n];
    for k in 0..n {
        let pivot = a[k * n + k];
        if !(pivot > 0.0 && pivot.is_finite()) {
            return Err(format!("pivot {k} of {n} is {pivot}"));
        }
        let scale = 1.0 / pivot;
        {
            let row = &mut a[k * n..(k + 1) * n];
            row[k] = 1.0;
            row.iter_mut().for_each(|x| *x *= scale);
            pivot_row.copy_from_slice(row);
        }
        let eliminate = |first_row: usize, rows: &mut [f64]| {
            for (r, row) in rows.chunks_exact_mut(n).enumerate() {
                if first_row + r == k {
                    continue;
                }
                let factor = row[k];
                if factor == 0.0 {
                    continue;
                }
                row[k] = 0.0;
                row.iter_mut().zip(&pivot_row).for_each(|(x, p)| *x -= factor * p);
            }
        };
        // Threads only pay off on big matrices.
        if threads == 1 || n < 256 {
            eliminate(0, a);
        } else {
            let per = n.div_ceil(threads);
            thread::scope(|s| {
                for (t, chunk) in a.chunks_mut(per * n).enumerate() {
                    let eliminate = &eliminate;
                    s.spawn(move || eliminate(t * per, chunk));
                }
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_times_matrix_is_identity() {
        for n in [1, 3, 40, 300] {
            // A random-ish SPD matrix: MᵀM + nI.
            let m: Vec<f64> = (0..n * n).map(|i| ((i * 7919 % 101) as f64 / 101.0) - 0.5).collect();
            let mut a = vec![0f64; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (0..n).map(|k| m[k * n + i] * m[k * n + j]).sum::<f64>() + if i == j { n as f64 } else { 0.0 };
                }
            }
            let mut inv = a.clone();
            invert_spd(&mut inv, n).unwrap();
            for i in 0..n {
                for j in 0..n {
                    let p: f64 = (0..n).map(|k| a[i * n + k] * inv[k * n + j]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((p - want).abs() < 1e-9, "n={n} ({i},{j}) {p}");
                }
            }
        }
    }

    #[test]
    fn a_matrix_that_is_not_positive_definite_is_an_error() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(invert_spd(&mut a, 2).is_err());
    }
}
