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
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    run_with(config, which, &mut stdin.lock(), terminal)
}

/// `run` with the PIN read from `input` (a hidden prompt instead when `terminal`).
fn run_with(config: Config, which: Staff, input: &mut dyn BufRead, terminal: bool) -> Result<()> {
    let path = &config.store.database;
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    if config.store.seed_demo {
        store.seed_demo_if_empty()?;
    }
    match which {
        Staff::Add { name, role } => {
            let role: Role = role.parse()?;
            let pin = read_pin(input, terminal)?;
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
            let pin = read_pin(input, terminal)?;
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

/// One line of `input`, or at a terminal a hidden prompt asked twice.
fn read_pin(input: &mut dyn BufRead, terminal: bool) -> Result<String> {
    if terminal {
        let pin = rpassword::prompt_password("PIN (4-8 digits): ")?;
        if rpassword::prompt_password("the same PIN again: ")? != pin {
            bail!("the two PINs differ; nothing changed");
        }
        return Ok(pin);
    }
    let mut line = String::new();
    input.read_line(&mut line).context("reading the PIN from stdin")?;
    let pin = line.trim_end_matches(['\r', '\n']).to_owned();
    vitrine_auth::validate_pin(&pin)?;
    Ok(pin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let mut config = Config::default();
        config.store.database = dir.join("staff.db");
        config
    }

    fn add(config: &Config, name: &str, role: &str, stdin: &str) -> Result<()> {
        let which = Staff::Add { name: name.into(), role: role.into() };
        run_with(config.clone(), which, &mut stdin.as_bytes(), false)
    }

    #[test]
    fn staff_are_added_with_the_pin_from_stdin_and_bad_input_adds_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        add(&config, "Ana Lima", "manager", "97531\n").unwrap();
        for (stdin, role, want) in [("12\n", "clerk", "4 to 8 digits"), ("1234 \n", "clerk", "4 to 8 digits"), ("", "clerk", "4 to 8 digits"), ("1234\n", "owner", "unknown role")] {
            let err = add(&config, "Bo", role, stdin).unwrap_err().to_string();
            assert!(err.contains(want), "{stdin:?}: {err}");
        }
        let err = add(&config, "ana lima", "clerk", "1234\n").unwrap_err().to_string();
        assert!(err.contains("exists already"), "{err}");

        let mut store = Store::open(&config.store.database).unwrap();
        let names: Vec<_> = vitrine_auth::list_staff(&store).unwrap().into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["Ana Lima", "Demo Clerk", "Demo Manager"]);
        let policy = vitrine_auth::Policy::default();
        assert!(vitrine_auth::sign_in(&mut store, &policy, "Ana Lima", "97531", 0).is_ok());
        drop(store);

        let pin = |name: &str, stdin: &str| run_with(config.clone(), Staff::Pin { name: name.into() }, &mut stdin.as_bytes(), false);
        pin("Ana Lima", "2222\n").unwrap();
        assert!(pin("Nobody", "2222\n").is_err());
        run_with(config.clone(), Staff::Remove { name: "Demo Manager".into() }, &mut "".as_bytes(), false).unwrap();
        assert!(run_with(config.clone(), Staff::Remove { name: "Demo Manager".into() }, &mut "".as_bytes(), false).is_err());
        let mut store = Store::open(&config.store.database).unwrap();
        assert!(vitrine_auth::sign_in(&mut store, &policy, "Ana Lima", "2222", 0).is_ok());
        assert_eq!(vitrine_auth::demo_staff(&store).unwrap().len(), 1);
    }
}
