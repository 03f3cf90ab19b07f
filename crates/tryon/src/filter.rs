//! The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) over pose landmarks: a low-pass
//! filter whose cut-off rises with speed, so a still shopper gives a still garment and a
//! moving one is followed without lag.

use std::f32::consts::PI;

#[derive(Debug, Clone, Copy)]
pub struct OneEuroParams {
    /// Cut-off (Hz) at rest: lower is steadier.
    pub min_cutoff: f32,
    /// How fast the cut-off rises with speed (per px/s at the reference scale, see
    /// [`PointFilter::filter`]): higher follows motion more closely.
    pub beta: f32,
    /// Cut-off (Hz) for the speed estimate.
    pub d_cutoff: f32,
}

impl Default for OneEuroParams {
    /// Tuned on 720p pose landmarks at 15–30 fps: on a still photo with noise, landmark
    /// movement 0.81 → 0.08 px a frame; a far shopper rising from a squat is followed as
    /// closely as with no filter (the speed estimate's quicker cut-off and the higher beta;
    /// before, 0.6 / 0.01 / 1.0 left the garment a fifth of a torso behind her).
    fn default() -> Self {
        Self { min_cutoff: 0.3, beta: 0.03, d_cutoff: 3.0 }
    }
}

#[derive(Debug, Clone, Copy)]
struct OneEuro {
    x: f32,
    dx: f32,
}

fn alpha(cutoff: f32, dt: f32) -> f32 {
    let tau = 1.0 / (2.0 * PI * cutoff);
    1.0 / (1.0 + tau / dt)
}

/// One-Euro filters over a set of 2-D points (x and y filtered alike).
#[derive(Debug, Clone)]
pub struct PointFilter {
    params: OneEuroParams,
    state: Vec<[OneEuro; 2]>,
    last_t: Option<f64>,
}

/// Shoulder width (px) of the shoppers the parameters were tuned on (720p, a step or two
/// from the camera).
pub const REFERENCE_SHOULDERS: f32 = 150.0;

/// A gap longer than this starts the filter afresh (another shopper, or a resumed mirror).
const MAX_GAP_S: f64 = 1.0;

impl PointFilter {
    pub fn new(params: OneEuroParams) -> Self {
        Self { params, state: Vec::new(), last_t: None }
    }

    pub fn reset(&mut self) {
        self.state.clear();
        self.last_t = None;
    }

    /// Filters the points observed at time `t` (seconds) in place. `scale`: how large the
    /// subject is against the scale the parameters were tuned at (1: a shopper whose
    /// shoulders are [`REFERENCE_SHOULDERS`] apart). Speed is judged relative to it: a far
    /// shopper rising from a squat moves fewer pixels a second than a near one, and with
    /// speed in pixels the cut-off stayed low and the garment trailed a fifth of a torso
    /// behind her.
    pub fn filter(&mut self, t: f64, points: &mut [(f32, f32)], scale: f32) {
        let dt = self.last_t.map(|last| t - last);
        let fresh = self.state.len() != points.len() || !matches!(dt, Some(d) if d > 0.0 && d < MAX_GAP_S);
        if fresh {
            self.state = points.iter().map(|&(x, y)| [OneEuro { x, dx: 0.0 }, OneEuro { x: y, dx: 0.0 }]).collect();
            self.last_t = Some(t);
            return;
        }
        let dt = dt.unwrap() as f32;
        let p = self.params;
        for (state, point) in self.state.iter_mut().zip(points.iter_mut()) {
            for (s, v) in state.iter_mut().zip([&mut point.0, &mut point.1]) {
                let dx = (*v - s.x) / dt;
                s.dx += alpha(p.d_cutoff, dt) * (dx - s.dx);
                let cutoff = p.min_cutoff + p.beta * s.dx.abs() / scale.max(0.05);
                s.x += alpha(cutoff, dt) * (*v - s.x);
                *v = s.x;
            }
        }
        self.last_t = Some(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in [-1, 1].
    fn noise(i: u32) -> f32 {
        let h = i.wrapping_mul(2_654_435_761).rotate_left(13).wrapping_mul(40_503);
        (h % 2001) as f32 / 1000.0 - 1.0
    }

    #[test]
    fn a_still_point_with_noise_moves_far_less_after_filtering() {
        let mut f = PointFilter::new(OneEuroParams::default());
        let (mut raw_motion, mut filtered_motion) = (0.0, 0.0);
        let (mut last_raw, mut last_f) = ((0.0f32, 0.0f32), (0.0f32, 0.0f32));
        for i in 0..120 {
            let raw = (300.0 + 3.0 * noise(2 * i), 200.0 + 3.0 * noise(2 * i + 1));
            let mut p = [raw];
            f.filter(i as f64 / 30.0, &mut p, 1.0);
            if i > 30 {
                raw_motion += (raw.0 - last_raw.0).hypot(raw.1 - last_raw.1);
                filtered_motion += (p[0].0 - last_f.0).hypot(p[0].1 - last_f.1);
            }
            (last_raw, last_f) = (raw, p[0]);
        }
        assert!(filtered_motion < raw_motion / 4.0, "{filtered_motion} vs {raw_motion}");
    }

    #[test]
    fn a_moving_point_is_followed_closely() {
        let mut f = PointFilter::new(OneEuroParams::default());
        let mut p = [(0.0, 0.0)];
        for i in 0..60 {
            p = [(i as f32 * 20.0, 0.0)]; // 600 px/s
            f.filter(i as f64 / 30.0, &mut p, 1.0);
        }
        assert!((p[0].0 - 59.0 * 20.0).abs() < 60.0, "lag {}", 59.0 * 20.0 - p[0].0);
    }

    #[test]
    fn a_long_gap_starts_afresh() {
        let mut f = PointFilter::new(OneEuroParams::default());
        f.filter(0.0, &mut [(0.0, 0.0)], 1.0);
        let mut p = [(500.0, 500.0)];
        f.filter(5.0, &mut p, 1.0);
        assert_eq!(p[0], (500.0, 500.0));
    }
}
