//! EAN-13 / UPC-A read by fitting the symbol's fixed module layout to a brightness profile
//! averaged across the bar height.
//!
//! Why not thresholds and edges: on a blurred photo the narrow bars and spaces melt into grey
//! long before the code is lost, and single scan lines are noisy. Averaging every row of the
//! bars (along the locally measured bar direction, so tilt and perspective do not smear them)
//! removes the noise; rendering each candidate digit as the blurred bars it would give and
//! comparing with the profile still tells digits apart when no edge survives. The guards and
//! quiet zones (known patterns) fix position, module width, perspective and blur first; each
//! digit then only chooses among its 10 or 20 codes; the parity pattern and the check digit
//! tie the digits together, and the result must beat the next-best valid code clearly, so a
//! weak profile gives nothing rather than a guess.

use crate::barcode::GrayImage;
use crate::{Barcode, Symbology};

/// Blur beyond this (in modules) leaves too little of the narrow bars to tell digits apart.
const MAX_SIGMA: f32 = 1.9;
/// The guards must explain this much of the profile's variance around them.
const MIN_GUARD_FIT: f32 = 0.75;
/// Coarse grid: module width in steps of this factor, position in steps of this many modules
/// (the descent that follows walks the rest of the way).
const COARSE_M_STEP: f32 = 1.015;
const COARSE_X_STEP: f32 = 0.5;
/// Coarse-search fits below this are not refined.
const MIN_COARSE_FIT: f32 = 0.5;
/// Samples taken per module when fitting.
const PER_MODULE: usize = 4;
/// Profile sampling step along the scan, in pixels.
const STEP: f32 = 0.5;
/// Quiet-zone modules checked on each side (the standard asks for 11 and 7).
const QUIET_LEFT: i32 = 8;
const QUIET_RIGHT: i32 = 6;
/// Module coordinates run from `-QUIET_LEFT` to `95 + QUIET_RIGHT`; index = t + OFFSET.
const OFFSET: i32 = QUIET_LEFT + 2;
const SPAN: usize = (95 + QUIET_RIGHT + OFFSET + 2) as usize;
/// Acceptance: the next-best valid code must cost this much more, in units of the fit's
/// own residual variance per sample (see `read_digits`)...
const MIN_MARGIN: f32 = 40.0;
/// ...and every digit must be its own best code by this much, in residual variance per digit,
/// so that no digit is chosen by the check digit alone. (On 200 rendered labels, wrong reads
/// passed the check digit with margins of 12 to 71 but had some digit under 0.4 here.)
const MIN_DIGIT_GAP: f32 = 1.0;
/// And the fit's residual must stay below this fraction of the bar/space contrast (rms).
const MAX_RESIDUAL: f32 = 0.22;

/// Odd-parity (L) codes, first module first, 1 = bar. R codes are their complements and G
/// codes the R codes reversed.
const L_CODES: [[u8; 7]; 10] = [
    [0, 0, 0, 1, 1, 0, 1],
    [0, 0, 1, 1, 0, 0, 1],
    [0, 0, 1, 0, 0, 1, 1],
    [0, 1, 1, 1, 1, 0, 1],
    [0, 1, 0, 0, 0, 1, 1],
    [0, 1, 1, 0, 0, 0, 1],
    [0, 1, 0, 1, 1, 1, 1],
    [0, 1, 1, 1, 0, 1, 1],
    [0, 1, 1, 0, 1, 1, 1],
    [0, 0, 0, 1, 0, 1, 1],
];
/// First digit → parity of the six left digits (false = L, true = G).
const PARITY: [[bool; 6]; 10] = {
    const L: bool = false;
    const G: bool = true;
    [
        [L, L, L, L, L, L],
        [L, L, G, L, G, G],
        [L, L, G, G, L, G],
        [L, L, G, G, G, L],
        [L, G, L, L, G, G],
        [L, G, G, L, L, G],
        [L, G, G, G, L, L],
        [L, G, L, G, L, G],
        [L, G, L, G, G, L],
        [L, G, G, L, G, L],
    ]
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    L,
    G,
    R,
}

fn code_bits(set: Set, digit: usize) -> [u8; 7] {
    let l = L_CODES[digit];
    match set {
        Set::L => l,
        Set::R => l.map(|b| 1 - b),
        Set::G => {
            let mut g = l.map(|b| 1 - b);
            g.reverse();
            g
        }
    }
}

/// First module of the 12 encoded digits (left six, then right six).
fn digit_start(j: usize) -> i32 {
    if j < 6 {
        3 + 7 * j as i32
    } else {
        50 + 7 * (j as i32 - 6)
    }
}

/// Reflectance per module (1 = space, 0 = bar, 0.5 = not known yet) over the quiet zones,
/// guards and the one edge module of each digit that its code set fixes.
fn known_modules() -> [f32; SPAN] {
    let mut m = [0.5f32; SPAN];
    let mut set = |t: i32, v: f32| m[(t + OFFSET) as usize] = v;
    for t in -QUIET_LEFT..0 {
        set(t, 1.0);
    }
    for t in 95..95 + QUIET_RIGHT {
        set(t, 1.0);
    }
    for (t, bar) in [(0, 1), (1, 0), (2, 1), (45, 0), (46, 1), (47, 0), (48, 1), (49, 0), (92, 1), (93, 0), (94, 1)] {
        set(t, 1.0 - bar as f32);
    }
    for j in 0..12 {
        let s = digit_start(j);
        // Left digits open with a space and close with a bar; right digits the reverse.
        let (first, last) = if j < 6 { (1.0, 0.0) } else { (0.0, 1.0) };
        set(s, first);
        set(s + 6, last);
    }
    m
}

/// Where the guards and quiet zones are: the modules whose samples the geometry fit uses.
const GUARD_RANGES: [(i32, i32); 3] = [(-QUIET_LEFT, 4), (44, 51), (91, 95 + QUIET_RIGHT)];

/// Blur kernel weights: `weights[o][d]` is how much module `i + d - R` contributes to a sample at
/// `i + (o + 0.5) / PER_MODULE`, for a Gaussian of `sigma` modules over box-shaped modules.
struct Kernel {
    radius: i32,
    weights: Vec<[f32; PER_MODULE]>,
}

impl Kernel {
    fn new(sigma: f32) -> Self {
        let radius = (3.0 * sigma + 1.0).ceil() as i32;
        let cdf = |x: f32| 0.5 * (1.0 + erf(x / (sigma * std::f32::consts::SQRT_2)));
        let weights = (-radius..=radius)
            .map(|d| {
                let mut w = [0.0f32; PER_MODULE];
                for (o, slot) in w.iter_mut().enumerate() {
                    // Module d (relative) spans [d, d + 1); the sample sits at (o + 0.5) / PER_MODULE.
                    let t = (o as f32 + 0.5) / PER_MODULE as f32;
                    *slot = cdf(d as f32 + 1.0 - t) - cdf(d as f32 - t);
                }
                w
            })
            .collect();
        Self { radius, weights }
    }

    /// Blurred reflectance at the `o`-th sample of module `t`.
    fn render(&self, modules: &[f32; SPAN], t: i32, o: usize) -> f32 {
        let mut v = 0.0;
        for (k, w) in self.weights.iter().enumerate() {
            let i = t + k as i32 - self.radius + OFFSET;
            // Beyond the modelled span: paper.
            let m = if i < 0 || i >= SPAN as i32 { 1.0 } else { modules[i as usize] };
            v += m * w[o];
        }
        v
    }
}

/// Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): enough for blur weights.
fn erf(x: f32) -> f32 {
    let sign = x.signum();
    let x = x.abs() as f64;
    let t = 1.0 / (1.0 + 0.3275911 * x);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    (sign as f64 * (1.0 - poly * (-x * x).exp())) as f32
}

/// The symbol's placement in a profile: module `t` sits at sample `x0 + m (t + k t (t - 95) / 95)`
/// (a quadratic: perspective makes modules grow steadily from one end to the other).
#[derive(Debug, Clone, Copy)]
struct Placement {
    x0: f32,
    m: f32,
    k: f32,
    sigma: f32,
}

impl Placement {
    fn at(&self, t: f32) -> f32 {
        self.x0 + self.m * (t + self.k * t * (t - 95.0) / 95.0)
    }
}

/// Linear interpolation into the profile; `None` outside it.
fn interp(profile: &[f32], x: f32) -> Option<f32> {
    if x < 0.0 || x > (profile.len() - 1) as f32 {
        return None;
    }
    let i = x.floor() as usize;
    let f = x - i as f32;
    let j = (i + 1).min(profile.len() - 1);
    Some(profile[i] * (1.0 - f) + profile[j] * f)
}

/// Observed samples for modules `from..to`, `PER_MODULE` each; `None` if any falls outside.
fn observe(profile: &[f32], p: &Placement, from: i32, to: i32, out: &mut Vec<f32>) -> Option<()> {
    out.clear();
    for t in from..to {
        for o in 0..PER_MODULE {
            out.push(interp(profile, p.at(t as f32 + (o as f32 + 0.5) / PER_MODULE as f32))?);
        }
    }
    Some(())
}

/// Least-squares `obs ≈ a + c·model`: (a, c, residual sum of squares).
fn affine_fit(obs: &[f32], model: &[f32]) -> (f32, f32, f32) {
    let n = obs.len() as f32;
    let (mo, mm) = (obs.iter().sum::<f32>() / n, model.iter().sum::<f32>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&y, &x) in obs.iter().zip(model) {
        sxy += (x - mm) * (y - mo);
        sxx += (x - mm) * (x - mm);
        syy += (y - mo) * (y - mo);
    }
    if sxx <= 1e-9 {
        return (mo, 0.0, syy);
    }
    let c = sxy / sxx;
    (mo - c * mm, c, (syy - c * sxy).max(0.0))
}

/// Stretches of the symbol fitted each with its own offset and gain (glare varies along it).
const FULL_RANGES: [(i32, i32); 4] = [(-QUIET_LEFT, 24), (24, 48), (48, 72), (72, 95 + QUIET_RIGHT)];

/// Modules rendered at one blur over some stretches: what a placement is fitted to.
struct Template {
    sigma: f32,
    ranges: Vec<(i32, i32)>,
    rendered: Vec<Vec<f32>>,
}

impl Template {
    fn new(modules: &[f32; SPAN], sigma: f32, ranges: &[(i32, i32)]) -> Self {
        let kernel = Kernel::new(sigma);
        let rendered = ranges
            .iter()
            .map(|&(from, to)| (from..to).flat_map(|t| (0..PER_MODULE).map(move |o| (t, o))).map(|(t, o)| kernel.render(modules, t, o)).collect())
            .collect();
        Self { sigma, ranges: ranges.to_vec(), rendered }
    }

    /// Explained fraction of variance over the first stretch alone (0 where it does not fit).
    fn first_fit(&self, profile: &[f32], p: &Placement, scratch: &mut Vec<f32>) -> f32 {
        let (from, to) = self.ranges[0];
        if observe(profile, p, from, to, scratch).is_none() {
            return 0.0;
        }
        let (_, c, rss) = affine_fit(scratch, &self.rendered[0]);
        let n = scratch.len() as f32;
        let mean = scratch.iter().sum::<f32>() / n;
        let tss: f32 = scratch.iter().map(|v| (v - mean) * (v - mean)).sum();
        if c <= 0.0 || tss <= 0.0 {
            0.0
        } else {
            1.0 - rss / tss
        }
    }

    /// Explained fraction of the profile's variance over the stretches (higher is better) and
    /// each stretch's gain; `None` where bars come out brighter than spaces or off the profile.
    fn fit(&self, profile: &[f32], p: &Placement, scratch: &mut Vec<f32>) -> Option<(f32, Vec<f32>)> {
        let (mut sse, mut sst) = (0.0, 0.0);
        let mut gains = Vec::with_capacity(self.ranges.len());
        for (&(from, to), model) in self.ranges.iter().zip(&self.rendered) {
            observe(profile, p, from, to, scratch)?;
            let (_, c, rss) = affine_fit(scratch, model);
            if c <= 0.0 {
                return None;
            }
            let n = scratch.len() as f32;
            let mean = scratch.iter().sum::<f32>() / n;
            sst += scratch.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>();
            sse += rss;
            gains.push(c);
        }
        (sst > 0.0).then(|| (1.0 - sse / sst, gains))
    }
}

/// Reads an EAN-13 (or UPC-A) symbol from the image's bar regions (see [`bar_regions`]);
/// `None` unless one is found with confidence. With it, whether it reads left to right
/// (the label is upright) rather than right to left (upside down).
pub(crate) fn decode_ean(image: &GrayImage, regions: &[BarRegion]) -> Option<(Barcode, bool)> {
    for region in regions.iter().take(2) {
        let mut region = region.clone();
        region.align(image);
        // The middle of the bars first (once more after fine-tuning the bar direction, which
        // a sharp symbol does not need); then each half, in case a glare spot or a finger
        // spoils the other.
        for (i, band) in [(0.2, 0.8), (0.2, 0.8), (0.1, 0.5), (0.5, 0.9)].into_iter().enumerate() {
            if i == 1 {
                region.sharpen(image);
            }
            let profile = region.profile(image, band);
            if profile.len() < 120 {
                break;
            }
            let (lo, hi) = region.extent_samples();
            let forward = decode_profile(&profile, (lo, hi));
            if let Some((digits, _)) = forward.read {
                return Some((to_barcode(digits), true));
            }
            // Upside down: the guards look the same both ways, the digits do not.
            let mut reversed = profile.clone();
            reversed.reverse();
            let last = profile.len() as f32 - 1.0;
            let backward = decode_profile(&reversed, (last - hi, last - lo));
            if let Some((digits, _)) = backward.read {
                return Some((to_barcode(digits), false));
            }
        }
    }
    None
}

/// What a profile gave: a confident reading (digits and margin), if any.
struct Outcome {
    read: Option<([u8; 13], f32)>,
}

fn to_barcode(digits: [u8; 13]) -> Barcode {
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    // A leading zero is a UPC-A, reported as its 12 digits (as rxing does).
    if digits[0] == 0 {
        Barcode { symbology: Symbology::UpcA, digits: text[1..].to_owned() }
    } else {
        Barcode { symbology: Symbology::Ean13, digits: text }
    }
}

/// Fits the symbol to a profile whose bars lie roughly within `extent` (samples). Returns the
/// digits and the acceptance margin.
fn decode_profile(profile: &[f32], (lo, hi): (f32, f32)) -> Outcome {
    let mut outcome = Outcome { read: None };
    let width = hi - lo;
    if width < 60.0 {
        return outcome;
    }
    let known = known_modules();
    let mut scratch = Vec::with_capacity(160);

    // Coarse search against the guards and quiet zones: module width from the bar region's
    // extent (95 modules), position near its start, a middling blur.
    // Coarse search against the guards and quiet zones: module width from the bar region's
    // extent (95 modules), position near its start, a middling blur.
    let guards = Template::new(&known, 0.7, &GUARD_RANGES);
    let mut candidates: Vec<(f32, Placement)> = Vec::new();
    // The region can hold more than the bars (the label's edge, a digit of the price), so
    // the symbol may be well inside it.
    let m0 = width / 95.0;
    let range = profile.iter().fold(f32::MIN, |a, &b| a.max(b)) - profile.iter().fold(f32::MAX, |a, &b| a.min(b));
    let mut scale = 0.45f32;
    while scale <= 1.4 {
        let m = m0 * scale;
        // Under ~0.7 px per module (1.4 samples) nothing can be resolved.
        if m >= 1.4 {
            let mut x0 = lo - 0.15 * width;
            while x0 <= lo + 0.6 * width && x0 + 95.0 * m <= hi + 0.3 * width {
                let p = Placement { x0, m, k: 0.0, sigma: 0.7 };
                // Most grid points miss: first two samples per end (quiet zone brighter than the
                // outer guard bar), then the start guard alone, then everything.
                let darker = |quiet: f32, bar: f32| match (interp(profile, p.at(quiet)), interp(profile, p.at(bar))) {
                    (Some(q), Some(b)) => q - b >= 0.1 * range,
                    _ => false,
                };
                if darker(-4.0, 0.5) && darker(99.0, 94.5) && guards.first_fit(profile, &p, &mut scratch) >= 0.3 {
                    if let Some((score, _)) = guards.fit(profile, &p, &mut scratch) {
                        candidates.push((score, p));
                    }
                }
                x0 += COARSE_X_STEP * m;
            }
        }
        scale *= COARSE_M_STEP;
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    // A few distinct starting points (not neighbours of one another).
    let mut starts: Vec<Placement> = Vec::new();
    for (score, p) in &candidates {
        // Guards this poor at the coarse blur do not refine into a readable symbol; stopping
        // here keeps bar-like clutter (and unreadably blurred codes) cheap.
        if *score < MIN_COARSE_FIT {
            break;
        }
        if starts.iter().all(|s| (s.x0 - p.x0).abs() > 2.0 * s.m || (s.m / p.m - 1.0).abs() > 0.04) {
            starts.push(*p);
        }
        if starts.len() == 5 {
            break;
        }
    }

    // Straight first (most symbols, and the cheap case); then with a bend either way, since
    // perspective bends only the middle (the ends are fixed by position and width). The
    // first confident reading wins: the acceptance gates, not a comparison, keep it right.
    for bends in [&[0.0][..], &[-0.06, 0.06][..]] {
        for start in &starts {
            let found = bends
                .iter()
                .filter_map(|&k| descend(profile, Placement { k, ..*start }, &known, &GUARD_RANGES, &[0, 1, 2, 3], &mut scratch))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((mut p, fit)) = found else { continue };
            if fit < MIN_GUARD_FIT {
                continue;
            }
            // The guards' contrasts stand in for the stretches between them until the whole
            // symbol is fitted. A sharp symbol usually reads right here.
            let Some((_, g)) = Template::new(&known, p.sigma, &GUARD_RANGES).fit(profile, &p, &mut scratch) else { continue };
            let mut gains = vec![g[0], (g[0] + g[1]) / 2.0, (g[1] + g[2]) / 2.0, g[2]];
            if let Some(read) = read_digits(profile, &p, &gains) {
                outcome.read = Some(read);
                return outcome;
            }
            // Otherwise alternate reading the digits and refitting everything (perspective
            // included) to the symbol as read, until the reading holds or stops changing.
            let mut last: Option<[f32; SPAN]> = None;
            for _ in 0..3 {
                let Some(modules) = read_modules(profile, &p, &gains) else { break };
                if last.is_some_and(|l| l == modules) {
                    break;
                }
                let Some((q, _)) = descend(profile, p, &modules, &FULL_RANGES, &[0, 1, 2, 3], &mut scratch) else { break };
                let Some((_, g)) = Template::new(&modules, q.sigma, &FULL_RANGES).fit(profile, &q, &mut scratch) else { break };
                (p, gains, last) = (q, g, Some(modules));
                if let Some(read) = read_digits(profile, &p, &gains) {
                    outcome.read = Some(read);
                    return outcome;
                }
            }
        }
    }
    outcome
}

/// Coordinate descent of the listed parameters (0 position, 1 module width, 2 perspective,
/// 3 blur) against the template of `modules` over `ranges`: the placement and its fit.
fn descend(profile: &[f32], start: Placement, modules: &[f32; SPAN], ranges: &[(i32, i32)], params: &[usize], scratch: &mut Vec<f32>) -> Option<(Placement, f32)> {
    let mut p = start;
    let mut template = Template::new(modules, p.sigma, ranges);
    let mut score = template.fit(profile, &p, scratch)?.0;
    for round in 0..4 {
        let fine = 1.0 / (1 << round) as f32;
        for &param in params {
            let step = [0.25 * p.m, 0.006, 0.02, 0.15][param] * fine;
            // Bounded: a fit that keeps creeping is fitting clutter.
            for _ in 0..30 {
                let mut improved = false;
                for dir in [-1.0f32, 1.0] {
                    let mut q = p;
                    match param {
                        0 => q.x0 += dir * step,
                        1 => q.m *= 1.0 + dir * step,
                        2 => q.k = (q.k + dir * step).clamp(-0.15, 0.15),
                        _ => q.sigma = (q.sigma + dir * step).clamp(0.25, MAX_SIGMA),
                    }
                    let other = (q.sigma != template.sigma).then(|| Template::new(modules, q.sigma, ranges));
                    if let Some((s, _)) = other.as_ref().unwrap_or(&template).fit(profile, &q, scratch) {
                        if s > score + 1e-5 {
                            (p, score) = (q, s);
                            if let Some(t) = other {
                                template = t;
                            }
                            improved = true;
                            break;
                        }
                    }
                }
                if !improved {
                    break;
                }
            }
        }
    }
    Some((p, score))
}

/// The gain (bar/space contrast) where module `t` sits.
fn gain_at(gains: &[f32], t: f32) -> f32 {
    let i = FULL_RANGES.iter().position(|&(_, to)| t < to as f32).unwrap_or(FULL_RANGES.len() - 1);
    gains[i.min(gains.len() - 1)]
}

/// Every digit's cost for each code (residual sum of squares in contrast units), `cost[j][set][d]`
/// with set 0 = L or R, 1 = G. Two passes: the first with the neighbours' interiors unknown,
/// the second with them as first read, so what blur carries in from them is modelled.
fn digit_costs(profile: &[f32], p: &Placement, gains: &[f32]) -> Option<([[[f32; 10]; 2]; 12], usize)> {
    let kernel = Kernel::new(p.sigma);
    let mut modules = known_modules();
    let mut obs = Vec::with_capacity(64);
    let mut model = Vec::with_capacity(64);
    let mut cost = [[[0.0f32; 10]; 2]; 12];
    let mut samples = 0;
    for pass in 0..2 {
        let chosen: Vec<Option<[u8; 7]>> = (0..12)
            .map(|j| {
                (pass > 0).then(|| {
                    let (set, d) = best_code(&cost[j], j < 6);
                    code_bits(set, d)
                })
            })
            .collect();
        for (j, code) in chosen.iter().enumerate() {
            set_code(&mut modules, j, *code);
        }
        for j in 0..12 {
            let s = digit_start(j);
            // The digit's modules and one on each side.
            observe(profile, p, s - 1, s + 8, &mut obs)?;
            samples = obs.len();
            let c = gain_at(gains, s as f32 + 3.5);
            let sets: &[Set] = if j < 6 { &[Set::L, Set::G] } else { &[Set::R] };
            for (si, &set) in sets.iter().enumerate() {
                let mut costs = [0.0f32; 10];
                for (d, cost_d) in costs.iter_mut().enumerate() {
                    set_code(&mut modules, j, Some(code_bits(set, d)));
                    model.clear();
                    for t in s - 1..s + 8 {
                        for o in 0..PER_MODULE {
                            model.push(c * kernel.render(&modules, t, o));
                        }
                    }
                    // Offset free (glare), gain from the fit.
                    let n = obs.len() as f32;
                    let a = obs.iter().zip(&model).map(|(y, m)| y - m).sum::<f32>() / n;
                    let rss: f32 = obs.iter().zip(&model).map(|(y, m)| (y - m - a).powi(2)).sum();
                    *cost_d = rss / (c * c);
                }
                cost[j][si] = costs;
            }
            set_code(&mut modules, j, chosen[j]);
        }
    }
    Some((cost, samples))
}

/// Writes digit `j`'s code into the module array (`None`: interior unknown).
fn set_code(modules: &mut [f32; SPAN], j: usize, bits: Option<[u8; 7]>) {
    let s = digit_start(j);
    for i in 1..6 {
        modules[(s + i + OFFSET) as usize] = bits.map_or(0.5, |b| 1.0 - b[i as usize] as f32);
    }
}

/// The module array with each digit's cheapest code (validity not required): the model for
/// refitting the placement.
fn read_modules(profile: &[f32], p: &Placement, gains: &[f32]) -> Option<[f32; SPAN]> {
    let (cost, _) = digit_costs(profile, p, gains)?;
    let mut modules = known_modules();
    for (j, c) in cost.iter().enumerate() {
        let (set, d) = best_code(c, j < 6);
        set_code(&mut modules, j, Some(code_bits(set, d)));
    }
    Some(modules)
}

/// The best valid EAN-13 (parity pattern and check digit) and its margin over the runner-up,
/// if it is clear enough.
fn read_digits(profile: &[f32], p: &Placement, gains: &[f32]) -> Option<([u8; 13], f32)> {
    let (cost, samples_per_digit) = digit_costs(profile, p, gains)?;
    let (first, second) = best_valid(&cost)?;
    let n = (12 * samples_per_digit) as f32;
    let noise = (first.0 / n).max(1e-4);
    let margin = (second.map_or(f32::INFINITY, |s| s.0) - first.0) / noise;
    let residual = noise.sqrt();
    // Each digit on its own: how much worse its best other code fits.
    let per_digit = noise * samples_per_digit as f32;
    let mut min_gap = f32::INFINITY;
    for j in 0..12 {
        let d = first.1[j + 1] as usize;
        let set = if j < 6 { usize::from(PARITY[first.1[0] as usize][j]) } else { 0 };
        let chosen = cost[j][set][d];
        let sets = if j < 6 { 2 } else { 1 };
        let alt = (0..sets).flat_map(|si| (0..10).map(move |e| (si, e))).filter(|&(si, e)| (si, e) != (set, d)).map(|(si, e)| cost[j][si][e]).fold(f32::INFINITY, f32::min);
        min_gap = min_gap.min((alt - chosen) / per_digit);
    }
    (margin >= MIN_MARGIN && min_gap >= MIN_DIGIT_GAP && residual <= MAX_RESIDUAL).then_some((first.1, margin))
}

fn best_code(cost: &[[f32; 10]; 2], left: bool) -> (Set, usize) {
    let options: &[(Set, usize)] = if left { &[(Set::L, 0), (Set::G, 1)] } else { &[(Set::R, 0)] };
    let mut best = (Set::L, 0, f32::MAX);
    for &(set, i) in options {
        for (d, &c) in cost[i].iter().enumerate() {
            if c < best.2 {
                best = (set, d, c);
            }
        }
    }
    (best.0, best.1)
}

type Reading = (f32, [u8; 13]);

/// The two cheapest digit strings whose parity pattern names a first digit and whose check
/// digit holds: a dynamic programme over the weighted digit sum mod 10, keeping the two best
/// per state.
fn best_valid(cost: &[[[f32; 10]; 2]; 12]) -> Option<(Reading, Option<Reading>)> {
    let mut all: Vec<Reading> = Vec::new();
    for (first, parity) in PARITY.iter().enumerate() {
        let mut states: Vec<Vec<Reading>> = vec![Vec::new(); 10];
        let mut digits = [0u8; 13];
        digits[0] = first as u8;
        states[first].push((0.0, digits));
        for j in 0..12 {
            // Weights 1, 3, 1, 3, ... from the first digit; the check digit's weight is 1.
            let weight = if (j + 1) % 2 == 1 { 3 } else { 1 };
            let set = if j < 6 { usize::from(parity[j]) } else { 0 };
            let mut next: Vec<Vec<Reading>> = vec![Vec::new(); 10];
            for (sum, entries) in states.iter().enumerate() {
                for (c, ds) in entries {
                    for d in 0..10 {
                        let mut ds2 = *ds;
                        ds2[j + 1] = d as u8;
                        let slot = &mut next[(sum + weight * d) % 10];
                        slot.push((c + cost[j][set][d], ds2));
                        if slot.len() > 2 {
                            slot.sort_by(|a, b| a.0.total_cmp(&b.0));
                            slot.truncate(2);
                        }
                    }
                }
            }
            states = next;
        }
        all.extend(states[0].iter().copied());
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut it = all.into_iter();
    let first = it.next()?;
    let second = it.find(|s| s.1 != first.1);
    Some((first, second))
}

/// A patch of parallel bars: where to sample a profile across them.
#[derive(Debug, Clone)]
pub(crate) struct BarRegion {
    centre: [f32; 2],
    /// Bar-normal angle at the centre (radians) and its change per pixel along the scan.
    angle: f32,
    angle_slope: f32,
    /// Extents along the scan (u) and along the bars (v), in pixels from the centre.
    u: (f32, f32),
    v: (f32, f32),
    /// The bars' top and bottom ends as lines `v = a + b u`: on a tilted, sheared label they
    /// are not square to the bars, so a fixed band would run off them at one end.
    top: (f32, f32),
    bottom: (f32, f32),
    /// Where the profile starts, in pixels along the scan.
    u_start: f32,
}

impl BarRegion {
    /// Mean brightness along the bars for each step across them, over the `band` fraction of
    /// the bar height; the scan runs from well before the bars to well after (quiet zones).
    fn profile(&self, image: &GrayImage, band: (f32, f32)) -> Vec<f32> {
        let (ua, ub) = (self.u_start, self.u.1 + (self.u.1 - self.u.0) * 0.25);
        let (sin0, cos0) = self.angle.sin_cos();
        let mut out = Vec::new();
        let mut u = ua;
        while u <= ub {
            let (t, b) = (self.top.0 + self.top.1 * u, self.bottom.0 + self.bottom.1 * u);
            let (va, vb) = (t + (b - t) * band.0, t + (b - t) * band.1);
            let a = self.angle + self.angle_slope * u;
            let (sin, cos) = a.sin_cos();
            // Along the scan with the centre's normal; along the bars with the local direction.
            let base = [self.centre[0] + u * cos0, self.centre[1] + u * sin0];
            let (mut sum, mut n) = (0.0, 0);
            let mut v = va;
            while v <= vb {
                if let Some(s) = image.sample(base[0] - v * sin, base[1] + v * cos) {
                    sum += s;
                    n += 1;
                }
                v += 1.0;
            }
            out.push(if n > 0 { sum / n as f32 } else { f32::NAN });
            u += STEP;
        }
        // Off-image samples: repeat the nearest valid value (reads as quiet zone or nothing).
        let first_valid = out.iter().position(|v| !v.is_nan());
        if let Some(f) = first_valid {
            let mut last = out[f];
            for v in &mut out {
                if v.is_nan() {
                    *v = last;
                } else {
                    last = *v;
                }
            }
        } else {
            out.clear();
        }
        out
    }

    /// Corrects the bar direction (and its change along the scan) so the profile does not
    /// smear: the block gradients only give it to a degree or two, which over a tall symbol
    /// is a module. Profiles of the upper and lower part of the bars are compared window by
    /// window; how far the lower one is shifted tells how much the bars lean.
    fn align(&mut self, image: &GrayImage) {
        for _ in 0..2 {
            let (upper, lower) = (self.profile(image, (0.1, 0.45)), self.profile(image, (0.55, 0.9)));
            let dv = 0.45 * (self.v.1 - self.v.0);
            if upper.len() != lower.len() || dv < 4.0 {
                return;
            }
            let (lo, hi) = self.extent_samples();
            let windows = 6;
            let win = ((hi - lo) / windows as f32) as usize;
            // Up to ~6 degrees of lean.
            let reach = ((dv * 0.1 / STEP).ceil() as usize).max(2);
            if win < 8 {
                return;
            }
            let (mut sw, mut su, mut ss, mut suu, mut sus) = (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for k in 0..windows {
                let start = lo as usize + k * win;
                let end = (start + win).min(upper.len().saturating_sub(reach));
                if start < reach || end <= start {
                    continue;
                }
                let mean_up = upper[start..end].iter().sum::<f32>() / (end - start) as f32;
                let score = |shift: isize| -> f32 {
                    let from = (start as isize + shift) as usize;
                    upper[start..end].iter().zip(&lower[from..from + (end - start)]).map(|(u, l)| (u - mean_up) * (l - mean_up)).sum::<f32>()
                };
                let scores: Vec<f32> = (-(reach as isize)..=reach as isize).map(score).collect();
                let (best, &peak) = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &0.0));
                if peak <= 0.0 || best == 0 || best + 1 == scores.len() {
                    continue;
                }
                // Parabola through the peak and its neighbours: sub-sample shift.
                let (a, b, c) = (scores[best - 1], peak, scores[best + 1]);
                let denom = a - 2.0 * b + c;
                let frac = if denom < 0.0 { 0.5 * (a - c) / denom } else { 0.0 };
                let shift = best as f32 - reach as f32 + frac.clamp(-0.5, 0.5);
                // Window centre in pixels from the region centre.
                let u = self.u_start + (start + end) as f32 * 0.5 * STEP;
                let w = peak;
                sw += w;
                su += w * u;
                ss += w * shift;
                suu += w * u * u;
                sus += w * u * shift;
            }
            if sw <= 0.0 {
                return;
            }
            let (mu, ms) = (su / sw, ss / sw);
            let var = suu / sw - mu * mu;
            let slope = if var > 1.0 { (sus / sw - mu * ms) / var } else { 0.0 };
            let at_centre = ms - slope * mu;
            // A bar that is at u in the upper band is at u + shift in the lower band.
            self.angle -= (at_centre * STEP / dv).atan();
            self.angle_slope -= slope * STEP / dv;
        }
    }

    /// Nudges the bar direction and its change along the scan to whatever gives the sharpest
    /// profile (largest sum of squared steps): a residual lean of a degree smears a narrow
    /// module over a tall symbol, and the shift estimate in `align` is coarse under blur.
    fn sharpen(&mut self, image: &GrayImage) {
        let sharpness = |r: &BarRegion| {
            let p = r.profile(image, (0.2, 0.8));
            p.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f32>()
        };
        let span = (self.u.1 - self.u.0).max(1.0);
        let mut best = sharpness(self);
        // Bounded: a few steps each way, and at most ~20 degrees of turn across the symbol.
        let max_slope = 0.35 / span;
        for (step, slope_step) in [(0.01f32, 0.02 / span), (0.004, 0.008 / span)] {
            for (da, ds) in [(step, 0.0), (-step, 0.0), (0.0, slope_step), (0.0, -slope_step)] {
                for _ in 0..12 {
                    let mut trial = self.clone();
                    trial.angle += da;
                    trial.angle_slope = (trial.angle_slope + ds).clamp(-max_slope, max_slope);
                    let s = sharpness(&trial);
                    if s <= best {
                        break;
                    }
                    (*self, best) = (trial, s);
                }
            }
        }
    }

    /// The bars' extent in profile samples.
    fn extent_samples(&self) -> (f32, f32) {
        ((self.u.0 - self.u_start) / STEP, (self.u.1 - self.u_start) / STEP)
    }
}

/// Patches of strong, coherent gradient with a near-horizontal normal (vertical-ish bars),
/// largest first. Text has strong gradients too, but in every direction.
pub(crate) fn bar_regions(image: &GrayImage) -> Vec<BarRegion> {
    let (w, h) = (image.width, image.height);
    if w < 24 || h < 8 {
        return Vec::new();
    }
    let block = (w.min(h) / 16).clamp(4, 16);
    let (bw, bh) = (w / block, h / block);
    if bw < 3 || bh < 1 {
        return Vec::new();
    }
    // Structure tensor per block from central differences.
    let px = |x: usize, y: usize| image.data[y * w + x] as f32;
    let mut tensors = vec![[0.0f32; 3]; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let t = &mut tensors[by * bw + bx];
            for y in (by * block).max(1)..((by + 1) * block).min(h - 1) {
                for x in (bx * block).max(1)..((bx + 1) * block).min(w - 1) {
                    let gx = px(x + 1, y) - px(x - 1, y);
                    let gy = px(x, y + 1) - px(x, y - 1);
                    t[0] += gx * gx;
                    t[1] += gy * gy;
                    t[2] += gx * gy;
                }
            }
        }
    }
    // Each block also sees its left and right neighbours: a wide bar or space can fill a
    // whole block, which alone would then look empty and split the symbol.
    let tensors: Vec<[f32; 3]> = (0..bw * bh)
        .map(|i| {
            let (x, y) = (i % bw, i / bw);
            let mut t = [0.0f32; 3];
            for nx in x.saturating_sub(1)..(x + 2).min(bw) {
                for (k, v) in tensors[y * bw + nx].iter().enumerate() {
                    t[k] += v;
                }
            }
            t
        })
        .collect();
    let area = (3 * block * block) as f32;
    let info: Vec<(f32, f32, f32)> = tensors
        .iter()
        .map(|&[xx, yy, xy]| {
            let energy = (xx + yy) / area;
            let coherence = if xx + yy > 0.0 { ((xx - yy).powi(2) + 4.0 * xy * xy).sqrt() / (xx + yy) } else { 0.0 };
            (energy, coherence, 0.5 * (2.0 * xy).atan2(xx - yy))
        })
        .collect();
    let mut energies: Vec<f32> = info.iter().map(|i| i.0).collect();
    energies.sort_by(f32::total_cmp);
    let top = energies[energies.len() * 9 / 10];
    // Mean |gradient| of a few grey levels is noise, not bars.
    let floor = (0.08 * top).max(36.0);
    let is_bar = |i: usize| {
        let (e, c, a) = info[i];
        e >= floor && c >= 0.55 && a.abs() <= 0.6
    };
    let mut seen = vec![false; info.len()];
    let mut regions: Vec<(f32, BarRegion)> = Vec::new();
    for seed in 0..info.len() {
        if seen[seed] || !is_bar(seed) {
            continue;
        }
        let mut members = vec![seed];
        seen[seed] = true;
        let mut k = 0;
        while k < members.len() {
            let i = members[k];
            k += 1;
            let (x, y) = (i % bw, i / bw);
            // Two blocks sideways: a quieter stretch (the middle guard under blur) must not
            // split the symbol in two.
            let neighbours = [(x.wrapping_sub(1), y), (x + 1, y), (x.wrapping_sub(2), y), (x + 2, y), (x, y.wrapping_sub(1)), (x, y + 1)];
            for (nx, ny) in neighbours {
                if nx >= bw || ny >= bh {
                    continue;
                }
                let n = ny * bw + nx;
                if !seen[n] && is_bar(n) && (info[n].2 - info[i].2).abs() < 0.3 {
                    seen[n] = true;
                    members.push(n);
                }
            }
        }
        if members.len() < 3 {
            continue;
        }
        let weight = |i: usize| info[i].0 * info[i].1;
        let total: f32 = members.iter().map(|&i| weight(i)).sum();
        let centre_of = |i: usize| [((i % bw) as f32 + 0.5) * block as f32, ((i / bw) as f32 + 0.5) * block as f32];
        let mut centre = [0.0f32; 2];
        let mut angle = 0.0;
        for &i in &members {
            let c = centre_of(i);
            centre[0] += c[0] * weight(i) / total;
            centre[1] += c[1] * weight(i) / total;
            angle += info[i].2 * weight(i) / total;
        }
        let (sin, cos) = angle.sin_cos();
        let uv = |p: [f32; 2]| ((p[0] - centre[0]) * cos + (p[1] - centre[1]) * sin, -(p[0] - centre[0]) * sin + (p[1] - centre[1]) * cos);
        let (mut u, mut v) = ((f32::MAX, f32::MIN), (f32::MAX, f32::MIN));
        // Angle change along the scan: weighted least squares of block angle on u.
        let (mut suu, mut sua) = (0.0, 0.0);
        for &i in &members {
            let (bu, bv) = uv(centre_of(i));
            u = (u.0.min(bu), u.1.max(bu));
            v = (v.0.min(bv), v.1.max(bv));
            suu += weight(i) * bu * bu;
            sua += weight(i) * bu * (info[i].2 - angle);
        }
        let half = block as f32 / 2.0;
        let (u, v) = ((u.0 - half, u.1 + half), (v.0 - half, v.1 + half));
        // Top and bottom ends: per block-wide slice along the scan, the outermost blocks,
        // then a straight line through each.
        let mut slices: Vec<(i32, f32, f32)> = Vec::new();
        for &i in &members {
            let (bu, bv) = uv(centre_of(i));
            let key = (bu / block as f32).round() as i32;
            match slices.iter_mut().find(|s| s.0 == key) {
                Some(s) => (s.1, s.2) = (s.1.min(bv), s.2.max(bv)),
                None => slices.push((key, bv, bv)),
            }
        }
        let line = |pick: fn(&(i32, f32, f32)) -> f32, fallback: f32| -> (f32, f32) {
            let n = slices.len() as f32;
            if slices.len() < 3 {
                return (fallback, 0.0);
            }
            let us: Vec<f32> = slices.iter().map(|s| s.0 as f32 * block as f32).collect();
            let mu = us.iter().sum::<f32>() / n;
            let mv = slices.iter().map(pick).sum::<f32>() / n;
            let suu: f32 = us.iter().map(|u| (u - mu) * (u - mu)).sum();
            let suv: f32 = us.iter().zip(&slices).map(|(u, s)| (u - mu) * (pick(s) - mv)).sum();
            let b = if suu > 0.0 { (suv / suu).clamp(-0.5, 0.5) } else { 0.0 };
            (mv - b * mu, b)
        };
        let (t, b) = (line(|s| s.1, v.0 + half), line(|s| s.2, v.1 - half));
        let (top, bottom) = ((t.0 - half, t.1), (b.0 + half, b.1));
        let slope = if suu > 0.0 { sua / suu } else { 0.0 };
        // At most ~20 degrees of change across the symbol.
        let slope = slope.clamp(-0.35 / (u.1 - u.0).max(1.0), 0.35 / (u.1 - u.0).max(1.0));
        let u_start = u.0 - (u.1 - u.0) * 0.25;
        regions.push((total, BarRegion { centre, angle, angle_slope: slope, u, v, top, bottom, u_start }));
    }
    regions.sort_by(|a, b| b.0.total_cmp(&a.0));
    regions.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws an EAN-13 at `module` px per module (11-module quiet zones), blurs it with a
    /// Gaussian of `sigma` px and adds a little deterministic noise.
    fn render(code: &str, module: f32, sigma: f32, height: usize) -> GrayImage {
        let digits: Vec<usize> = code.bytes().map(|b| (b - b'0') as usize).collect();
        let mut bits = vec![1u8, 0, 1];
        for j in 0..6 {
            let set = if PARITY[digits[0]][j] { Set::G } else { Set::L };
            bits.extend(code_bits(set, digits[j + 1]));
        }
        bits.extend([0, 1, 0, 1, 0]);
        for j in 6..12 {
            bits.extend(code_bits(Set::R, digits[j + 1]));
        }
        bits.extend([1, 0, 1]);
        assert_eq!(bits.len(), 95);
        let width = ((95.0 + 22.0) * module).ceil() as usize + 8;
        let row: Vec<f32> = (0..width)
            .map(|x| {
                // Area-sampled modules, then blurred below.
                let t0 = (x as f32 - 4.0) / module - 11.0;
                let mut v = 0.0;
                for s in 0..8 {
                    let t = t0 + (s as f32 + 0.5) / 8.0 / module;
                    let bar = t >= 0.0 && (t as usize) < 95 && bits[t as usize] == 1;
                    v += if bar { 30.0 } else { 220.0 };
                }
                v / 8.0
            })
            .collect();
        let radius = (3.0 * sigma).ceil() as i32;
        let blurred: Vec<f32> = (0..width as i32)
            .map(|x| {
                if sigma <= 0.0 {
                    return row[x as usize];
                }
                let (mut s, mut wsum) = (0.0, 0.0);
                for d in -radius..=radius {
                    let w = (-(d * d) as f32 / (2.0 * sigma * sigma)).exp();
                    s += w * row[(x + d).clamp(0, width as i32 - 1) as usize];
                    wsum += w;
                }
                s / wsum
            })
            .collect();
        let mut data = Vec::with_capacity(width * height);
        let mut seed = 12345u32;
        for _ in 0..height {
            for &v in &blurred {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                let noise = ((seed >> 24) as f32 / 255.0 - 0.5) * 12.0;
                data.push((v + noise).clamp(0.0, 255.0) as u8);
            }
        }
        GrayImage::new(width, height, data).unwrap()
    }

    fn decode(image: &GrayImage) -> Option<Barcode> {
        decode_ean(image, &bar_regions(image)).map(|(b, _)| b)
    }

    #[test]
    fn code_sets_follow_the_standard() {
        assert_eq!(code_bits(Set::R, 0), [1, 1, 1, 0, 0, 1, 0]);
        assert_eq!(code_bits(Set::G, 0), [0, 1, 0, 0, 1, 1, 1]);
        assert_eq!(code_bits(Set::G, 6), [0, 0, 0, 0, 1, 0, 1]);
    }

    #[test]
    fn sharp_and_blurred_symbols_read_exactly() {
        for (code, module, sigma) in [("4006381333931", 2.0, 0.0), ("1419094137100", 2.0, 1.3), ("7582789456177", 3.0, 2.2), ("3095776586404", 1.5, 1.0)] {
            let found = decode(&render(code, module, sigma, 60));
            assert_eq!(found.map(|b| b.digits), Some(code.to_owned()), "{code} at {module} px/module, blur {sigma}");
        }
    }

    #[test]
    fn a_leading_zero_reads_as_upc_a() {
        let found = decode(&render("0036000291452", 2.0, 0.8, 50)).unwrap();
        assert_eq!((found.symbology, found.digits.as_str()), (Symbology::UpcA, "036000291452"));
    }

    #[test]
    fn flat_and_noisy_images_read_nothing() {
        assert!(decode(&GrayImage::new(300, 100, vec![200; 300 * 100]).unwrap()).is_none());
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..300 * 100)
            .map(|_| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                (seed >> 24) as u8
            })
            .collect();
        assert!(decode(&GrayImage::new(300, 100, noise).unwrap()).is_none());
    }
}
