//! `fieldsync-server user …`: manage accounts from the machine the data is on.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use clap::Subcommand;
use fieldsync_server::accounts::hash_password;
use fieldsync_server::config::open_storage;
use fieldsync_server::storage::{Role, User};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (or the variable --password-env names).
    Add {
        /// Login name.
        #[arg(long)]
        username: String,
        /// rep, manager or admin.
        #[arg(long)]
        role: String,
        /// A territory (repeat for several).
        #[arg(long = "territory")]
        territories: Vec<String>,
        /// The user's manager.
        #[arg(long)]
        manager: Option<String>,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user: no more logins, refreshes or syncs; their devices are logged out and
    /// told the account is disabled.
    Disable {
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user again; they log in anew on each device.
    Enable {
        /// Login name.
        username: String,
    },
    /// Set a new password for a user (a forgotten one); read from standard input (or the
    /// variable --password-env names). Devices already logged in stay logged in.
    Password {
        /// Login name.
        username: String,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
}

/// The option naming where the data is, for a command to copy (without the database's
/// password, which stays in the operator's hands).
pub fn storage_option(data_dir: &Path, database_url: Option<&str>) -> String {
    match database_url {
        Some(_) => "--database-url postgres://…".into(),
        None => format!("--data-dir {}", data_dir.display()),
    }
}

pub fn read_password(password_env: Option<String>) -> Result<String, String> {
    let password = match password_env {
        Some(var) => std::env::var(&var).map_err(|_| format!("the variable {var} is not set"))?,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("password: ");
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.chars().count() < 8 {
        return Err("the password must be at least 8 characters".into());
    }
    Ok(password)
}

pub fn users(
    data_dir: &Path,
    database_url: Option<&str>,
    command: UserCommand,
) -> Result<(), String> {
    let storage = open_storage(data_dir, database_url).map_err(|e| e.to_string())?;
    match command {
        UserCommand::Add {
            username,
            role,
            territories,
            manager,
            password_env,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| format!("unknown role '{role}': use rep, manager or admin"))?;
            fieldsync_core::model::fields::validate_username("username", &username)
                .map_err(|e| e.to_string())?;
            if let Some(m) = &manager {
                let found = storage.user(m).map_err(|e| e.to_string())?;
                if !found.is_some_and(|u| u.role != Role::Rep) {
                    return Err(format!(
                        "manager '{m}' is not a manager or admin here: add them first"
                    ));
                }
            }
            let password = read_password(password_env)?;
            let user = User {
                username: username.clone(),
                role,
                territories,
                manager,
                disabled: false,
                password_hash: hash_password(&password).map_err(|e| e.to_string())?,
            };
            storage.add_user(&user).map_err(|e| e.to_string())?;
            println!("{}", added_line(&user));
            Ok(())
        }
        UserCommand::List => {
            let users = storage.users().map_err(|e| e.to_string())?;
            if users.is_empty() {
                eprintln!(
                    "no users yet: add the first admin with\n  fieldsync-server {} user add --username admin --role admin",
                    storage_option(data_dir, database_url)
                );
                return Ok(());
            }
            println!(
                "{:<20} {:<8} {:<10} {:<16} territories",
                "username", "role", "status", "manager"
            );
            for u in users {
                println!(
                    "{:<20} {:<8} {:<10} {:<16} {}",
                    u.username,
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "active" },
                    u.manager.as_deref().unwrap_or("-"),
                    u.territories.join(",")
                );
            }
            Ok(())
        }
        UserCommand::Disable { username } => {
            if storage
                .set_disabled(&username, true)
                .map_err(|e| e.to_string())?
            {
                println!("disabled {username}; their devices are logged out");
                Ok(())
            } else {
                Err(no_user(&username))
            }
        }
        UserCommand::Enable { username } => {
            let user = storage
                .user(&username)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| no_user(&username))?;
            if !user.disabled {
                println!("{username} is already enabled");
                return Ok(());
            }
            storage
                .set_disabled(&username, false)
                .map_err(|e| e.to_string())?;
            println!("enabled {username}; they log in again on each device");
            Ok(())
        }
        UserCommand::Password {
            username,
            password_env,
        } => {
            if storage
                .user(&username)
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(no_user(&username));
            }
            let password = read_password(password_env)?;
            let hash = hash_password(&password).map_err(|e| e.to_string())?;
            if !storage
                .set_password_hash(&username, &hash)
                .map_err(|e| e.to_string())?
            {
                return Err(no_user(&username));
            }
            println!("password of {username} changed; their devices stay logged in");
            Ok(())
        }
    }
}

fn no_user(username: &str) -> String {
    format!("no user '{username}': list the users with `fieldsync-server user list`")
}

/// The one line `user add` prints: "added rep li.wei (territories: east; manager: zhang)".
fn added_line(user: &User) -> String {
    let territories = if user.territories.is_empty() {
        "none".to_string()
    } else {
        user.territories.join(", ")
    };
    let manager = user.manager.as_deref().unwrap_or("none");
    format!(
        "added {} {} (territories: {territories}; manager: {manager})",
        user.role.as_str(),
        user.username
    )
}
