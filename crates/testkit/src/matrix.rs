//! Escalation matrices: the contact-center example the demo seeds, and the small matrices
//! several tests share. A test that needs more appends its own TOML (`[SEEDED_LEVELS,
//! AUTHORITY].concat()`): every constant here starts and ends with a newline, so the pieces
//! join into the same text a test would write in one piece.

use ladder_core::LevelId;
use ladder_core::matrix::{self, Directory, Matrix, SourceMap};

/// `examples/contact-center.toml`, the example matrix the demo seeds.
pub const EXAMPLE: &str = include_str!("../../../examples/contact-center.toml");

/// The example's path, for commands that read it from a file.
pub const EXAMPLE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/contact-center.toml");

/// The example parsed (it always parses).
pub fn example() -> (Matrix, SourceMap) {
    matrix::parse(EXAMPLE, "contact-center.toml").unwrap_or_else(|e| panic!("the example parses: {e:#?}"))
}

/// The teams the example (and the demo seeder) work with, and their levels.
pub const EXAMPLE_TEAMS: [(&str, &str); 6] = [
    ("frontline", "L1"),
    ("outbound", "L1"),
    ("billing", "L2"),
    ("tech", "L2"),
    ("supervisors", "L2"),
    ("management", "L3"),
];

/// [`EXAMPLE_TEAMS`] as the linter's directory.
pub fn example_directory() -> Directory {
    Directory { teams: EXAMPLE_TEAMS.iter().map(|(slug, level)| (slug.to_string(), LevelId::new(*level))).collect() }
}

/// The ladder of the seeded world (`server::World`): the front line at L1, billing and the
/// supervisors at L2, management at L3; no targets.
pub const SEEDED_LEVELS: &str = r#"
[[levels]]
id = "L1"
teams = ["frontline"]

[[levels]]
id = "L2"
teams = ["billing", "supervisors"]

[[levels]]
id = "L3"
teams = ["management"]
"#;

/// [`SEEDED_LEVELS`] with names and targets, as the console shows them: respond within 1h
/// and resolve within 8h at L1, 4h and 24h at L2, respond within 24h at L3.
pub const SEEDED_LEVELS_WITH_TARGETS: &str = r#"
[[levels]]
id = "L1"
name = "Front line"
teams = ["frontline"]
respond = "1h"
resolve = "8h"

[[levels]]
id = "L2"
name = "Specialists"
teams = ["billing", "supervisors"]
respond = "4h"
resolve = "24h"

[[levels]]
id = "L3"
name = "Management"
teams = ["management"]
respond = "24h"
"#;

/// [`SEEDED_LEVELS`] with targets no test waits for (4h to respond, 2 days to resolve at L1
/// and L2), for what-if simulations of rules.
pub const SEEDED_LEVELS_FOR_SIMULATIONS: &str = r#"
[[levels]]
id = "L1"
teams = ["frontline"]
respond = "4h"
resolve = "2d"

[[levels]]
id = "L2"
teams = ["billing", "supervisors"]
respond = "4h"
resolve = "2d"

[[levels]]
id = "L3"
teams = ["management"]
"#;

/// A rule to simulate: billing cases go straight to the back office when they open.
pub const BILLING_RULE: &str = r#"
[[rules]]
name = "Billing goes straight to the back office"
trigger = "case_opened"
when = 'case.category == "billing"'
then = { escalate = "L2", team = "billing", kind = "functional" }
"#;

/// Credit limits: 50 for an agent, 500 for a supervisor, 5000 for a manager.
pub const CREDIT_LIMITS: &str = r#"
[[authority]]
action = "credit"
limits = { agent = 50, supervisor = 500, manager = 5000 }
"#;

/// Business hours for the SLA clocks: warnings at 50 %; the front line (L1, "frontline")
/// works Monday to Friday 08:00–20:00 in New York, the back office (L2, "billing") around the
/// clock; both respond within 1h and resolve within 8h.
pub const SUPPORT_HOURS: &str = r#"
[sla]
warn_at = [50]

[calendars.support]
timezone = "America/New_York"
hours = { "mon-fri" = "08:00-20:00" }

[[levels]]
id = "L1"
teams = ["frontline"]
calendar = "support"
respond = "1h"
resolve = "8h"

[[levels]]
id = "L2"
teams = ["billing"]
respond = "1h"
resolve = "8h"
"#;
