//! Speech on the device, both ways; nothing is written to disk.
//!
//! Recognition: audio arrives as WAV bytes, is decoded in memory and dropped after
//! recognition. Whisper tiny.en (MIT) runs as two ONNX graphs (`models/speech/`, built by
//! setup): the encoder, which also gives every decoder layer's cross-attention keys and
//! values, and a decoder run once per token. A prompt (the store's product names) steers the
//! spelling of names the model never heard.
//!
//! Synthesis (reading answers aloud): CMU Flite, see [`Synthesizer`].

mod bpe;
mod mel;
mod synth;
mod wav;

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use vitrine_infer::tensor::Tensor;
use vitrine_infer::{Model, Runtime};

pub use bpe::Bpe;
pub use mel::MelFrontEnd;
pub use synth::{speakable, Speech, Synthesizer, MAX_SPOKEN_CHARS};
pub use wav::{decode as decode_wav, encode as encode_wav, resample, SAMPLE_RATE};

#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("{0}")]
    Audio(String),
    #[error("speech model: {0}")]
    Model(String),
    #[error("{0}")]
    Synthesis(String),
}

/// Longest answer in tokens (a question is a sentence or two).
const MAX_TOKENS: usize = 64;
/// Hypotheses kept by the beam search.
const BEAM: usize = 3;
/// Prompt tokens kept (Whisper allows up to half its 448-token context).
const MAX_PROMPT: usize = 120;
/// Below this RMS there is nothing to hear (a quiet room measures well under it).
const SILENCE_RMS: f32 = 0.003;
/// Whisper's own threshold on its no-speech probability.
const NO_SPEECH_AT: f32 = 0.6;
/// Whisper's own threshold on a text's mean log-probability per token, below which it is unsure.
const UNSURE_LOGPROB: f32 = -1.0;
/// Audio beyond this is cut (the model sees 30 s).
pub const MAX_SECONDS: f32 = 30.0;

#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub text: String,
    /// Nothing to recognise: silence, or the model's no-speech probability above 0.6 with a
    /// short text or one it is unsure of.
    pub no_speech: bool,
    pub no_speech_prob: f32,
    pub seconds: f32,
    pub encoder_ms: f64,
    pub decoder_ms: f64,
}

/// Whisper's special tokens, by name from the vocabulary (English-only and multilingual
/// models number them differently).
#[derive(Debug, Clone, Copy)]
struct Specials {
    end: u32,
    start: u32,
    previous: u32,
    no_speech: u32,
    no_timestamps: u32,
    /// A multilingual model is told the language and the task after the start.
    english_transcribe: Option<(u32, u32)>,
}

impl Specials {
    fn from(bpe: &Bpe) -> Result<Self, SpeechError> {
        let id = |t: &str| bpe.id(t).ok_or_else(|| SpeechError::Model(format!("the vocabulary has no {t}")));
        // Whisper's own test: English-only vocabularies list the language tokens too, but
        // only multilingual ones reach 51,865 entries.
        let english_transcribe = match (bpe.len() >= 51_865, bpe.id("<|en|>"), bpe.id("<|transcribe|>")) {
            (true, Some(en), Some(task)) => Some((en, task)),
            _ => None,
        };
        Ok(Self {
            end: id("<|endoftext|>")?,
            start: id("<|startoftranscript|>")?,
            previous: id("<|startofprev|>")?,
            no_speech: bpe.id("<|nospeech|>").map_or_else(|| id("<|nocaptions|>"), Ok)?,
            no_timestamps: id("<|notimestamps|>")?,
            english_transcribe,
        })
    }
}

pub struct Recognizer {
    encoder: Model,
    decoder: Model,
    bpe: Bpe,
    specials: Specials,
    suppress: Vec<u32>,
    suppress_begin: Vec<u32>,
    front: MelFrontEnd,
}

impl Recognizer {
    /// Loads `whisper_encoder.toml`, `whisper_decoder.toml`, `vocabulary.txt`,
    /// `tokenizer.json` and `suppress.json` from `dir` (each model checked by its manifest).
    pub fn load(runtime: &Runtime, dir: &Path) -> Result<Self, SpeechError> {
        let model = |name: &str| Model::load(runtime, &dir.join(name)).map_err(|e| SpeechError::Model(e.to_string()));
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| SpeechError::Model(format!("cannot read {}: {e}", dir.join(name).display())));
        let bpe = Bpe::parse(&read("vocabulary.txt")?, &read("tokenizer.json")?)?;
        let suppress: serde_json::Value = serde_json::from_str(&read("suppress.json")?).map_err(|e| SpeechError::Model(format!("suppress.json: {e}")))?;
        let ids = |key: &str| -> Vec<u32> { suppress[key].as_array().map(|a| a.iter().filter_map(|v| v.as_u64().map(|v| v as u32)).collect()).unwrap_or_default() };
        let specials = Specials::from(&bpe)?;
        Ok(Self { encoder: model("whisper_encoder.toml")?, decoder: model("whisper_decoder.toml")?, suppress: ids("suppress_ids"), suppress_begin: ids("suppress_ids_begin"), bpe, specials, front: MelFrontEnd::new() })
    }

    /// Recognises 16 kHz mono samples; `prompt` lists words to expect (product names).
    pub fn transcribe(&mut self, samples: &[f32], prompt: &str) -> Result<Transcript, SpeechError> {
        let seconds = samples.len() as f32 / SAMPLE_RATE as f32;
        let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt();
        if rms < SILENCE_RMS {
            return Ok(Transcript { text: String::new(), no_speech: true, no_speech_prob: 1.0, seconds, encoder_ms: 0.0, decoder_ms: 0.0 });
        }
        let started = Instant::now();
        let mel = self.front.log_mel(samples);
        let out = self.encoder.run(&[Tensor::owned(vec![1, mel::N_MELS as i64, mel::FRAMES as i64], mel)]).map_err(|e| SpeechError::Model(e.to_string()))?;
        let cross = out.into_iter().next().ok_or_else(|| SpeechError::Model("the encoder gave nothing".into()))?;
        let encoder_ms = started.elapsed().as_secs_f64() * 1e3;

        let started = Instant::now();
        let mut tokens: Vec<u32> = Vec::new();
        let prompt_ids = self.bpe.encode(&format!(" {}", prompt.trim()));
        let sp = self.specials;
        if !prompt.trim().is_empty() {
            tokens.push(sp.previous);
            tokens.extend(&prompt_ids[prompt_ids.len().saturating_sub(MAX_PROMPT)..]);
        }
        tokens.push(sp.start);
        // The no-speech probability is read at the start-of-transcript position.
        let at_sot = self.logits(&tokens, &cross)?;
        let no_speech_prob = softmax_at(&at_sot, sp.no_speech as usize);
        if let Some((english, transcribe)) = sp.english_transcribe {
            tokens.extend([english, transcribe]);
        }
        tokens.push(sp.no_timestamps);
        let (said, mean_logprob) = self.beam_search(&tokens, &cross)?;
        let text = self.bpe.decode(&said).trim().to_owned();
        // Whisper's own rule (a likely no-speech and an unsure text) besides a short one.
        let no_speech = no_speech_prob > NO_SPEECH_AT && (said.len() < 3 || mean_logprob < UNSURE_LOGPROB) || text.is_empty();
        Ok(Transcript { text, no_speech, no_speech_prob, seconds, encoder_ms, decoder_ms: started.elapsed().as_secs_f64() * 1e3 })
    }

    /// The likeliest text after `prefix` by beam search ([`BEAM`] hypotheses, as Whisper's
    /// own decoder does at temperature 0): greedy decoding commits to a word on its first
    /// token and cannot take back "in them" for "in M".
    /// Returns the tokens and their mean log-probability.
    fn beam_search(&mut self, prefix: &[u32], cross: &Tensor<'static>) -> Result<(Vec<u32>, f32), SpeechError> {
        let sp = self.specials;
        let mut beams: Vec<(Vec<u32>, f32)> = vec![(Vec::new(), 0.0)];
        let mut finished: Vec<(Vec<u32>, f32)> = Vec::new();
        let mut sequence = prefix.to_vec();
        for _ in 0..MAX_TOKENS {
            let mut candidates: Vec<(Vec<u32>, f32, bool)> = Vec::new();
            for (said, score) in &beams {
                sequence.truncate(prefix.len());
                sequence.extend(said);
                let mut logits = self.logits(&sequence, cross)?;
                let suppressed = self.suppress.iter().chain(if said.is_empty() { self.suppress_begin.iter() } else { [].iter() });
                for &id in suppressed {
                    if let Some(l) = logits.get_mut(id as usize) {
                        *l = f32::NEG_INFINITY;
                    }
                }
                // Only text and the end: no timestamps or other specials.
                for l in logits.iter_mut().skip(sp.start as usize) {
                    *l = f32::NEG_INFINITY;
                }
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let log_sum = max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
                let mut order: Vec<usize> = (0..logits.len()).collect();
                let top = (BEAM + 1).min(order.len());
                order.select_nth_unstable_by(top - 1, |&a, &b| logits[b].total_cmp(&logits[a]));
                let best = order[..top].iter().copied().max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
                for &id in &order[..top] {
                    // The end only where it is this hypothesis's likeliest next token: ranked by
                    // mean log-probability, an unlikely early end beat the whole of a long
                    // sentence whose later words were less sure ("… here. Yes, we").
                    if id as u32 == sp.end && Some(id) != best {
                        continue;
                    }
                    let score = score + logits[id] - log_sum;
                    let id = id as u32;
                    // A loop ("the the the …") ends the sentence.
                    let looping = said.len() >= 6 && said[said.len() - 6..].iter().all(|&t| t == id);
                    if id == sp.end || looping {
                        candidates.push((said.clone(), score, true));
                    } else {
                        let mut next = said.clone();
                        next.push(id);
                        candidates.push((next, score, false));
                    }
                }
            }
            candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
            beams.clear();
            for (said, score, done) in candidates {
                if done {
                    if finished.len() < BEAM {
                        finished.push((said, score));
                    }
                } else if beams.len() < BEAM {
                    beams.push((said, score));
                }
            }
            if finished.len() >= BEAM || beams.is_empty() {
                break;
            }
        }
        finished.extend(beams);
        // Whisper's ranking without a length penalty: the mean log-probability per token.
        let mean = finished.into_iter().map(|(said, score)| {
            let per_token = score / (said.len() + 1) as f32;
            (said, per_token)
        });
        Ok(mean.max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or_default())
    }

    fn logits(&mut self, tokens: &[u32], cross: &Tensor<'static>) -> Result<Vec<f32>, SpeechError> {
        let ids: Vec<f32> = tokens.iter().map(|&t| t as f32).collect();
        let out = self
            .decoder
            .run(&[Tensor::owned(vec![1, ids.len() as i64], ids), Tensor { shape: cross.shape.clone(), data: std::borrow::Cow::Borrowed(cross.data.as_ref()) }])
            .map_err(|e| SpeechError::Model(e.to_string()))?;
        Ok(out.into_iter().next().map(|t| t.data.into_owned()).unwrap_or_default())
    }
}

fn softmax_at(logits: &[f32], index: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    logits.get(index).map_or(0.0, |l| (l - max).exp() / sum)
}

/// Words as WER compares them: lower case, letters, digits and apostrophes only.
pub fn normalise_words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Word errors (substitutions, insertions, deletions) of `hypothesis` against `reference`, and
/// the reference's word count.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise_words(reference);
    let h = normalise_words(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(rw != hw)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trips_and_bad_audio_is_refused_with_what_it_is() {
        let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let back = decode_wav(&encode_wav(&tone)).unwrap();
        assert_eq!(back.len(), tone.len());
        assert!((back[100] - tone[100]).abs() < 1e-3);
        assert!(decode_wav(b"hello").unwrap_err().to_string().contains("not a WAV"));
        let mut eight_bit = encode_wav(&tone);
        eight_bit[34] = 8;
        assert!(decode_wav(&eight_bit).unwrap_err().to_string().contains("8-bit"));
        assert_eq!(resample(&vec![0.0; 44_100], 44_100).len(), 16_000);
    }

    #[test]
    fn word_error_rate_counts_edits() {
        assert_eq!(word_errors("Do you have the hoodie in M?", "do you have a hoodie in m"), (1, 7));
        assert_eq!(word_errors("where are the oats", "where are oats please"), (2, 4));
        assert_eq!(word_errors("", "noise"), (1, 0));
    }
}
