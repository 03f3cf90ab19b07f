//! `vitrine-hq`: the service every store's kiosks sync with (see `crates/hq/README.md`).

mod db;
mod server;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "vitrine-hq", version, about = "Vitrine HQ: stores' events, stock and catalog on PostgreSQL")]
struct Cli {
    /// PostgreSQL connection: a URL (postgres://user@host:port/db) or key=value pairs
    /// (host=/run/postgresql dbname=vitrine).
    #[arg(long, env = "VITRINE_HQ_DATABASE_URL", default_value = "host=/run/postgresql dbname=vitrine_hq")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve kiosks over HTTPS.
    Serve {
        #[arg(long, default_value = "0.0.0.0:8443")]
        listen: SocketAddr,
        /// PEM certificate chain (e.g. from `vitrine-hq cert`).
        #[arg(long)]
        cert: PathBuf,
        /// PEM private key of that certificate.
        #[arg(long)]
        key: PathBuf,
        /// PostgreSQL connections to keep.
        #[arg(long, default_value_t = 8)]
        pool_size: usize,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Store tokens: issue, revoke, list.
    Token {
        #[command(subcommand)]
        which: TokenCommand,
    },
    /// Load catalog rows (CSV: product_code,product_name,category,sku,size,colour,barcode,
    /// price_cents,cost_cents); changed rows reach every kiosk on its next pull.
    Catalog {
        file: PathBuf,
    },
    /// Write a self-signed certificate and key (cert.pem, key.pem) for the given names.
    Cert {
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
        /// DNS names or IP addresses the certificate is for.
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
    },
    /// Each store's book stock per SKU as HQ derived it, as JSON lines.
    Stock {
        #[arg(long)]
        store: Option<String>,
    },
    /// Every event HQ holds (store, id, HLC) in HLC order, as JSON lines.
    Events {
        #[arg(long)]
        store: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a new token for a store; prints it (or writes it to --out) once: only its hash is kept.
    Issue {
        #[arg(long)]
        store: String,
        /// Write the token to this file (mode 0600) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Revoke one token by id, or every token of a store.
    Revoke {
        #[arg(long, conflicts_with = "store", required_unless_present = "store")]
        id: Option<String>,
        #[arg(long)]
        store: Option<String>,
    },
    /// Every token: id, store, created, revoked.
    List,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Cert { out_dir, hosts } = &cli.command {
        return write_self_signed(out_dir, hosts);
    }
    let pool_size = match &cli.command {
        Command::Serve { pool_size, .. } => *pool_size,
        _ => 1,
    };
    let pool = db::pool(&cli.database_url, pool_size.max(1))?;
    let version = db::migrate(&pool).await.context("migrating the HQ database")?;
    match cli.command {
        Command::Serve { listen, cert, key, .. } => {
            let tls = tls_acceptor(&cert, &key)?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
            tracing::info!(schema = version, "database ready");
            server::announce(&listener);
            server::serve(listener, tls, server::router(pool)).await;
        }
        Command::Migrate => println!("schema version {version}"),
        Command::Token { which } => token(&pool, which).await?,
        Command::Catalog { file } => {
            let mut reader = csv_reader(&file)?;
            let mut rows = Vec::new();
            for (index, row) in reader.deserialize::<db::CatalogRow>().enumerate() {
                rows.push(row.with_context(|| format!("{} line {}", file.display(), index + 2))?);
            }
            let changed = db::upsert_catalog(&pool, &rows).await?;
            println!("{} rows read, {changed} changed", rows.len());
        }
        Command::Stock { store } => {
            let mut out = std::io::stdout().lock();
            for (store, sku, on_hand) in db::stock(&pool, store.as_deref()).await? {
                writeln!(out, "{}", serde_json::json!({"store_id": store, "sku": sku, "on_hand": on_hand}))?;
            }
        }
        Command::Events { store } => {
            let mut out = std::io::stdout().lock();
            for (store, id, hlc) in db::events(&pool, store.as_deref()).await? {
                writeln!(out, "{}", serde_json::json!({"store_id": store, "id": id, "hlc": hlc}))?;
            }
        }
        Command::Cert { .. } => unreachable!("handled above"),
    }
    Ok(())
}

async fn token(pool: &deadpool_postgres::Pool, which: TokenCommand) -> Result<()> {
    match which {
        TokenCommand::Issue { store, out } => {
            let (token, id) = db::issue_token(pool, &store).await?;
            match out {
                Some(path) => {
                    write_private(&path, format!("{token}\n").as_bytes())?;
                    println!("token {id} for store {store} written to {}", path.display());
                }
                None => println!("{token}"),
            }
            eprintln!("token id {id} for store {store}: keep it secret; HQ keeps only its hash");
        }
        TokenCommand::Revoke { id, store } => {
            let revoked = db::revoke(pool, id.as_deref(), store.as_deref()).await?;
            if revoked == 0 {
                bail!("no live token matched");
            }
            println!("revoked {revoked} token(s)");
        }
        TokenCommand::List => {
            for (id, store, created, revoked) in db::list_tokens(pool).await? {
                let state = revoked.map_or("live".to_owned(), |r| format!("revoked {r}"));
                println!("{id}  {store}  created {created}  {state}");
            }
        }
    }
    Ok(())
}

fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))
}

/// The TLS side of `serve`, on the ring provider.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificate {}", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("cannot read key {}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("certificate and key don't form a usable pair")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn write_self_signed(out_dir: &Path, hosts: &[String]) -> Result<()> {
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec()).context("cannot make a certificate")?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    std::fs::write(out_dir.join("cert.pem"), certified.cert.pem())?;
    write_private(&out_dir.join("key.pem"), certified.signing_key.serialize_pem().as_bytes())?;
    println!("wrote {0}/cert.pem and {0}/key.pem for {1}", out_dir.display(), hosts.join(", "));
    Ok(())
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}
