//! Who may see and change what: the server's decisions, never the client's.
//!
//! The rules themselves live in client-core ([`fieldsync_core::rights`]) so that a device asks
//! the same functions before it writes; the server runs them on every push with what only it
//! knows: every user, every team, and the stored scope of every document.

pub use fieldsync_core::rights::{
    Directory, DocScope, Member, Principal, Refusal, Role, WriteContext, check_write, not_yours,
    scope_of,
};

use crate::storage::User;

impl Member for User {
    fn username(&self) -> &str {
        &self.username
    }

    fn role(&self) -> Role {
        self.role
    }

    fn territories(&self) -> &[String] {
        &self.territories
    }

    fn manager(&self) -> Option<&str> {
        self.manager.as_deref()
    }
}
