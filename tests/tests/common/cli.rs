//! What the command-line tests share: a logged-in device home, running `fieldsync` in it, and
//! reading its answers.

use fieldsync_tests::cli::{Home, Run};
use serde_json::Value;

/// The password of `user` in [`super::org`].
pub fn pw(user: &str) -> String {
    format!("pw-{user}-secret")
}

/// A new device home of `user`, logged in to `url`.
pub fn logged_in(url: &str, user: &str) -> Home {
    let home = Home::new().unwrap();
    home.login(url, user, &pw(user)).unwrap().ok();
    home
}

/// Runs `fieldsync` with `args` in `home`.
pub fn run(home: &Home, args: &[&str]) -> Run {
    home.run(args).unwrap()
}

/// The JSON a successful run printed.
pub fn json(run: Run) -> Value {
    serde_json::from_str(run.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// Asserts a user error: exit code 1, nothing on stdout, one line on stderr containing `says`.
pub fn user_error(run: Run, says: &str) {
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    assert!(
        lines[0].contains(says),
        "{:?} should say {says:?}",
        lines[0]
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}
