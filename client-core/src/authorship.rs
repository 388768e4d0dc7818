//! Who wrote a change, as its message says.
//!
//! The store stamps every change it commits with the device's user and, on a second line, the
//! device's name; conflict views and histories show them. A message is whatever the device
//! wrote, so the server refuses a pushed change whose message names another user than the one
//! it authenticated: the names devices show are the ones the server checked.

/// The message of a change by `author` on `device`.
pub fn message(author: &str, device: Option<&str>) -> String {
    match device {
        Some(device) => format!("{author}\n{device}"),
        None => author.to_string(),
    }
}

/// The author and the device a change's message names.
pub fn parse(message: Option<&str>) -> (Option<&str>, Option<&str>) {
    match message {
        Some(m) => match m.split_once('\n') {
            Some((author, device)) => (Some(author), Some(device)),
            None => (Some(m), None),
        },
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_as_its_author_and_device() {
        assert_eq!(
            parse(Some(&message("li", Some("手机")))),
            (Some("li"), Some("手机"))
        );
        assert_eq!(parse(Some(&message("li", None))), (Some("li"), None));
        assert_eq!(parse(None), (None, None));
    }
}
