//! The `vitrine` URI scheme: mirror frames cross into the WebView as binary JPEG, one long
//! poll at a time (`vitrine://localhost/frame?after=SEQ`, Windows: `http://vitrine.localhost/…`).
//!
//! 200 + `image/jpeg` + `X-Frame-*` headers for a frame newer than `after`; 204 when nothing
//! newer arrived within the wait; 503 + a plain-text reason when the source is failing or the
//! mirror is not running. Every answer carries the CORS headers the page needs, because the
//! page's origin (`tauri://localhost`) is not the frame origin.

use std::time::Duration;

use tauri::http::{header, Method, Request, Response, StatusCode};
use vitrine_app::App;

/// How long one request waits for a newer frame before answering 204.
pub const LONG_POLL: Duration = Duration::from_secs(1);

pub const EXPOSED_HEADERS: &str = "X-Frame-Seq, X-Capture-Unix-Ms, X-Dropped, X-Pipeline-Ms";

/// Answers one request. Blocks for up to `wait`: call it off the main thread.
pub fn respond(app: &App, request: &Request<Vec<u8>>, wait: Duration) -> Response<Vec<u8>> {
    if request.method() == Method::OPTIONS {
        return base(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS")
            .header(header::ACCESS_CONTROL_ALLOW_HEADERS, "*")
            .body(Vec::new())
            .unwrap_or_default();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET is supported");
    }
    if request.uri().path() != "/frame" {
        return text(StatusCode::NOT_FOUND, &format!("no such resource: {} (try /frame?after=SEQ)", request.uri().path()));
    }
    let after = match query_u64(request.uri().query(), "after") {
        Ok(after) => after.unwrap_or(0),
        Err(bad) => return text(StatusCode::BAD_REQUEST, &format!("bad after={bad:?}: expected a frame number")),
    };
    frame(app, after, wait)
}

fn frame(app: &App, after: u64, wait: Duration) -> Response<Vec<u8>> {
    // Cheap reads only: this runs for every frame the page paints.
    if let Some(problem) = source_problem(app.source_report()) {
        return text(StatusCode::SERVICE_UNAVAILABLE, &problem);
    }
    let Some(board) = app.frames() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, NOT_RUNNING);
    };
    let Some((seq, frame)) = board.newer_than(after, wait) else {
        // Nothing new: maybe the source failed meanwhile, or the mirror was stopped.
        if let Some(problem) = source_problem(app.source_report()) {
            return text(StatusCode::SERVICE_UNAVAILABLE, &problem);
        }
        if app.frames().is_none() {
            return text(StatusCode::SERVICE_UNAVAILABLE, NOT_RUNNING);
        }
        return base(StatusCode::NO_CONTENT).body(Vec::new()).unwrap_or_default();
    };
    let dropped = app.mirror_stats().map(|m| m.dropped).unwrap_or(0);
    base(StatusCode::OK)
        .header(header::CONTENT_TYPE, "image/jpeg")
        .header("X-Frame-Seq", seq.to_string())
        .header("X-Capture-Unix-Ms", format!("{:.1}", frame.captured.unix_millis()))
        .header("X-Dropped", dropped.to_string())
        .header("X-Pipeline-Ms", format!("{:.2}", frame.timings.total_ms))
        .body(frame.jpeg.clone())
        .unwrap_or_default()
}

const NOT_RUNNING: &str = "the mirror is not running";

/// The source's own words when it is in error (e.g. "no camera found; use --source video:PATH …").
fn source_problem(source: vitrine_app::SourceReport) -> Option<String> {
    (source.state == "error")
        .then(|| source.message.unwrap_or_else(|| format!("the frame source {} failed", source.description)))
}

fn base(status: StatusCode) -> tauri::http::response::Builder {
    Response::builder()
        .status(status)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS)
        .header(header::CACHE_CONTROL, "no-store")
}

fn text(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    base(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(message.as_bytes().to_vec())
        .unwrap_or_default()
}

/// `Ok(None)` when the key is absent, `Err(value)` when it is not a number.
fn query_u64<'q>(query: Option<&'q str>, key: &str) -> Result<Option<u64>, &'q str> {
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            return v.parse().map(Some).map_err(|_| v);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn app(source: &str, dir: &Path) -> App {
        let mut config = vitrine_config::Config::default();
        config.camera.source = source.into();
        config.inference.models_dir = repo().join("models");
        config.inference.providers = vec!["cpu".into()];
        let ort = repo().join("vendor/onnxruntime/lib/libonnxruntime.so");
        if ort.is_file() {
            config.inference.runtime_library = Some(ort);
        }
        config.store.database = dir.join("t.db");
        App::start(config)
    }

    fn get(uri: &str) -> Request<Vec<u8>> {
        Request::builder().uri(uri).body(Vec::new()).unwrap()
    }

    fn header<'r>(r: &'r Response<Vec<u8>>, name: &str) -> &'r str {
        r.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or_else(|| panic!("no {name} header"))
    }

    #[test]
    fn query_parsing() {
        assert_eq!(query_u64(Some("after=12"), "after"), Ok(Some(12)));
        assert_eq!(query_u64(Some("x=1&after=0"), "after"), Ok(Some(0)));
        assert_eq!(query_u64(None, "after"), Ok(None));
        assert_eq!(query_u64(Some("after=-1"), "after"), Err("-1"));
    }

    #[test]
    fn not_running_is_503_with_cors_and_bad_requests_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A file source (a missing camera is reported as such even before the mirror starts).
        let app = app(&format!("video:{}", dir.path().join("clip.mp4").display()), dir.path());
        let r = respond(&app, &get("vitrine://localhost/frame?after=0"), Duration::from_millis(10));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(std::str::from_utf8(r.body()).unwrap(), "the mirror is not running");
        assert_eq!(header(&r, "access-control-allow-origin"), "*");
        assert_eq!(header(&r, "access-control-expose-headers"), EXPOSED_HEADERS);
        assert_eq!(header(&r, "cache-control"), "no-store");
        assert_eq!(respond(&app, &get("vitrine://localhost/nope"), Duration::ZERO).status(), StatusCode::NOT_FOUND);
        assert_eq!(respond(&app, &get("vitrine://localhost/frame?after=x"), Duration::ZERO).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn missing_camera_is_503_with_the_sources_message() {
        let dir = tempfile::tempdir().unwrap();
        let app = app("camera:7", dir.path());
        app.start_mirror().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let r = loop {
            let r = respond(&app, &get("vitrine://localhost/frame?after=0"), Duration::from_millis(200));
            if r.status() != StatusCode::NO_CONTENT || Instant::now() > deadline {
                break r;
            }
        };
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = std::str::from_utf8(r.body()).unwrap();
        assert!(body.contains("video:PATH"), "{body}");
        app.stop_mirror();
    }

    #[test]
    fn video_frames_are_jpeg_with_headers_then_204_when_nothing_is_newer() {
        let clip = repo().join("../shared/data/media/videos/intel_asl_sorry.mp4");
        if !clip.exists() {
            eprintln!("skipping: {} is missing", clip.display());
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let app = app(&format!("video:{}", clip.display()), dir.path());
        app.start_mirror().unwrap();
        let r = respond(&app, &get("vitrine://localhost/frame?after=0"), Duration::from_secs(30));
        assert_eq!(r.status(), StatusCode::OK, "{:?}", String::from_utf8_lossy(r.body()));
        assert_eq!(header(&r, "content-type"), "image/jpeg");
        assert_eq!(&r.body()[..3], &[0xFF, 0xD8, 0xFF]);
        let seq: u64 = header(&r, "x-frame-seq").parse().unwrap();
        assert!(seq > 0);
        let captured: f64 = header(&r, "x-capture-unix-ms").parse().unwrap();
        assert!(captured > 1.6e12);
        let _: u64 = header(&r, "x-dropped").parse().unwrap();
        let pipeline: f64 = header(&r, "x-pipeline-ms").parse().unwrap();
        assert!(pipeline > 0.0);
        // The next request asks for something newer.
        let r2 = respond(&app, &get(&format!("vitrine://localhost/frame?after={seq}")), Duration::from_secs(30));
        assert_eq!(r2.status(), StatusCode::OK);
        assert!(header(&r2, "x-frame-seq").parse::<u64>().unwrap() > seq);
        // Far in the future: nothing newer within the wait.
        let r3 = respond(&app, &get("vitrine://localhost/frame?after=18446744073709551615"), Duration::from_millis(50));
        assert_eq!(r3.status(), StatusCode::NO_CONTENT);
        app.stop_mirror();
        let r4 = respond(&app, &get("vitrine://localhost/frame?after=0"), Duration::from_millis(50));
        assert_eq!(r4.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
