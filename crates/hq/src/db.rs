//! HQ's PostgreSQL: a small connection pool, versioned migrations, tokens, event ingest,
//! catalog and the pull queries.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sha2::{Digest, Sha256};
use tokio_postgres::{IsolationLevel, NoTls};
use tracing::info;
use vitrine_sync::protocol::{CatalogChange, SkuStock, StoreStock, WireEvent};

/// Ordered schema steps; entry `i` brings the database to version `i + 1`. Append only.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("bad database URL: {0}")]
    Url(String),
    #[error("database unavailable: {0}")]
    Pool(String),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Invalid(String),
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::Pool(e.to_string())
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// A pool of up to `size` connections; a broken connection (PostgreSQL restarted) is
/// replaced on the next checkout.
pub fn pool(url: &str, size: usize) -> Result<Pool> {
    let config = tokio_postgres::Config::from_str(url).map_err(|e| DbError::Url(e.to_string()))?;
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager).max_size(size).build().map_err(|e| DbError::Pool(e.to_string()))
}

/// Applies the steps this database lacks, each in its own transaction together with its
/// row in `schema_migrations` (a second migrator racing on the same step fails on that key
/// and changes nothing).
pub async fn migrate(pool: &Pool) -> Result<i64> {
    let mut client = pool.get().await?;
    let exists: bool =
        client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await?.get(0);
    if !exists {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await?;
    }
    let current: i32 = client
        .query_one("SELECT COALESCE(max(version), 0) FROM schema_migrations", &[])
        .await?
        .get(0);
    if current as usize > MIGRATIONS.len() {
        return Err(DbError::Invalid(format!(
            "the database has schema version {current}, newer than this vitrine-hq ({}); refusing to touch it",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i32 + 1;
        let tx = client.transaction().await?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version]).await?;
        tx.batch_execute(sql).await?;
        tx.commit().await?;
        info!(version, "applied HQ schema migration");
    }
    Ok(MIGRATIONS.len() as i64)
}

/// The hex SHA-256 of a token: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new high-entropy token for `store_id` (returned once, never stored) and its id.
pub async fn issue_token(pool: &Pool, store_id: &str) -> Result<(String, String)> {
    if store_id.trim().is_empty() || store_id.len() > 64 {
        return Err(DbError::Invalid("a store id is 1 to 64 characters".into()));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| DbError::Invalid(format!("no randomness for a token: {e}")))?;
    let token = format!("vt_{}", hex::encode(secret));
    let hash = token_hash(&token);
    let token_id = hash[..12].to_owned();
    pool.get()
        .await?
        .execute(
            "INSERT INTO store_tokens (token_hash, token_id, store_id) VALUES ($1, $2, $3)",
            &[&hash, &token_id, &store_id],
        )
        .await?;
    Ok((token, token_id))
}

/// Revokes tokens by id, or every token of a store; returns how many were still live.
pub async fn revoke(pool: &Pool, token_id: Option<&str>, store_id: Option<&str>) -> Result<u64> {
    Ok(pool
        .get()
        .await?
        .execute(
            "UPDATE store_tokens SET revoked_at = now()
             WHERE revoked_at IS NULL AND (token_id = $1 OR store_id = $2)",
            &[&token_id, &store_id],
        )
        .await?)
}

/// `(token_id, store_id, created, revoked)` for every token.
pub async fn list_tokens(pool: &Pool) -> Result<Vec<(String, String, String, Option<String>)>> {
    let rows = pool
        .get()
        .await?
        .query(
            "SELECT token_id, store_id, created_at::text, revoked_at::text
             FROM store_tokens ORDER BY store_id, created_at",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}

/// The store a live token belongs to.
pub async fn authenticate(pool: &Pool, token: &str) -> Result<Option<String>> {
    let row = pool
        .get()
        .await?
        .query_opt(
            "SELECT store_id FROM store_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash(token)],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// What one push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub inserted: u64,
    pub duplicates: u64,
}

/// Stores a validated batch for `store_id` (no id twice in it) in one transaction: events new
/// to HQ are inserted (ids it has are skipped), the store's stock moves by exactly those, and
/// the store's version, count and clock advance. All of it commits or none of it does.
///
/// The store's row lock, taken first, serialises its pushes, so an anti-join finds every id
/// already stored; it costs about a third less than `ON CONFLICT DO NOTHING`'s speculative
/// inserts, and the primary key still refuses a duplicate should anything else write.
pub async fn ingest(pool: &Pool, store_id: &str, events: &[WireEvent]) -> Result<Ingested> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO stores (store_id) VALUES ($1) ON CONFLICT (store_id) DO NOTHING", &[&store_id])
        .await?;
    // Takes the store's row lock: pushes of one store apply one after another.
    let version: i64 = tx
        .query_one(
            "UPDATE stores SET stock_version = stock_version + 1 WHERE store_id = $1 RETURNING stock_version",
            &[&store_id],
        )
        .await?
        .get(0);
    let column = |f: fn(&WireEvent) -> String| events.iter().map(f).collect::<Vec<String>>();
    let optional = |f: fn(&WireEvent) -> Option<String>| events.iter().map(f).collect::<Vec<Option<String>>>();
    let ids = column(|e| e.id.clone());
    let hlcs = column(|e| e.hlc.clone());
    let origins = column(|e| e.store_id.clone());
    let devices = column(|e| e.device_id.clone());
    let occurred: Vec<i64> = events.iter().map(|e| e.occurred_at_ms).collect();
    let actors = column(|e| e.actor.clone());
    let kinds = column(|e| e.kind.clone());
    let skus = column(|e| e.sku.clone());
    let locations = column(|e| e.location.clone());
    let to_locations = optional(|e| e.to_location.clone());
    let quantities: Vec<i64> = events.iter().map(|e| e.quantity).collect();
    let references = optional(|e| e.reference.clone());
    let notes = optional(|e| e.note.clone());
    let source_keys = optional(|e| e.source_key.clone());
    let inserted = tx
        .query(
            "INSERT INTO events (store_id, event_id, hlc, origin_store_id, device_id, occurred_at_ms,
                                 actor, kind, sku, location, to_location, quantity, reference,
                                 note, source_key)
             SELECT $1, u.*
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                         $12::bigint[], $13::text[], $14::text[], $15::text[]) AS u (event_id)
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.store_id = $1 AND e.event_id = u.event_id)
             RETURNING sku, kind, quantity, hlc",
            &[
                &store_id, &ids, &hlcs, &origins, &devices, &occurred, &actors, &kinds, &skus, &locations,
                &to_locations, &quantities, &references, &notes, &source_keys,
            ],
        )
        .await?;
    let mut deltas: HashMap<String, i64> = HashMap::new();
    let mut max_hlc: Option<String> = None;
    for row in &inserted {
        let kind: &str = row.get(1);
        let quantity: i64 = row.get(2);
        // Stock of the whole store: a transfer between two of its locations moves nothing.
        let delta = match kind {
            "received" | "returned" | "adjusted" => quantity,
            "sold" => -quantity,
            _ => 0,
        };
        if delta != 0 {
            *deltas.entry(row.get(0)).or_default() += delta;
        }
        let hlc: String = row.get(3);
        if max_hlc.as_ref().is_none_or(|m| hlc > *m) {
            max_hlc = Some(hlc);
        }
    }
    let (stock_skus, stock_deltas): (Vec<String>, Vec<i64>) = deltas.into_iter().unzip();
    if !stock_skus.is_empty() {
        tx.execute(
            "INSERT INTO store_stock (store_id, sku, on_hand, version)
             SELECT $1, sku, delta, $4 FROM unnest($2::text[], $3::bigint[]) AS t(sku, delta)
             ON CONFLICT (store_id, sku)
             DO UPDATE SET on_hand = store_stock.on_hand + excluded.on_hand, version = excluded.version",
            &[&store_id, &stock_skus, &stock_deltas, &version],
        )
        .await?;
    }
    let count = inserted.len() as i64;
    tx.execute(
        "UPDATE stores SET events = events + $2, last_seen = now(),
                           max_hlc = GREATEST(max_hlc, $3::text)
         WHERE store_id = $1",
        &[&store_id, &count, &max_hlc],
    )
    .await?;
    tx.commit().await?;
    Ok(Ingested { inserted: count as u64, duplicates: (events.len() - inserted.len()) as u64 })
}

/// The greatest HLC timestamp HQ holds from any store.
pub async fn max_hlc(pool: &Pool) -> Result<Option<String>> {
    let row = pool.get().await?.query_one("SELECT max(max_hlc) FROM stores", &[]).await?;
    Ok(row.get(0))
}

/// One pull's answer: up to `limit` catalog rows after `catalog_cursor` (and whether there
/// are more), and every other store whose stock moved after the kiosk's cursor for it, read
/// from one snapshot so a store's levels and version agree.
pub async fn pull(
    pool: &Pool,
    store_id: &str,
    catalog_cursor: i64,
    stock_cursors: &BTreeMap<String, i64>,
    limit: u32,
) -> Result<(Vec<CatalogChange>, i64, bool, Vec<StoreStock>)> {
    let mut client = pool.get().await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let limit = i64::from(limit.clamp(1, 10_000));
    let rows = tx
        .query(
            "SELECT version, product_code, product_name, category, sku, size, colour, barcode,
                    price_cents, cost_cents
             FROM catalog_variants WHERE version > $1 ORDER BY version LIMIT $2",
            &[&catalog_cursor, &(limit + 1)],
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let catalog: Vec<CatalogChange> = rows
        .iter()
        .take(limit as usize)
        .map(|r| CatalogChange {
            version: r.get(0),
            product_code: r.get(1),
            product_name: r.get(2),
            category: r.get(3),
            sku: r.get(4),
            size: r.get(5),
            colour: r.get(6),
            barcode: r.get(7),
            price_cents: r.get(8),
            cost_cents: r.get(9),
        })
        .collect();
    let cursor = catalog.last().map_or(catalog_cursor, |c| c.version);
    let stores = tx
        .query(
            "SELECT store_id, stock_version, events,
                    (extract(epoch FROM last_seen) * 1000)::bigint
             FROM stores WHERE store_id <> $1 ORDER BY store_id",
            &[&store_id],
        )
        .await?;
    let mut changed = Vec::new();
    for row in stores {
        let other: String = row.get(0);
        let version: i64 = row.get(1);
        let known = stock_cursors.get(&other).copied();
        if known.is_some_and(|k| k >= version) {
            continue;
        }
        // One store's rows only: on a distributed database this runs on one node.
        let levels = tx
            .query(
                "SELECT sku, on_hand FROM store_stock WHERE store_id = $1 AND version > $2 ORDER BY sku",
                &[&other, &known.unwrap_or(0)],
            )
            .await?
            .iter()
            .map(|r| SkuStock { sku: r.get(0), on_hand: r.get(1) })
            .collect();
        changed.push(StoreStock {
            store_id: other,
            stock_version: version,
            events: row.get(2),
            last_seen_unix_ms: row.get(3),
            levels,
        });
    }
    tx.commit().await?;
    Ok((catalog, cursor, more, changed))
}

/// A catalog row as `vitrine-hq catalog import` reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CatalogRow {
    pub product_code: String,
    pub product_name: String,
    pub category: String,
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub barcode: Option<String>,
    pub price_cents: i64,
    pub cost_cents: i64,
}

/// Inserts or updates variants; each row that changes gets the next catalog version, under
/// the `catalog_head` lock, in one transaction. Returns how many rows changed.
pub async fn upsert_catalog(pool: &Pool, rows: &[CatalogRow]) -> Result<u64> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let mut version: i64 = tx
        .query_one("SELECT version FROM catalog_head WHERE id = 1 FOR UPDATE", &[])
        .await?
        .get(0);
    let mut changed = 0;
    for row in rows {
        let n = tx
            .execute(
                "INSERT INTO catalog_variants (sku, product_code, product_name, category, size, colour,
                                               barcode, price_cents, cost_cents, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (sku) DO UPDATE SET
                     product_code = excluded.product_code, product_name = excluded.product_name,
                     category = excluded.category, size = excluded.size, colour = excluded.colour,
                     barcode = excluded.barcode, price_cents = excluded.price_cents,
                     cost_cents = excluded.cost_cents, version = excluded.version
                 WHERE (catalog_variants.product_code, catalog_variants.product_name,
                        catalog_variants.category, catalog_variants.size, catalog_variants.colour,
                        catalog_variants.barcode, catalog_variants.price_cents,
                        catalog_variants.cost_cents)
                       IS DISTINCT FROM
                       (excluded.product_code, excluded.product_name, excluded.category,
                        excluded.size, excluded.colour, excluded.barcode, excluded.price_cents,
                        excluded.cost_cents)",
                &[
                    &row.sku, &row.product_code, &row.product_name, &row.category, &row.size, &row.colour,
                    &row.barcode, &row.price_cents, &row.cost_cents, &(version + 1),
                ],
            )
            .await?;
        if n == 1 {
            version += 1;
            changed += 1;
        }
    }
    tx.execute("UPDATE catalog_head SET version = $1 WHERE id = 1", &[&version]).await?;
    tx.commit().await?;
    Ok(changed)
}

/// `(store_id, sku, on_hand)` for every store (or one), for `vitrine-hq stock` and the tests.
pub async fn stock(pool: &Pool, store_id: Option<&str>) -> Result<Vec<(String, String, i64)>> {
    let rows = pool
        .get()
        .await?
        .query(
            "SELECT store_id, sku, on_hand FROM store_stock
             WHERE $1::text IS NULL OR store_id = $1 ORDER BY store_id, sku",
            &[&store_id],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// `(store_id, event_id, hlc)` of every event (or one store's), in HLC order.
pub async fn events(pool: &Pool, store_id: Option<&str>) -> Result<Vec<(String, String, String)>> {
    let rows = pool
        .get()
        .await?
        .query(
            "SELECT store_id, event_id, hlc FROM events
             WHERE $1::text IS NULL OR store_id = $1 ORDER BY hlc, event_id",
            &[&store_id],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}
