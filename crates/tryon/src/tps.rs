//! Thin-plate spline: the smoothest map (least bending energy) taking control points to
//! their targets, solved as one small linear system (n + 3 unknowns per coordinate).

/// A fitted spline from the source plane to the target plane.
#[derive(Debug, Clone)]
pub struct Tps {
    /// Control points, normalised (centred on `origin`, divided by `scale`).
    ctrl: Vec<[f64; 2]>,
    /// Kernel weights per control point, for target x and y.
    weights: Vec<[f64; 2]>,
    /// Affine part: constant, x and y coefficients, for target x and y.
    affine: [[f64; 2]; 3],
    origin: [f64; 2],
    scale: f64,
}

fn kernel(r2: f64) -> f64 {
    if r2 < 1e-12 {
        0.0
    } else {
        r2 * r2.ln()
    }
}

impl Tps {
    /// Fits the spline taking each `from[i]` to `to[i]`; `smoothing` > 0 trades exactness for
    /// smoothness (in normalised units). `None` when the points are degenerate (collinear).
    pub fn fit(from: &[(f32, f32)], to: &[(f32, f32)], smoothing: f64) -> Option<Self> {
        let n = from.len();
        if n < 3 || n != to.len() {
            return None;
        }
        let origin = [
            from.iter().map(|p| p.0 as f64).sum::<f64>() / n as f64,
            from.iter().map(|p| p.1 as f64).sum::<f64>() / n as f64,
        ];
        let scale = (from.iter().map(|p| (p.0 as f64 - origin[0]).powi(2) + (p.1 as f64 - origin[1]).powi(2)).sum::<f64>() / n as f64)
            .sqrt()
            .max(1e-6);
        let ctrl: Vec<[f64; 2]> = from.iter().map(|p| [(p.0 as f64 - origin[0]) / scale, (p.1 as f64 - origin[1]) / scale]).collect();
        let m = n + 3;
        let mut a = vec![vec![0.0; m + 2]; m];
        for i in 0..n {
            for j in 0..n {
                let d2 = (ctrl[i][0] - ctrl[j][0]).powi(2) + (ctrl[i][1] - ctrl[j][1]).powi(2);
                a[i][j] = kernel(d2) + if i == j { smoothing } else { 0.0 };
            }
            let p = [1.0, ctrl[i][0], ctrl[i][1]];
            for k in 0..3 {
                a[i][n + k] = p[k];
                a[n + k][i] = p[k];
            }
            a[i][m] = to[i].0 as f64;
            a[i][m + 1] = to[i].1 as f64;
        }
        let solution = solve(a, m)?;
        let weights = (0..n).map(|i| solution[i]).collect();
        let affine = [solution[n], solution[n + 1], solution[n + 2]];
        Some(Self { ctrl, weights, affine, origin, scale })
    }

    pub fn eval(&self, x: f32, y: f32) -> (f32, f32) {
        let p = [(x as f64 - self.origin[0]) / self.scale, (y as f64 - self.origin[1]) / self.scale];
        let mut out = [0.0; 2];
        for (c, w) in self.ctrl.iter().zip(&self.weights) {
            let u = kernel((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2));
            out[0] += w[0] * u;
            out[1] += w[1] * u;
        }
        for k in 0..2 {
            out[k] += self.affine[0][k] + self.affine[1][k] * p[0] + self.affine[2][k] * p[1];
        }
        (out[0] as f32, out[1] as f32)
    }
}

/// Gaussian elimination with partial pivoting on an augmented `m × (m + 2)` system.
fn solve(mut a: Vec<Vec<f64>>, m: usize) -> Option<Vec<[f64; 2]>> {
    for col in 0..m {
        let pivot = (col..m).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-10 {
            return None;
        }
        a.swap(col, pivot);
        for row in col + 1..m {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                for k in col..m + 2 {
                    a[row][k] -= f * a[col][k];
                }
            }
        }
    }
    let mut x = vec![[0.0; 2]; m];
    for row in (0..m).rev() {
        for rhs in 0..2 {
            let s: f64 = (row + 1..m).map(|k| a[row][k] * x[k][rhs]).sum();
            x[row][rhs] = (a[row][m + rhs] - s) / a[row][row];
        }
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_points_land_on_their_targets() {
        let from = [(0.0, 0.0), (100.0, 0.0), (0.0, 100.0), (100.0, 100.0), (50.0, 50.0), (20.0, 70.0)];
        let to = [(10.0, 5.0), (120.0, 0.0), (0.0, 90.0), (110.0, 130.0), (60.0, 40.0), (25.0, 80.0)];
        let tps = Tps::fit(&from, &to, 0.0).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let (x, y) = tps.eval(f.0, f.1);
            assert!((x - t.0).abs() < 1e-2 && (y - t.1).abs() < 1e-2, "{f:?} -> ({x}, {y}) not {t:?}");
        }
    }

    #[test]
    fn an_affine_map_is_reproduced_everywhere() {
        let affine = |x: f32, y: f32| (2.0 * x - 0.5 * y + 7.0, 0.3 * x + 1.5 * y - 4.0);
        let from = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0), (3.0, 7.0)];
        let to: Vec<_> = from.iter().map(|&(x, y)| affine(x, y)).collect();
        let tps = Tps::fit(&from, &to, 0.0).unwrap();
        let (x, y) = tps.eval(42.0, -13.0);
        let (ex, ey) = affine(42.0, -13.0);
        assert!((x - ex).abs() < 1e-2 && (y - ey).abs() < 1e-2);
    }

    #[test]
    fn collinear_points_are_refused() {
        let line = [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)];
        assert!(Tps::fit(&line, &line, 0.0).is_none());
    }
}
