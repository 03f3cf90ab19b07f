//! Whisper's front end: 30 s of 16 kHz audio (padded or cut), a 400-point periodic-Hann STFT
//! every 160 samples (reflect-padded, last frame dropped), power through 80 Slaney mel
//! filters, log10, floored 8 below the peak, scaled to about -1..1.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

pub const N_MELS: usize = 80;
pub const FRAMES: usize = 3000;
const N_FFT: usize = 400;
const HOP: usize = 160;
const SAMPLES: usize = FRAMES * HOP;
const BINS: usize = N_FFT / 2 + 1;

pub struct MelFrontEnd {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// [N_MELS][BINS], Slaney-normalised.
    filters: Vec<Vec<f32>>,
}

impl Default for MelFrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

impl MelFrontEnd {
    pub fn new() -> Self {
        let fft = FftPlanner::new().plan_fft_forward(N_FFT);
        let window = (0..N_FFT).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / N_FFT as f32).cos()).collect();
        Self { fft, window, filters: mel_filters() }
    }

    /// Row-major [N_MELS, FRAMES].
    pub fn log_mel(&self, audio: &[f32]) -> Vec<f32> {
        let mut x = audio[..audio.len().min(SAMPLES)].to_vec();
        x.resize(SAMPLES, 0.0);
        let pad = N_FFT / 2;
        let reflect = |i: isize| -> f32 {
            let n = x.len() as isize;
            let j = if i < 0 { -i } else if i >= n { 2 * (n - 1) - i } else { i };
            x[j as usize]
        };
        let mut power = vec![0.0f32; BINS * FRAMES];
        let mut buf = vec![Complex::new(0.0f32, 0.0); N_FFT];
        for f in 0..FRAMES {
            for (k, b) in buf.iter_mut().enumerate() {
                *b = Complex::new(reflect((f * HOP + k) as isize - pad as isize) * self.window[k], 0.0);
            }
            self.fft.process(&mut buf);
            for k in 0..BINS {
                power[k * FRAMES + f] = buf[k].norm_sqr();
            }
        }
        let mut mel = vec![0.0f32; N_MELS * FRAMES];
        for (m, filter) in self.filters.iter().enumerate() {
            let row = &mut mel[m * FRAMES..(m + 1) * FRAMES];
            for (k, &w) in filter.iter().enumerate().filter(|(_, w)| **w != 0.0) {
                let p = &power[k * FRAMES..(k + 1) * FRAMES];
                for (r, v) in row.iter_mut().zip(p) {
                    *r += w * v;
                }
            }
        }
        for v in mel.iter_mut() {
            *v = v.max(1e-10).log10();
        }
        let peak = mel.iter().copied().fold(f32::MIN, f32::max);
        for v in mel.iter_mut() {
            *v = (v.max(peak - 8.0) + 4.0) / 4.0;
        }
        mel
    }
}

fn hz_to_mel(f: f64) -> f64 {
    let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz { min_log_mel + (f / min_log_hz).ln() / logstep } else { f / f_sp }
}

fn mel_to_hz(m: f64) -> f64 {
    let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel { min_log_hz * (logstep * (m - min_log_mel)).exp() } else { f_sp * m }
}

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels=80)` (Slaney scale and norm), as
/// Whisper's `mel_filters.npz` holds it.
fn mel_filters() -> Vec<Vec<f32>> {
    let fft_freqs: Vec<f64> = (0..BINS).map(|k| k as f64 * 8000.0 / (BINS - 1) as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(8000.0));
    let mel_f: Vec<f64> = (0..N_MELS + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64)).collect();
    (0..N_MELS)
        .map(|i| {
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
                    let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
                    (lower.min(upper).max(0.0) * enorm) as f32
                })
                .collect()
        })
        .collect()
}
