//! WAV bytes to 16 kHz mono samples, in memory: PCM 16-bit or 32-bit float, any rate and
//! channel count. Anything else is refused with what it is.

use crate::SpeechError;

pub const SAMPLE_RATE: u32 = 16_000;

/// Samples at 16 kHz, mono, -1..1.
pub fn decode(bytes: &[u8]) -> Result<Vec<f32>, SpeechError> {
    let bad = |why: &str| SpeechError::Audio(why.to_owned());
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a WAV file (RIFF/WAVE header missing)"));
    }
    let (mut format, mut channels, mut rate, mut bits) = (0u16, 0u16, 0u32, 0u16);
    let mut data: Option<&[u8]> = None;
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = &bytes[at + 8..(at + 8).saturating_add(len).min(bytes.len())];
        match id {
            b"fmt " if body.len() >= 16 => {
                format = u16::from_le_bytes([body[0], body[1]]);
                channels = u16::from_le_bytes([body[2], body[3]]);
                rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                bits = u16::from_le_bytes([body[14], body[15]]);
                // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes say PCM or float.
                if format == 0xFFFE && body.len() >= 26 {
                    format = u16::from_le_bytes([body[24], body[25]]);
                }
            }
            b"data" => data = Some(body),
            _ => {}
        }
        at = at.saturating_add(8).saturating_add(len).saturating_add(len % 2);
    }
    let data = data.ok_or_else(|| bad("no audio data in the WAV file"))?;
    if channels == 0 || rate < 4_000 || rate > 192_000 {
        return Err(bad(&format!("{channels} channels at {rate} Hz is not audio this kiosk takes")));
    }
    let frame: Vec<f32> = match (format, bits) {
        (1, 16) => data.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0).collect(),
        (3, 32) => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        _ => return Err(bad(&format!("WAV format {format} with {bits}-bit samples (16-bit PCM or 32-bit float only)"))),
    };
    let mono: Vec<f32> = frame.chunks_exact(usize::from(channels)).map(|c| c.iter().sum::<f32>() / f32::from(channels)).collect();
    Ok(resample(&mono, rate))
}

/// Linear interpolation to 16 kHz (speech sits far below either Nyquist).
pub fn resample(samples: &[f32], rate: u32) -> Vec<f32> {
    if rate == SAMPLE_RATE || samples.is_empty() {
        return samples.to_vec();
    }
    let step = f64::from(rate) / f64::from(SAMPLE_RATE);
    let n = (samples.len() as f64 / step).floor() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 * step;
            let k = t.floor() as usize;
            let frac = (t - k as f64) as f32;
            let a = samples[k];
            let b = *samples.get(k + 1).unwrap_or(&a);
            a + (b - a) * frac
        })
        .collect()
}

/// Writes 16 kHz mono 16-bit PCM (for tests and the evaluation's synthetic questions).
pub fn encode(samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| ((s.clamp(-1.0, 1.0) * 32_767.0) as i16).to_le_bytes()).collect();
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}
