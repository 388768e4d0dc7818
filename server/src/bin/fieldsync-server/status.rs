//! `fieldsync-server status`: how a running server is, asked over its own API
//! (`GET /v1/admin/health`) with an admin's login, so it works the same against a server on
//! this machine, behind a proxy, or one of several nodes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::config_file::FileSettings;

/// The options of `status`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// The server's address (default: from the configuration's `listen`, on this machine,
    /// https when it has a certificate; else http://127.0.0.1:8080). A private CA's
    /// certificate is trusted through FIELDSYNC_CA_CERT.
    #[arg(long, env = "FIELDSYNC_STATUS_URL")]
    url: Option<String>,
    /// An admin's login name.
    #[arg(long, env = "FIELDSYNC_ADMIN_USER")]
    username: String,
    /// The environment variable holding the admin's password (else it is read from standard
    /// input).
    #[arg(long, default_value = "FIELDSYNC_ADMIN_PASSWORD")]
    password_env: String,
    /// Print the server's answer as JSON.
    #[arg(long)]
    json: bool,
}

/// Logs in, reads the health figures, logs out, and prints them.
pub fn status(args: &StatusArgs, file: &FileSettings) -> Result<(), String> {
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| default_url(file))
        .trim_end_matches('/')
        .to_string();
    let password = match std::env::var(&args.password_env) {
        Ok(p) => p,
        Err(_) => crate::users::read_password(None)?,
    };
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .tls_config(fieldsync_core::sync::http::tls_config())
        .user_agent(concat!("fieldsync-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let unreachable = |e: ureq::Error| format!("cannot reach the server at {base}: {e}");
    let mut login = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(serde_json::json!({
            "username": args.username,
            "password": password,
            "device_name": "fieldsync-server status",
        }))
        .map_err(unreachable)?;
    let session: Value = read_json(&mut login, "log in")?;
    let token = session["access_token"]
        .as_str()
        .ok_or("the login answer has no access token")?
        .to_string();
    let refresh = session["refresh_token"].as_str().map(str::to_string);
    let mut answer = agent
        .get(format!("{base}/v1/admin/health"))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .map_err(unreachable)?;
    let health = read_json(&mut answer, "read the health figures");
    // The session was only for this: close it, whatever the answer was.
    let _ = agent
        .post(format!("{base}/v1/auth/logout"))
        .header("authorization", format!("Bearer {token}"))
        .send_json(serde_json::json!({ "refresh_token": refresh }));
    let health = health?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&health).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", describe(&base, &health));
    }
    Ok(())
}

/// Where a server started with this configuration answers on this machine.
fn default_url(file: &FileSettings) -> String {
    let listen = std::env::var("FIELDSYNC_LISTEN")
        .ok()
        .or_else(|| file.get("listen").map(str::to_string))
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let tls = std::env::var_os("FIELDSYNC_TLS_CERT").is_some() || file.get("tls-cert").is_some();
    let local = match listen.rsplit_once(':') {
        Some(("0.0.0.0" | "[::]", port)) => format!("127.0.0.1:{port}"),
        _ => listen,
    };
    format!("{}://{local}", if tls { "https" } else { "http" })
}

fn read_json(response: &mut ureq::http::Response<ureq::Body>, what: &str) -> Result<Value, String> {
    let status = response.status().as_u16();
    let body: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| format!("cannot {what}: the answer ({status}) is not JSON: {e}"))?;
    if status >= 300 {
        let message = body["message"].as_str().unwrap_or("no message");
        return Err(format!("cannot {what}: {status} {message}"));
    }
    Ok(body)
}

/// The figures, one a line, for a person.
fn describe(base: &str, h: &Value) -> String {
    let number = |key: &str| h[key].as_u64().map_or("-".to_string(), |n| n.to_string());
    let when = |entry: &Value| match entry["at"].as_i64() {
        Some(at) => format!("{} ({})", format_time(at), ago(at)),
        None => "never".to_string(),
    };
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<18} {value}\n"));
    line("server", base.to_string());
    line("version", h["version"].as_str().unwrap_or("-").to_string());
    line(
        "uptime",
        h["uptime_secs"]
            .as_u64()
            .map_or("-".into(), |s| span(Duration::from_secs(s))),
    );
    line(
        "users",
        format!(
            "{} ({} disabled)",
            number("users"),
            number("disabled_users")
        ),
    );
    line("documents", number("documents"));
    line(
        "log",
        format!(
            "{} entries, {}",
            number("log_entries"),
            h["log_bytes"].as_u64().map_or("-".into(), bytes)
        ),
    );
    line("last compaction", when(&h["last_compaction"]));
    line("last backup", when(&h["last_backup"]));
    line("devices, last day", number("devices_last_day"));
    out
}

fn format_time(unix_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| unix_ms.to_string())
}

fn ago(unix_ms: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let past = u64::try_from(now.saturating_sub(unix_ms)).unwrap_or(0);
    format!("{} ago", span(Duration::from_millis(past)))
}

fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_read_as_lines_and_what_is_missing_reads_as_never() {
        let h = serde_json::json!({
            "version": "0.2.0", "uptime_secs": 3700, "documents": 12, "log_entries": 40,
            "log_bytes": 2048, "users": 5, "disabled_users": 1,
            "last_compaction": null, "devices_last_day": 3
        });
        let text = describe("http://127.0.0.1:8080", &h);
        assert!(text.contains("version            0.2.0"), "{text}");
        assert!(text.contains("uptime             1 h 1 min"), "{text}");
        assert!(text.contains("users              5 (1 disabled)"), "{text}");
        assert!(
            text.contains("log                40 entries, 2.0 KiB"),
            "{text}"
        );
        assert!(text.contains("last compaction    never"), "{text}");
        assert!(text.contains("last backup        never"), "{text}");
    }
}
