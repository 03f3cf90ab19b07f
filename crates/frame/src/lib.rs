//! The one frame type shared by capture, vision and the kiosk.
//!
//! A [`Frame`] owns tightly packed 8-bit pixels plus the moment it was captured, so latency
//! can be measured from the camera all the way to the paint in the WebView.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pixel layout of a [`Frame`]. All formats are 8 bits per channel, rows tightly packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Red, green, blue: what models and the WebView expect.
    Rgb8,
    /// Blue, green, red: what OpenCV decodes to.
    Bgr8,
    /// One channel, e.g. a mask scaled to 0..=255.
    Gray8,
}

impl PixelFormat {
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Gray8 => 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {width}x{height} {format:?} needs {expected} bytes, got {actual}")]
    WrongLength { width: u32, height: u32, format: PixelFormat, expected: usize, actual: usize },
    #[error("frame has zero size ({width}x{height})")]
    Empty { width: u32, height: u32 },
    #[error("cannot convert {from:?} to {to:?}")]
    Unsupported { from: PixelFormat, to: PixelFormat },
}

/// When a frame was captured: a monotonic instant for in-process latency and a wall-clock
/// time so the WebView (another process) can compute capture-to-paint latency.
#[derive(Debug, Clone, Copy)]
pub struct CaptureTime {
    pub instant: Instant,
    pub wall: SystemTime,
}

impl CaptureTime {
    pub fn now() -> Self {
        Self { instant: Instant::now(), wall: SystemTime::now() }
    }

    /// Milliseconds since the Unix epoch, as a float so sub-millisecond precision survives.
    pub fn unix_millis(&self) -> f64 {
        self.wall.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs_f64() * 1000.0
    }

    pub fn age(&self) -> Duration {
        self.instant.elapsed()
    }
}

/// A captured (or derived) image with its capture time and sequence number.
#[derive(Debug, Clone)]
pub struct Frame {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: Vec<u8>,
    /// Position in the source's stream, counting every frame the source produced.
    pub seq: u64,
    pub captured: CaptureTime,
}

impl Frame {
    pub fn new(width: u32, height: u32, format: PixelFormat, data: Vec<u8>) -> Result<Self, FrameError> {
        if width == 0 || height == 0 {
            return Err(FrameError::Empty { width, height });
        }
        let expected = width as usize * height as usize * format.channels();
        if data.len() != expected {
            return Err(FrameError::WrongLength { width, height, format, expected, actual: data.len() });
        }
        Ok(Self { width, height, format, data, seq: 0, captured: CaptureTime::now() })
    }

    /// Same as [`Frame::new`] but with an explicit sequence number and capture time.
    pub fn with_meta(mut self, seq: u64, captured: CaptureTime) -> Self {
        self.seq = seq;
        self.captured = captured;
        self
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn format(&self) -> PixelFormat {
        self.format
    }
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
    pub fn stride(&self) -> usize {
        self.width as usize * self.format.channels()
    }

    /// Converts between RGB and BGR (swapping channels in place); other pairs are an error.
    pub fn into_format(mut self, to: PixelFormat) -> Result<Self, FrameError> {
        use PixelFormat::*;
        match (self.format, to) {
            (a, b) if a == b => Ok(self),
            (Rgb8, Bgr8) | (Bgr8, Rgb8) => {
                for px in self.data.chunks_exact_mut(3) {
                    px.swap(0, 2);
                }
                self.format = to;
                Ok(self)
            }
            (from, to) => Err(FrameError::Unsupported { from, to }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_buffer_length() {
        let err = Frame::new(4, 2, PixelFormat::Rgb8, vec![0; 23]).unwrap_err();
        assert!(matches!(err, FrameError::WrongLength { expected: 24, actual: 23, .. }));
    }

    #[test]
    fn rejects_empty_frames() {
        assert!(matches!(Frame::new(0, 2, PixelFormat::Gray8, vec![]), Err(FrameError::Empty { .. })));
    }

    #[test]
    fn rgb_bgr_round_trip_swaps_channels() {
        let f = Frame::new(1, 1, PixelFormat::Rgb8, vec![1, 2, 3]).unwrap();
        let bgr = f.into_format(PixelFormat::Bgr8).unwrap();
        assert_eq!(bgr.data(), &[3, 2, 1]);
        let rgb = bgr.into_format(PixelFormat::Rgb8).unwrap();
        assert_eq!(rgb.data(), &[1, 2, 3]);
        assert!(rgb.into_format(PixelFormat::Gray8).is_err());
    }

    #[test]
    fn capture_time_is_after_epoch() {
        assert!(CaptureTime::now().unix_millis() > 1.6e12);
    }
}
