//! The small organisation the rule tests work with.

use fieldsync_core::rights::{Member, Role};

/// admin; zhang manages east (li, wang); zhao manages north (chen).
pub struct User {
    pub name: &'static str,
    pub role: Role,
    pub territories: Vec<String>,
    pub manager: Option<&'static str>,
}

impl Member for User {
    fn username(&self) -> &str {
        self.name
    }
    fn role(&self) -> Role {
        self.role
    }
    fn territories(&self) -> &[String] {
        &self.territories
    }
    fn manager(&self) -> Option<&str> {
        self.manager
    }
}

pub fn org() -> Vec<User> {
    let user = |name, role, territories: &[&str], manager| User {
        name,
        role,
        territories: territories.iter().map(|t| t.to_string()).collect(),
        manager,
    };
    vec![
        user("admin", Role::Admin, &[], None),
        user("zhang", Role::Manager, &["east"], None),
        user("zhao", Role::Manager, &["north"], None),
        user("li", Role::Rep, &["east"], Some("zhang")),
        user("wang", Role::Rep, &["east"], Some("zhang")),
        user("chen", Role::Rep, &["north"], Some("zhao")),
    ]
}
