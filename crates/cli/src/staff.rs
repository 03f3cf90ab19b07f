//! `vitrine staff`: who may sign in on the kiosk. PINs are read from stdin (or typed at a
//! hidden prompt), never taken on the command line, where `ps` and shell history would keep them.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use vitrine_auth::Role;
use vitrine_config::Config;
use vitrine_store::Store;

#[derive(Subcommand)]
pub enum Staff {
    /// Add a clerk or manager; the PIN (4–8 digits) comes from stdin or a hidden prompt.
    Add {
        #[arg(long)]
        name: String,
        /// clerk or manager
        #[arg(long)]
        role: String,
    },
    /// List staff, their roles and any sign-in lock.
    List,
    /// Give a staff member a new PIN (stdin or hidden prompt); lifts a lock.
    Pin {
        #[arg(long)]
        name: String,
    },
    /// Remove a staff member.
    Remove {
        #[arg(long)]
        name: String,
    },
}

pub fn run(config: Config, which: Staff) -> Result<()> {
    let path = &config.store.database;
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    if config.store.seed_demo {
        store.seed_demo_if_empty()?;
    }
    match which {
        Staff::Add { name, role } => {
            let role: Role = role.parse()?;
            let pin = read_pin()?;
            let member = vitrine_auth::add_staff(&mut store, &name, role, &pin, vitrine_auth::now_ms())?;
            println!("added {} ({})", member.name, member.role);
        }
        Staff::List => {
            let now = vitrine_auth::now_ms();
            for member in vitrine_auth::list_staff(&store)? {
                let mut notes = Vec::new();
                if member.demo {
                    notes.push("demo account, published PIN".to_owned());
                }
                if let Some(until) = member.locked_until_ms.filter(|&until| until > now) {
                    notes.push(format!("locked for {} more min", (until - now + 59_999) / 60_000));
                }
                let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join("; ")) };
                println!("{:<24} {}{notes}", member.name, member.role);
            }
        }
        Staff::Pin { name } => {
            let pin = read_pin()?;
            vitrine_auth::set_pin(&mut store, &name, &pin)?;
            println!("new PIN set for {}", name.trim());
        }
        Staff::Remove { name } => {
            if !vitrine_auth::remove_staff(&mut store, &name)? {
                bail!("no staff member named {:?}", name.trim());
            }
            println!("removed {}", name.trim());
        }
    }
    Ok(())
}

/// One line from stdin, or at a terminal a hidden prompt asked twice.
fn read_pin() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let pin = rpassword::prompt_password("PIN (4-8 digits): ")?;
        if rpassword::prompt_password("the same PIN again: ")? != pin {
            bail!("the two PINs differ; nothing changed");
        }
        return Ok(pin);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the PIN from stdin")?;
    let pin = line.trim_end_matches(['\r', '\n']).to_owned();
    vitrine_auth::validate_pin(&pin)?;
    Ok(pin)
}
