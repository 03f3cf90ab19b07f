//! Speech synthesis on the device: CMU Flite (the Debian package `flite`; its engine and
//! voices are under CMU's permissive licence, commercial use allowed) run as a program, its
//! WAV read from a pipe into memory. Nothing is written to disk.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{decode_wav, SpeechError};

/// Longest text spoken at once (an answer is a few sentences; more is cut at a word).
pub const MAX_SPOKEN_CHARS: usize = 800;
/// A synthesis taking longer than this is stopped (Flite speaks a sentence in ~0.1 s).
const TIMEOUT: Duration = Duration::from_secs(20);

/// A Flite voice: the program and the voice name (`kal`, `slt`, `rms`, `awb`, or a
/// `.flitevox` path).
#[derive(Debug, Clone)]
pub struct Synthesizer {
    program: String,
    voice: String,
}

/// Spoken text: 16-bit mono WAV bytes, and what was said (after cutting and cleaning).
#[derive(Debug, Clone)]
pub struct Speech {
    pub wav: Vec<u8>,
    pub text: String,
    pub seconds: f32,
    pub synth_ms: f64,
}

impl Synthesizer {
    /// From a spec `flite:VOICE` (or `PROGRAM:VOICE`, the program a path or a name on PATH).
    pub fn from_spec(spec: &str) -> Result<Self, SpeechError> {
        let (program, voice) = spec.trim().split_once(':').ok_or_else(|| SpeechError::Synthesis(format!("speech synthesis \"{spec}\" is not PROGRAM:VOICE (e.g. flite:slt)")))?;
        if program.is_empty() || voice.is_empty() {
            return Err(SpeechError::Synthesis(format!("speech synthesis \"{spec}\" is not PROGRAM:VOICE (e.g. flite:slt)")));
        }
        Ok(Self { program: program.to_owned(), voice: voice.to_owned() })
    }

    /// Whether the program is there to run (found on PATH, or at its path), without running
    /// it: the status page asks this every couple of seconds.
    pub fn available(&self) -> Result<(), SpeechError> {
        let program = std::path::Path::new(&self.program);
        let found = if self.program.contains('/') {
            program.is_file()
        } else {
            std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        };
        if found {
            Ok(())
        } else {
            Err(SpeechError::Synthesis(format!("{} is not installed (it comes with the Debian package flite)", self.program)))
        }
    }

    /// Speaks `text` into WAV bytes. Empty text (after cleaning) is an error, as is a missing
    /// program or one that gives no audio.
    pub fn speak(&self, text: &str) -> Result<Speech, SpeechError> {
        let text = speakable(text);
        if text.is_empty() {
            return Err(SpeechError::Synthesis("nothing to read aloud".into()));
        }
        let start = Instant::now();
        // `-t` takes the next argument as the text whatever it starts with; no shell.
        let mut child = Command::new(&self.program)
            .args(["-voice", &self.voice, "-t", &text, "-o", "/dev/stdout"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SpeechError::Synthesis(format!("cannot run {} ({e}; it comes with the Debian package flite)", self.program)))?;
        let mut stdout = child.stdout.take().expect("piped above");
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            stdout.read_to_end(&mut bytes).map(|_| bytes)
        });
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| SpeechError::Synthesis(e.to_string()))? {
                break status;
            }
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SpeechError::Synthesis(format!("{} took over {} s", self.program, TIMEOUT.as_secs())));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let wav = reader.join().map_err(|_| SpeechError::Synthesis("reader failed".into()))?.map_err(|e| SpeechError::Synthesis(e.to_string()))?;
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(SpeechError::Synthesis(format!("{} -voice {} failed ({status}): {}", self.program, self.voice, err.trim())));
        }
        let audio = decode_wav(&wav).map_err(|e| SpeechError::Synthesis(format!("{} gave no usable audio: {e}", self.program)))?;
        let seconds = audio.len() as f32 / crate::SAMPLE_RATE as f32;
        if seconds < 0.1 {
            return Err(SpeechError::Synthesis(format!("{} gave no audio for \"{text}\"", self.program)));
        }
        Ok(Speech { wav, text, seconds, synth_ms: start.elapsed().as_secs_f64() * 1000.0 })
    }
}

/// The text as it should be read: control characters and symbols a voice would spell out
/// dropped, shelf codes ("A1/B2/S1") and list marks read as pauses, whole prices without
/// ".00", and at most [`MAX_SPOKEN_CHARS`], cut at a word.
pub fn speakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '/' | '·' | '•' | '|' | '—' | '–' => out.push_str(", "),
            c if c.is_control() => out.push(' '),
            '*' | '_' | '#' | '<' | '>' | '{' | '}' | '[' | ']' | '`' | '~' | '^' | '\\' => out.push(' '),
            c => out.push(c),
        }
    }
    let mut words: Vec<String> = Vec::new();
    for word in out.split_whitespace() {
        // "54.00" → "54"; "54.00," keeps its comma.
        let trail = word.len() - word.trim_end_matches(|c: char| c.is_ascii_punctuation()).len();
        let (body, tail) = word.split_at(word.len() - trail);
        let body = body.strip_suffix(".00").filter(|b| !b.is_empty() && b.chars().all(|c| c.is_ascii_digit())).unwrap_or(body);
        let word = format!("{body}{tail}");
        if word.chars().all(|c| c == ',') && words.last().is_some_and(|w| w.ends_with(',')) {
            continue;
        }
        words.push(word);
    }
    let mut spoken = words.join(" ");
    for mark in [",", ".", ";", ":", "!", "?"] {
        spoken = spoken.replace(&format!(" {mark}"), mark);
    }
    while spoken.ends_with(',') || spoken.starts_with(',') {
        spoken = spoken.trim_matches(',').trim().to_owned();
    }
    if spoken.chars().count() > MAX_SPOKEN_CHARS {
        let cut: String = spoken.chars().take(MAX_SPOKEN_CHARS).collect();
        spoken = match cut.rfind(' ') {
            Some(i) => cut[..i].to_owned(),
            None => cut,
        };
    }
    spoken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_shelves_and_symbols_read_naturally() {
        assert_eq!(speakable("Drift Hoodie · 54.00 · shelf A1/B2/S1"), "Drift Hoodie, 54, shelf A1, B2, S1");
        assert_eq!(speakable("It costs 3.49, on **aisle 4**."), "It costs 3.49, on aisle 4.");
        assert_eq!(speakable("In stock: 54.00, 12.00."), "In stock: 54, 12.");
        assert_eq!(speakable("line one\nline two\t"), "line one line two");
        assert_eq!(speakable("  / · "), "");
        let long = "word ".repeat(400);
        let cut = speakable(&long);
        assert!(cut.len() <= MAX_SPOKEN_CHARS && cut.ends_with("word"), "{}", cut.len());
    }

    #[test]
    fn a_bad_spec_and_a_missing_program_are_clear_errors() {
        assert!(Synthesizer::from_spec("flite").unwrap_err().to_string().contains("PROGRAM:VOICE"));
        assert!(Synthesizer::from_spec(":slt").is_err());
        let missing = Synthesizer::from_spec("/nonexistent/flite:slt").unwrap();
        assert!(missing.available().is_err());
        assert!(Synthesizer::from_spec("no-such-tts-program:slt").unwrap().available().is_err());
        let err = missing.speak("hello").unwrap_err().to_string();
        assert!(err.contains("cannot run /nonexistent/flite") && err.contains("flite"), "{err}");
        let real = Synthesizer::from_spec("flite:slt").unwrap();
        real.available().expect("flite is installed (scripts/setup.sh)");
        assert!(real.speak(" · ").unwrap_err().to_string().contains("nothing to read"));
    }
}
