//! The HTTPS service: `POST /v1/push`, `POST /v1/pull`, `GET /v1/health`, over rustls.
//!
//! Every refusal is a JSON [`ErrorBody`] with a code and a message naming what is wrong, and
//! is logged. A push is checked whole (size, protocol, every event) before anything is
//! written, and written in one transaction, so a bad or oversized batch changes nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use deadpool_postgres::Pool;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};
use vitrine_sync::protocol::{
    ErrorBody, ErrorCode, PullRequest, PullResponse, PushRequest, PushResponse, VersionProbe, MAX_BODY_BYTES,
    MAX_PUSH_EVENTS, PROTOCOL_VERSION, PULL_PATH, PUSH_PATH,
};

use crate::db;

/// A client that hasn't finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Nor may a kept-alive connection sit on a half-sent request head for longer: stalled
/// kiosks (a dying network) must not hold connections and tasks for good.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(pool: Pool) -> Router {
    Router::new()
        .route(PUSH_PATH, post(push))
        .route(PULL_PATH, post(pull))
        .route("/v1/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .with_state(Arc::new(pool))
}

/// Accepts connections until the process ends; each gets its own task.
pub async fn serve(listener: TcpListener, tls: TlsAcceptor, app: Router) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let tls = tls.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return debug!(%peer, "TLS handshake timed out"),
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = connection {
                debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn health(State(pool): State<Arc<Pool>>) -> Response {
    match pool.get().await {
        Ok(client) => match client.query_one("SELECT 1", &[]).await {
            Ok(_) => (StatusCode::OK, "ok\n").into_response(),
            Err(e) => unavailable(&db::DbError::from(e)),
        },
        Err(e) => unavailable(&db::DbError::from(e)),
    }
}

async fn push(State(pool): State<Arc<Pool>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let store = match authenticate(&pool, &headers).await {
        Ok(store) => store,
        Err(refusal) => return refusal,
    };
    let request: PushRequest = match parse(&store, "push", body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    if request.events.len() > MAX_PUSH_EVENTS {
        return refuse(
            &store,
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("a push carries at most {MAX_PUSH_EVENTS} events, this one {}; nothing was stored", request.events.len()),
        );
    }
    let mut ids = std::collections::HashSet::with_capacity(request.events.len());
    for (index, event) in request.events.iter().enumerate() {
        if !ids.insert(event.id.as_str()) {
            return refuse(
                &store,
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidEvent,
                format!("event #{index} ({:?}) appears twice in this batch; nothing from it was stored", event.id),
            );
        }
        if let Err(reason) = event.validate() {
            return refuse(
                &store,
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidEvent,
                format!("event #{index} ({:?}): {reason}; nothing from this batch was stored", event.id),
            );
        }
    }
    let ingested = match db::ingest(&pool, &store, &request.events).await {
        Ok(ingested) => ingested,
        Err(e) => return unavailable(&e),
    };
    debug!(store, inserted = ingested.inserted, duplicates = ingested.duplicates, "push stored");
    let hq_hlc = db::max_hlc(&pool).await.unwrap_or_default();
    Json(PushResponse {
        protocol: PROTOCOL_VERSION,
        inserted: ingested.inserted,
        duplicates: ingested.duplicates,
        hq_hlc,
    })
    .into_response()
}

async fn pull(State(pool): State<Arc<Pool>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let store = match authenticate(&pool, &headers).await {
        Ok(store) => store,
        Err(refusal) => return refusal,
    };
    let request: PullRequest = match parse(&store, "pull", body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let answer = db::pull(&pool, &store, request.catalog_cursor, &request.stock_cursors, request.limit).await;
    let (catalog, catalog_cursor, more, stores) = match answer {
        Ok(answer) => answer,
        Err(e) => return unavailable(&e),
    };
    let hq_hlc = db::max_hlc(&pool).await.unwrap_or_default();
    Json(PullResponse { protocol: PROTOCOL_VERSION, catalog, catalog_cursor, stores, more, hq_hlc }).into_response()
}

/// The store whose live token the request carries.
async fn authenticate(pool: &Pool, headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(refuse("-", StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, "no bearer token".into()));
    };
    match db::authenticate(pool, token).await {
        Ok(Some(store)) => Ok(store),
        Ok(None) => Err(refuse(
            "-",
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "unknown or revoked store token (issue one with `vitrine-hq token issue --store ID`)".into(),
        )),
        Err(e) => Err(unavailable(&e)),
    }
}

/// Reads a request body: size, JSON, protocol version first, then the full shape.
#[allow(clippy::result_large_err)] // the error is the finished refusal, built once per bad request
fn parse<T: DeserializeOwned>(store: &str, what: &str, body: Result<Bytes, BytesRejection>) -> Result<T, Response> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            refuse(
                store,
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                format!("{what} body is larger than {MAX_BODY_BYTES} bytes; nothing was stored"),
            )
        } else {
            refuse(store, StatusCode::BAD_REQUEST, ErrorCode::Malformed, format!("cannot read {what} body: {rejection}"))
        }
    })?;
    let malformed = |e: serde_json::Error| {
        refuse(
            store,
            StatusCode::BAD_REQUEST,
            ErrorCode::Malformed,
            format!("malformed {what} request: {e}; nothing was stored"),
        )
    };
    let probe: VersionProbe = serde_json::from_slice(&body).map_err(malformed)?;
    match probe.protocol {
        Some(PROTOCOL_VERSION) => {}
        Some(other) => {
            return Err(refuse(
                store,
                StatusCode::BAD_REQUEST,
                ErrorCode::ProtocolMismatch,
                format!(
                    "this HQ speaks sync protocol {PROTOCOL_VERSION}, the request is protocol {other}; \
                     update the kiosk or HQ so they match"
                ),
            ))
        }
        None => {
            return Err(refuse(
                store,
                StatusCode::BAD_REQUEST,
                ErrorCode::Malformed,
                format!("{what} request has no protocol field (this HQ speaks {PROTOCOL_VERSION})"),
            ))
        }
    }
    serde_json::from_slice(&body).map_err(malformed)
}

/// Refuses a request whose declared length is over the limit before any of its body is read.
/// Reading it would first send a client that asked `Expect: 100-continue` the go-ahead, and
/// then cut its upload off mid-send, so it could see a reset instead of the 413.
async fn refuse_declared_oversize(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let declared = request.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        let message = format!("request body is larger than {MAX_BODY_BYTES} bytes; nothing was stored");
        return refuse("-", StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge, message);
    }
    next.run(request).await
}

fn refuse(store: &str, status: StatusCode, code: ErrorCode, message: String) -> Response {
    warn!(store, status = status.as_u16(), ?code, message, "request refused");
    (status, Json(ErrorBody { protocol: PROTOCOL_VERSION, code, message })).into_response()
}

/// PostgreSQL down or failing: the client should try again later.
fn unavailable(e: &db::DbError) -> Response {
    error!(error = %e, "database unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(ErrorBody { protocol: PROTOCOL_VERSION, code: ErrorCode::Unavailable, message: e.to_string() }),
    )
        .into_response()
}

/// Logs where HQ listens.
pub fn announce(listener: &TcpListener) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "vitrine-hq listening (HTTPS)");
        // The tests (and scripts) read the actual port from this line when started on :0.
        println!("listening on {addr}");
    }
}
