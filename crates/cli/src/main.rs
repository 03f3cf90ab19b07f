//! `vitrine`: every job of the kiosk, headless.

mod assistant;
mod backup;
mod bench;
mod commands;
mod garments;
mod ledger;
mod recommend;
mod report;
mod sheet;
mod shelf;
mod signage;
mod soak;
mod staff;
mod sync;
mod tryon;
mod tryon_eval;

use anyhow::Result;
use clap::{Parser, Subcommand};
use vitrine_app::Overrides;

#[derive(Parser)]
#[command(name = "vitrine", version, about = "Vitrine edge kiosk: mirror, shelf scan and stock, headless")]
struct Cli {
    /// More on stderr: -v what each step does, -vv debugging detail (warnings only without;
    /// RUST_LOG overrides both).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every model: provider it runs on, inputs/outputs, median latency.
    Models {
        /// Timed runs per model (after one warm-up).
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Run the mirror pipeline without a window and report what it did.
    Mirror {
        /// Stop after this many processed frames.
        #[arg(long, default_value_t = 100)]
        frames: u64,
    },
    /// List cameras the system reports.
    Cameras,
    /// Show the store: schema version, catalog, stock.
    Store {
        #[command(subcommand)]
        action: Option<report::StoreAction>,
    },
    /// Manager reports from the stock ledger, as a table, CSV, JSON or PDF.
    Report(report::ReportArgs),
    /// Evaluations on real data; each ends with one line of JSON holding its figures.
    Eval {
        #[command(subcommand)]
        which: EvalCommand,
    },
    /// Print the effective config (file + flags) as TOML.
    Config,
    /// Import sales or deliveries (CSV from the store's other systems) into the stock ledger.
    Import {
        #[command(subcommand)]
        which: ledger::Import,
    },
    /// Sync with HQ: push the outbox, pull catalog changes and other stores' stock.
    Sync {
        #[command(flatten)]
        args: sync::SyncArgs,
        #[command(flatten)]
        hq: sync::HqArgs,
    },
    /// Staff who sign in on the kiosk (clerks, managers) and their PINs.
    Staff {
        #[command(subcommand)]
        which: staff::Staff,
    },
    /// Shelf scans: facings, gaps, labels, planogram and price checks (issue 4).
    Shelf {
        #[command(subcommand)]
        which: shelf::Shelf,
    },
    /// Garments shoppers can try on at the mirror (issue 3), one per catalog variant.
    Garments {
        #[command(subcommand)]
        which: garments::Garments,
    },
    /// The catalog's reference photos for shelf scans.
    Catalog {
        #[command(subcommand)]
        which: shelf::Catalog,
    },
    /// Check camera, models, ONNX Runtime and providers, database, disk, backups, clock, HQ and
    /// GPU: a table, then one line of JSON; exit code 1 when something failed.
    Doctor {
        /// Only the JSON line.
        #[arg(long)]
        json: bool,
    },
    /// In-store posters generated from the store's data (issue 17).
    Signage {
        #[command(subcommand)]
        which: signage::Signage,
    },
    /// Promotions: a percentage off a product for some days (posters show them).
    Promo {
        #[command(subcommand)]
        which: signage::Promo,
    },
    /// What the kiosk suggests with these SKUs (what goes with them, in stock here in their
    /// size); ends with one line of JSON.
    Recommend(recommend::RecommendArgs),
    /// Ask the store assistant, as a shopper at the Ask screen would; several questions are
    /// one conversation. Ends with one line of JSON: the answer, the facts used, the timings.
    Ask(assistant::AskArgs),
    /// Copy the store's database while the kiosk runs (SQLite's online backup), or list backups.
    Backup(backup::BackupArgs),
    /// Put a backup back in place of the store's database (what it holds now is saved first).
    Restore(backup::RestoreArgs),
    /// Train the small models learned from the team's labelled data.
    Train {
        #[command(subcommand)]
        which: TrainCommand,
    },
    /// Benchmarks; each ends with one line of JSON holding its figures.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    #[command(flatten)]
    Report(report::Eval),
    /// Shelf scans: detection AP50 and count error (synthetic and real), product recognition,
    /// label reading.
    Shelf(shelf::EvalShelfArgs),
    /// Try-on quality on real photos and clips: the frame kept outside the garment, torso
    /// coverage and colour, jitter, and the GAN against the plain composite.
    Tryon(tryon_eval::EvalArgs),
    /// Basket completion on the online-retail invoices (last month held out): HR@10 and
    /// NDCG@10 of the kiosk's model against popularity and item-to-item co-occurrence.
    Recommend(recommend::EvalRecommendArgs),
    /// Posters of every product in every design and format: facts checked against the
    /// database, text overflow, WCAG contrast, render time; `--sheet` writes a contact sheet.
    Signage(signage::EvalSignageArgs),
    /// The store assistant on the team's question set (a third held out): facts right,
    /// facts invented, unknowns handled, timings.
    Assistant(assistant::EvalAssistantArgs),
    /// Feedback sentiment and topics on the team's labelled comments.
    Feedback(assistant::EvalFeedbackArgs),
}

#[derive(Subcommand)]
enum TrainCommand {
    /// The feedback reader (sentiment and topics over sentence embeddings + VADER) from
    /// labelled comments; writes models/sentiment/classifier.json.
    Feedback(assistant::TrainFeedbackArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    #[command(flatten)]
    Local(bench::Bench),
    /// A full sync of 100k events through a running HQ (push in batches, pull, resync).
    Sync(sync::BenchSyncArgs),
    /// Every report over a store of 1 M ledger events, and forecasts for 10k SKUs.
    Reports(report::BenchReportsArgs),
    /// A shelf scan of a 1080p frame, per stage (decode, letterbox, detector, recognition,
    /// labels, structure).
    Shelf(shelf::BenchShelfArgs),
    /// The kiosk's work together for N minutes (mirror with try-on on a clip, a shelf scan a
    /// minute, sale imports, sync rounds when [sync] names an HQ): memory, descriptors,
    /// threads and frame rate over time.
    Soak(soak::SoakArgs),
    /// Live try-on at 720p per stage (segment, pose, filter, warp, composite, JPEG) and the
    /// GAN still.
    Tryon(tryon::BenchArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    vitrine_app::init_logging(match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    });
    let config = cli.overrides.load()?;
    match cli.command {
        Command::Models { runs } => commands::models(config, runs),
        Command::Mirror { frames } => commands::mirror(config, frames),
        Command::Cameras => commands::cameras(),
        Command::Store { action: None } => commands::store(config),
        Command::Store { action: Some(action) } => report::store_action(config, action),
        Command::Report(args) => report::report(config, args),
        Command::Eval { which: EvalCommand::Report(which) } => report::eval(which),
        Command::Eval { which: EvalCommand::Shelf(args) } => shelf::eval(config, args),
        Command::Shelf { which } => shelf::run(config, which),
        Command::Catalog { which } => shelf::catalog(config, which),
        Command::Garments { which } => garments::run(config, which),
        Command::Eval { which: EvalCommand::Tryon(args) } => tryon_eval::eval(config, args),
        Command::Eval { which: EvalCommand::Recommend(args) } => recommend::eval(args),
        Command::Recommend(args) => recommend::recommend(config, args),
        Command::Ask(args) => assistant::ask(config, args),
        Command::Eval { which: EvalCommand::Assistant(args) } => assistant::eval(config, args),
        Command::Eval { which: EvalCommand::Feedback(args) } => assistant::eval_feedback(config, args),
        Command::Train { which: TrainCommand::Feedback(args) } => assistant::train_feedback(config, args),
        Command::Signage { which } => signage::run(config, which),
        Command::Promo { which } => signage::promo(config, which),
        Command::Eval { which: EvalCommand::Signage(args) } => signage::eval(config, args),
        Command::Config => {
            print!("{}", config.to_toml());
            Ok(())
        }
        Command::Doctor { json } => {
            let report = vitrine_doctor::diagnose(&config);
            if !json {
                print!("{}", report.table());
            }
            println!("{}", report.json_line());
            if !report.healthy() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Backup(args) => backup::backup(config, args),
        Command::Restore(args) => backup::restore(config, args),
        Command::Import { which } => ledger::import(config, which),
        Command::Staff { which } => staff::run(config, which),
        Command::Sync { args, hq } => sync::sync(config, args, hq),
        Command::Bench { which: BenchCommand::Local(which) } => bench::run(config, which),
        Command::Bench { which: BenchCommand::Sync(args) } => sync::bench(config, args),
        Command::Bench { which: BenchCommand::Reports(args) } => report::bench(args),
        Command::Bench { which: BenchCommand::Shelf(args) } => shelf::bench(config, args),
        Command::Bench { which: BenchCommand::Soak(args) } => soak::soak(config, args),
        Command::Bench { which: BenchCommand::Tryon(args) } => tryon::bench(config, args),
    }
}
