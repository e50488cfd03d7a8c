//! The escalation matrix: every parse and lint message at its exact position (tests as
//! data), the examples, evaluation order and stop semantics, the index agreeing with plain
//! evaluation, the parser never panicking, and the semantic diff.

use jiff::Timestamp;
use ladder_core::directory::LevelId;
use ladder_core::matrix::{self, Action, CompiledMatrix, Directory, Facts, Trigger};
use ladder_testkit::matrix::{EXAMPLE, example_directory};
use proptest::prelude::*;
use serde_json::{Value, json};

const IT_OPS: &str = include_str!("../../../examples/it-ops.toml");

/// A three-level ladder to put in front of rules that need levels.
const LEVELS: &str = r#"
[[levels]]
id = "L1"
respond = "0m"

[[levels]]
id = "L2"
respond = "1h"

[[levels]]
id = "L3"
respond = "24h"
"#;

/// Checks `source` and compares every diagnostic, as `LINE:COL: SEVERITY: MESSAGE`.
fn check_with(source: &str, directory: Option<&Directory>, expected: &[&str]) {
    let got: Vec<String> = matrix::check(source, "m.toml", directory)
        .iter()
        .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.severity.as_str(), d.message))
        .collect();
    assert_eq!(got, expected, "\nsource:\n{source}");
}

fn check(source: &str, expected: &[&str]) {
    check_with(source, None, expected);
}

/// The hint of the only diagnostic of `source`.
fn hint(source: &str) -> String {
    let d = matrix::check(source, "m.toml", None);
    assert_eq!(d.len(), 1, "{d:#?}");
    d[0].hint.clone().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Parse errors

#[test]
fn toml_syntax_error() {
    check("a = \n", &["1:5: error: TOML syntax: string values must be quoted, expected literal string"]);
    check("[[rules]]\nname = \"x\"\nname = \"y\"\n", &["3:1: error: TOML syntax: duplicate key"]);
}

#[test]
fn unknown_keys_suggest_the_close_one() {
    check("levls = []\n", &["1:1: error: unknown key 'levls' at the top level"]);
    assert_eq!(hint("levls = []\n"), "did you mean 'levels'?");
    check("[[levels]]\nid = \"L1\"\nrespnd = \"1h\"\n", &["3:1: error: unknown key 'respnd' in levels[0]"]);
    assert_eq!(hint("[[levels]]\nid = \"L1\"\nrespnd = \"1h\"\n"), "did you mean 'respond'?");
    assert_eq!(
        hint("[[levels]]\nid = \"L1\"\nzzz = 1\n"),
        "expected one of: id, name, criteria, teams, roles, respond, update, resolve, by_priority, by_segment, calendar"
    );
    check(
        "[[levels]]\nid = \"L1\"\nby_priority = { urgnt = { respond = \"1m\" } }\n",
        &["3:17: error: unknown key 'urgnt' in levels[0].by_priority"],
    );
}

#[test]
fn wrong_types() {
    check("[[levels]]\nid = 2\n", &["2:6: error: 'id' must be a string, not an integer"]);
    check("levels = 3\n", &["1:10: error: 'levels' must be an array of tables, written [[...]], not an integer"]);
    check("[[rules]]\nname = \"r\"\nstop = \"yes\"\n", &["3:8: error: 'stop' must be true or false, not a string"]);
}

#[test]
fn missing_keys() {
    check("[[levels]]\nname = \"Front\"\n", &["1:1: error: missing 'id' (the level's short name, e.g. \"L2\")"]);
    check(
        "[[rules]]\nwhen = \"true\"\n",
        &["1:1: error: missing 'name' (a unique name, recorded as the reason for what the rule does)"],
    );
    check(
        "[calendars.c]\nhours = { daily = \"08:00-17:00\" }\n",
        &["1:1: error: missing 'timezone' (an IANA time zone such as 'America/New_York')"],
    );
}

#[test]
fn invalid_durations() {
    check("[[levels]]\nid = \"L1\"\nrespond = \"1x\"\n", &["3:11: error: invalid duration '1x'"]);
    check("[[levels]]\nid = \"L1\"\nresolve = \"30m1h\"\n", &["3:11: error: invalid duration '30m1h'"]);
}

#[test]
fn invalid_calendar_parts() {
    let cal = |hours: &str| format!("[calendars.c]\ntimezone = \"UTC\"\nhours = {{ {hours} }}\n");
    check(&cal("\"mon-fri\" = \"25:00-26:00\""), &["3:23: error: invalid window '25:00-26:00'"]);
    check(&cal("\"mon-fry\" = \"08:00-17:00\""), &["3:11: error: invalid days 'mon-fry'"]);
    check(&cal("\"mon-fri\" = [\"08:00-12:00\", \"13:00-17:0\"]"), &["3:39: error: invalid window '13:00-17:0'"]);
    check(
        "[calendars.c]\ntimezone = \"Mars/Olympus\"\nhours = { daily = \"00:00-24:00\" }\n",
        &["2:12: error: unknown time zone 'Mars/Olympus'"],
    );
    check(
        "[calendars.c]\ntimezone = \"UTC\"\nhours = { daily = \"08:00-17:00\" }\nholidays = [\"2026-02-30\"]\n",
        &["4:13: error: invalid date '2026-02-30'"],
    );
    check(
        "[calendars.c]\ntimezone = \"UTC\"\nhours = { daily = \"08:00-17:00\" }\noverrides = { \"26-12-24\" = \"closed\" }\n",
        &["4:15: error: invalid date '26-12-24'"],
    );
}

#[test]
fn unknown_choices() {
    check(
        "[[rules]]\nname = \"r\"\ntrigger = \"case_opend\"\ntags = \"a\"\n",
        &["3:11: error: unknown trigger 'case_opend'"],
    );
    assert_eq!(
        hint("[[rules]]\nname = \"r\"\ntrigger = \"case_opend\"\npriority = \"low\"\n"),
        "did you mean 'case_opened'?"
    );
    check("[[rules]]\nname = \"r\"\npriority = \"hihg\"\n", &["3:12: error: unknown priority 'hihg'"]);
    check("[[levels]]\nid = \"L1\"\nroles = [\"agent\", \"boss\"]\n", &["3:19: error: unknown role 'boss'"]);
    check("[[rules]]\nname = \"r\"\nnotify = { who = \"the boss\" }\n", &["3:18: error: unknown recipient 'the boss'"]);
    check(
        "[[rules]]\nname = \"r\"\nnotify = { who = \"assignee\", channel = \"fax\" }\n",
        &["3:40: error: unknown channel 'fax'"],
    );
    check("[[incident_policies]]\nid = \"p\"\nseverity = \"SEV5\"\n", &["3:12: error: unknown severity 'SEV5'"]);
}

#[test]
fn action_shapes() {
    check(
        "[[rules]]\nname = \"r\"\nthen = { team = \"billing\" }\n",
        &["3:17: error: 'team' only qualifies an escalation, and this has no 'escalate'"],
    );
    check(
        "[[rules]]\nname = \"r\"\npriority = \"high\"\nthen = { tags = \"x\" }\n",
        &["3:1: error: 'priority' is given both on the rule and in 'then' (rules[0].then)"],
    );
    check(
        &format!("{LEVELS}\n[[rules]]\nname = \"r\"\nthen = {{ escalate = \"L2\", kind = \"functional\" }}\n"),
        &["16:34: error: a functional escalation needs the team with the skill"],
    );
    check("[[rules]]\nname = \"r\"\nthen = { escalate = false }\n", &["3:21: error: 'escalate = false' does nothing"]);
    check("[[rules]]\nname = \"r\"\nwhen = \" \"\ntags = \"x\"\n", &["3:8: error: 'when' is empty"]);
}

#[test]
fn incident_policy_shapes() {
    check(
        "[[incident_policies]]\nid = \"p\"\nseverity = \"SEV1\"\n[[incident_policies.steps]]\nnotify = \"team:tech\"\n",
        &["4:1: error: missing 'ack_timeout' (how long to wait for an acknowledgement, e.g. \"5m\")"],
    );
    check(
        "[[incident_policies]]\nid = \"p\"\nseverity = \"sev2\"\n[[incident_policies.steps]]\nnotify = \"team:tech\"\nchannels = [\"sms\", \"pager\"]\nack_timeout = \"5m\"\n",
        &["6:20: error: unknown channel 'pager'"],
    );
}

// ---------------------------------------------------------------------------------------
// Lint: levels and calendars

#[test]
fn duplicate_level() {
    check(
        "[[levels]]\nid = \"L1\"\n\n[[levels]]\nid = \"L1\"\n",
        &["5:6: error: duplicate level id 'L1' (first defined on line 1)"],
    );
}

#[test]
fn unknown_calendar() {
    check(
        "[calendars.support]\ntimezone = \"UTC\"\nhours = { daily = \"08:00-17:00\" }\n\n[[levels]]\nid = \"L1\"\ncalendar = \"suport\"\n",
        &["7:12: error: unknown calendar 'suport'"],
    );
}

#[test]
fn unknown_team_with_a_directory_only() {
    let source = "[[levels]]\nid = \"L1\"\nteams = [\"frontline\", \"frontlien\"]\n";
    check(source, &[]);
    check_with(source, Some(&example_directory()), &["3:23: error: unknown team 'frontlien'"]);
    check_with(
        "[[levels]]\nid = \"L1\"\nteams = [\"billing\"]\n",
        Some(&example_directory()),
        &["3:10: warning: team 'billing' works level L2 in the directory, not L1"],
    );
}

#[test]
fn team_under_two_levels() {
    check(
        "[[levels]]\nid = \"L1\"\nteams = [\"a\"]\n[[levels]]\nid = \"L2\"\nteams = [\"b\", \"a\"]\n",
        &["6:15: error: team 'a' is listed under both L1 and L2"],
    );
}

#[test]
fn shorter_target_at_a_higher_level() {
    check(
        "[[levels]]\nid = \"L2\"\nrespond = \"1h\"\n[[levels]]\nid = \"L3\"\nrespond = \"30m\"\n",
        &["6:11: error: L3 respond target 30m is shorter than L2's 1h: a higher level must not have to act faster"],
    );
    check(
        "[[levels]]\nid = \"L1\"\nresolve = \"8h\"\n[[levels]]\nid = \"L2\"\nresolve = \"16h\"\nby_priority = { urgent = { resolve = \"4h\" } }\n",
        &[
            "7:38: error: L2 resolve target for urgent priority 4h is shorter than L1's 8h: a higher level must not have to act faster",
        ],
    );
}

#[test]
fn empty_calendar() {
    check(
        "[calendars.c]\ntimezone = \"UTC\"\n",
        &["1:1: error: calendar 'c' has no open hours: a target counted in it could never be met"],
    );
    check(
        "[calendars.c]\ntimezone = \"UTC\"\nhours = { daily = \"closed\" }\n",
        &["1:1: error: calendar 'c' has no open hours: a target counted in it could never be met"],
    );
}

#[test]
fn overlapping_windows() {
    check(
        "[calendars.c]\ntimezone = \"UTC\"\nhours = { \"mon-fri\" = \"08:00-12:00\", mon = \"11:00-13:00\" }\n",
        &["3:9: warning: calendar 'c': windows 08:00-12:00 and 11:00-13:00 overlap on mon"],
    );
}

#[test]
fn holidays() {
    check(
        "[calendars.c]\ntimezone = \"UTC\"\nhours = { daily = \"08:00-17:00\" }\nholidays = [\"2026-12-25\", \"1926-12-25\", \"2026-12-25\"]\n",
        &[
            "4:27: warning: holiday 1926-12-25 is outside the years 2000–2100 a calendar can be used in",
            "4:41: warning: holiday 2026-12-25 is listed twice",
        ],
    );
    // A TOML date works as well as a string.
    check("[calendars.c]\ntimezone = \"UTC\"\nhours = { daily = \"08:00-17:00\" }\nholidays = [2026-12-25]\n", &[]);
}

// ---------------------------------------------------------------------------------------
// Lint: rules

fn rules(rules: &str) -> String {
    // LEVELS is 12 lines, then an empty line: rules start on line 14.
    format!("{LEVELS}\n{rules}")
}

#[test]
fn duplicate_rule_name() {
    check(
        &rules(
            "[[rules]]\nname = \"r\"\ntags = \"a\"\n\n[[rules]]\nname = \"r\"\ntrigger = \"reopened\"\ntags = \"b\"\n",
        ),
        &["19:8: error: duplicate rule name 'r' (first used on line 14)"],
    );
}

#[test]
fn cel_syntax_error_points_into_the_condition() {
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'case.category == \"billing\" &&'\ntags = \"a\"\n"),
        &[
            "16:38: error: CEL syntax error in condition: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
        ],
    );
    // In a multi-line literal string, on the expression's second line.
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = '''\ncase.priority == \"high\" &&\n  case.x ==== 1'''\ntags = \"a\"\n"),
        &[
            "18:12: error: CEL syntax error in condition: extraneous input '==' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
        ],
    );
    // A string with escapes is not verbatim: the position is the string's start.
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = \"case.category == \\\"billing\\\" &&\"\ntags = \"a\"\n"),
        &[
            "16:8: error: CEL syntax error in condition: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}",
        ],
    );
}

/// A rule whose condition is `when` (written in single quotes), on line 16.
fn rule_when(when: &str) -> String {
    rules(&format!("[[rules]]\nname = \"r\"\nwhen = '{when}'\ntags = \"a\"\n"))
}

#[test]
fn hostile_conditions_are_refused_at_their_position_without_overflowing_the_stack() {
    // Each of these used to overflow the stack of the thread that parsed it (the process
    // aborted); now the flat scan refuses them before the CEL parser sees them.
    let sum = vec!["1"; 3000].join("+");
    let members = format!("case{}", ".a".repeat(3000));
    let parens = format!("{}1{}", "(".repeat(3000), ")".repeat(3000));
    let lists = format!("{}1{}", "[".repeat(3000), "]".repeat(3000));
    // `when = '` is 8 characters: the expression starts at column 9.
    for (when, column) in [(&sum, 9 + 129), (&members, 9 + 4 + 2 * 64), (&parens, 9 + 64), (&lists, 9 + 64)] {
        check(&rule_when(when), &[&format!("16:{column}: error: the expression nests too deeply (over 64 levels)")]);
    }
    let long = format!("case.subject == \"{}\"", "x".repeat(9000));
    check(&rule_when(&long), &["16:8201: error: the expression is 9018 bytes long, over the limit of 8192"]);
    let d = matrix::check(&rule_when(&sum), "m.toml", None);
    assert!(d[0].hint.as_deref().unwrap_or_default().contains("counts as a level"), "{d:?}");
}

#[test]
fn an_over_long_condition_cut_inside_a_character_is_reported_not_a_panic() {
    // 8,192 bytes end inside a two-byte 'é': the size limit's position is not a character
    // boundary, and reporting it used to slice the text there (a panic).
    let long = format!("case.subject == \"{}\"", "é".repeat(5000));
    assert!(!long.is_char_boundary(8192));
    let d = matrix::check(&rule_when(&long), "m.toml", None);
    assert!(d[0].message.contains("over the limit of 8192"), "{d:?}");
}

#[test]
fn runaway_conditions_are_refused_before_they_run() {
    check(
        &rule_when("lists.range(5000).exists(x, lists.range(5000).exists(y, x * y == 24999999))"),
        &["16:33: error: evaluating this could take about 425075005 steps, over the limit of 1000000"],
    );
    check(
        &rule_when("lists.range(case.n_messages).exists(x, x > 3)"),
        &["16:20: error: lists.range with a computed length has no bound on what it costs"],
    );
    // A constant condition used to be evaluated while linting: this one for minutes.
    let big = format!("[{}]", (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let source = rule_when(&format!("{big}.all(a, {big}.all(b, {big}.all(c, a + b + c >= 0)))"));
    let d = matrix::check(&source, "m.toml", None);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].message.contains("steps, over the limit"), "{d:#?}");
    assert!(d[0].hint.as_deref().unwrap_or_default().contains("do not nest comprehensions"), "{d:#?}");
    // The same limits when a matrix is compiled without linting (a stored version).
    let (parsed, _) =
        matrix::parse(&rule_when(&vec!["1"; 20].join("+").replace("+1+", "+1 == 1 && 1+")), "m.toml").expect("parses");
    assert!(CompiledMatrix::compile(parsed, 1).is_ok());
    let (parsed, _) = matrix::parse(&rule_when(&sum_of(3000)), "m.toml").expect("parses");
    let errors = CompiledMatrix::compile(parsed, 1).unwrap_err();
    assert!(errors[0].message.contains("nests too deeply"), "{errors:?}");
}

fn sum_of(n: usize) -> String {
    format!("{} == 1", vec!["1"; n].join("+"))
}

#[test]
fn an_amount_field_has_the_same_limits() {
    let members = ".a".repeat(3000);
    let source = format!(
        "{LEVELS}\n[[authority]]\naction = \"refund\"\nlimits = {{ agent = 50 }}\n\n[[rules]]\nname = \"r\"\n\
         then = {{ require_approval = {{ action = \"refund\", amount_field = \"case{members}\" }} }}\n"
    );
    let d = matrix::check(&source, "m.toml", None);
    assert!(
        d.iter().any(|d| d.is_error() && d.message.contains("amount_field: the expression nests too deeply")),
        "{d:#?}"
    );
}

#[test]
fn unknown_variables_and_fields() {
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'custmer.value > 1'\ntags = \"a\"\n"),
        &["16:9: error: unknown variable 'custmer' in condition"],
    );
    // Comprehension variables are not free.
    check(&rules("[[rules]]\nname = \"r\"\nwhen = 'case.tags.exists(t, t == \"vip\")'\ntags = \"a\"\n"), &[]);
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'case.catgory == \"x\" && customer.vlaue > 1'\ntags = \"a\"\n"),
        &["16:13: warning: case has no field 'catgory'", "16:40: warning: customer has no field 'vlaue'"],
    );
}

#[test]
fn impossible_comparison() {
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'case.priority == \"hgh\" || case.channel == \"fax\"'\ntags = \"a\"\n"),
        &[
            "16:23: warning: case.priority is never 'hgh', so this comparison is always false",
            "16:48: warning: case.channel is never 'fax', so this comparison is always false",
        ],
    );
}

#[test]
fn conditions_that_are_not_tests() {
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'case.n_reopens + 1'\ntags = \"a\"\n"),
        &["16:8: error: the condition is arithmetic, not true or false"],
    );
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'size(\"ab\")'\ntags = \"a\"\n"),
        &["16:8: error: the condition always gives a value of type int, not true or false"],
    );
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = '1 / 0 == 1'\ntags = \"a\"\n"),
        &["16:8: error: the condition always fails: Division by zero of Int(1)"],
    );
}

#[test]
fn rule_that_can_never_fire() {
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = \"false\"\ntags = \"a\"\n"),
        &["16:8: error: this rule can never fire: its condition is always false"],
    );
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = \"1 > 2 && true\"\ntags = \"a\"\n"),
        &["16:8: error: this rule can never fire: its condition is always false"],
    );
}

#[test]
fn shadowed_rules() {
    check(
        &rules(
            "[[rules]]\nname = \"all\"\ntags = \"a\"\nstop = true\n\n[[rules]]\nname = \"later\"\nwhen = 'case.priority == \"high\"'\ntags = \"b\"\n",
        ),
        &["19:1: error: rule 'later' can never fire: rule 'all' (line 14) always fires first on case_opened and stops"],
    );
    check(
        &rules(
            "[[rules]]\nname = \"billing\"\nwhen = 'case.category == \"billing\"'\ntags = \"a\"\nstop = true\n\n[[rules]]\nname = \"vip billing\"\nwhen = 'customer.value > 10000 && case.category == \"billing\"'\ntags = \"b\"\n",
        ),
        &[
            "20:1: error: rule 'vip billing' can never fire: whenever it holds, rule 'billing' (line 14) holds too, fires first and stops",
        ],
    );
    // On another trigger, or without stop, nothing is shadowed.
    check(
        &rules(
            "[[rules]]\nname = \"all\"\ntags = \"a\"\nstop = true\n\n[[rules]]\nname = \"later\"\ntrigger = \"reopened\"\ntags = \"b\"\n",
        ),
        &[],
    );
}

#[test]
fn duplicate_conditions() {
    check(
        &rules(
            "[[rules]]\nname = \"a\"\nwhen = 'case.priority == \"high\"'\ntags = \"a\"\n\n[[rules]]\nname = \"b\"\nwhen = 'case.priority==\"high\"'\ntags = \"b\"\n",
        ),
        &[
            "19:1: warning: rule 'b' has the same trigger and condition as rule 'a' (line 14): both always fire together",
        ],
    );
}

#[test]
fn rule_without_actions() {
    check(&rules("[[rules]]\nname = \"r\"\n"), &["14:1: warning: rule 'r' has no actions"]);
}

#[test]
fn escalation_targets() {
    check(&rules("[[rules]]\nname = \"r\"\nescalate = \"L4\"\n"), &["16:12: error: unknown level 'L4'"]);
    check(
        &rules("[[rules]]\nname = \"r\"\nescalate = \"L1\"\n"),
        &["16:12: error: escalating to L1, the lowest level, never goes up"],
    );
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'case.level == \"L3\"'\nescalate = \"L2\"\n"),
        &["17:12: error: this rule only fires on cases at L3 (case.level == \"L3\"), and L2 is not above L3"],
    );
    check(
        &rules("[[rules]]\nname = \"r\"\nwhen = 'case.level == \"L3\"'\nescalate = \"next\"\n"),
        &["17:12: error: this rule only fires on cases at L3, the top level, so there is no level above"],
    );
    check(
        "[[rules]]\nname = \"r\"\nescalate = \"L2\"\n",
        &["3:12: error: escalation to level 'L2', but the matrix defines no levels"],
    );
}

#[test]
fn escalation_teams() {
    let source = rules("[[rules]]\nname = \"r\"\nthen = { escalate = \"L3\", team = \"billing\" }\n");
    check_with(&source, Some(&example_directory()), &["16:34: error: team 'billing' works level L2, not L3"]);
    // Without a directory, the levels' team lists tell where a team works.
    check(
        "[[levels]]\nid = \"L1\"\n[[levels]]\nid = \"L2\"\nteams = [\"billing\"]\n[[levels]]\nid = \"L3\"\n[[rules]]\nname = \"r\"\nthen = { escalate = \"L3\", team = \"billing\" }\n",
        &["10:34: error: team 'billing' works level L2, not L3"],
    );
    check_with(
        &rules("[[rules]]\nname = \"r\"\nroute = \"outbnd\"\nnotify = \"on_call:ops\"\n"),
        Some(&example_directory()),
        &["16:9: error: unknown team 'outbnd'", "17:10: error: unknown team 'ops'"],
    );
}

#[test]
fn notifications_and_approvals() {
    check(
        &rules("[[rules]]\nname = \"r\"\nnotify = \"role:agent\"\n"),
        &["16:10: warning: notifying every agent is rarely meant"],
    );
    check(
        &rules("[[rules]]\nname = \"r\"\nrequire_approval = \"refund\"\n"),
        &["16:20: error: no authority limits for 'refund'"],
    );
    check(
        &rules(
            "[[rules]]\nname = \"r\"\nrequire_approval = { action = \"refund\", amount_field = \"cas.amount\" }\n\n[[authority]]\naction = \"refund\"\nlimits = { agent = 50 }\n",
        ),
        &["16:56: error: unknown variable 'cas' in amount_field"],
    );
}

// ---------------------------------------------------------------------------------------
// Lint: authority and incident policies

#[test]
fn authority_limits() {
    check(
        "[[authority]]\naction = \"credit\"\nlimits = { agent = 50 }\n[[authority]]\naction = \"credit\"\nlimits = { agent = 60 }\n",
        &["5:10: error: authority for 'credit' is defined twice (first on line 1)"],
    );
    check(
        "[[authority]]\naction = \"credit\"\nlimits = { agent = -5, supervisor = 500, manager = 100 }\n",
        &[
            "3:20: error: limit -5 for agent is negative",
            "3:52: warning: manager may grant less (100) than supervisor (500) for 'credit'",
        ],
    );
    check("[[authority]]\naction = \"credit\"\n", &["1:1: warning: authority 'credit' gives no role a limit"]);
    // What follows from a part that did not parse (no limits left) is not reported again.
    check(
        "[[authority]]\naction = \"credit\"\nlimits = { boss = 5 }\n",
        &["3:12: error: unknown key 'boss' in authority[0].limits"],
    );
}

#[test]
fn incident_policies() {
    let policy = |id: &str, severity: &str, step: &str| {
        format!(
            "[[incident_policies]]\nid = \"{id}\"\nseverity = \"{severity}\"\n[[incident_policies.steps]]\n{step}\n"
        )
    };
    let ok = "notify = \"on_call:tech\"\nack_timeout = \"5m\"";
    check(
        &format!("{}{}", policy("p", "SEV1", ok), policy("p", "SEV2", ok)),
        &["8:6: error: duplicate incident policy id 'p' (first on line 1)"],
    );
    check(
        &format!("{}{}", policy("p", "SEV1", ok), policy("q", "SEV1", ok)),
        &["9:12: warning: a policy for SEV1 is already defined on line 1; only the first is used"],
    );
    check(
        &policy("p", "SEV1", "notify = []\nack_timeout = \"0m\""),
        &["5:10: error: this step notifies nobody", "6:15: error: ack_timeout must be longer than zero"],
    );
    check_with(
        &policy("p", "SEV1", "notify = [\"on_call:tech\", \"on_call:dba\"]\nack_timeout = \"5m\""),
        Some(&example_directory()),
        &["5:27: error: unknown team 'dba'"],
    );
}

#[test]
fn diagnostics_display_like_a_compiler() {
    let d = matrix::check("[[levels]]\nid = \"L1\"\nrespnd = \"1h\"\n", "cc.toml", None);
    assert_eq!(
        d[0].to_string(),
        "cc.toml:3:1: error: unknown key 'respnd' in levels[0] (hint: did you mean 'respond'?)"
    );
    assert_eq!(d[0].path, "levels[0].respnd");
}

#[test]
fn parse_fails_on_errors_and_reports_all_of_them() {
    let errors = matrix::parse("[[levels]]\nid = 1\nrespond = \"x\"\n[[rules]]\nname = 2\n", "m.toml").unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors.iter().all(|d| d.is_error()));
}

// ---------------------------------------------------------------------------------------
// The examples

#[test]
fn examples_parse_and_lint_clean() {
    for (name, source) in [("contact-center.toml", EXAMPLE), ("it-ops.toml", IT_OPS)] {
        let (m, map) = matrix::parse(source, name).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
        let diagnostics = matrix::lint(&m, &map, name, Some(&example_directory()));
        assert!(diagnostics.is_empty(), "{name}: {diagnostics:#?}");
        CompiledMatrix::compile(m, 1).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
    }
}

#[test]
fn contact_center_example_has_the_seeds_ladder() {
    let (m, _) = matrix::parse(EXAMPLE, "cc").unwrap();
    let ids: Vec<&str> = m.levels.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["L1", "L2", "L3"]);
    let respond: Vec<String> =
        m.levels.iter().map(|l| matrix::model::format_duration(l.targets.respond.unwrap())).collect();
    assert_eq!(respond, ["0m", "1h", "24h"]);
    assert_eq!(m.authority_limit("credit", ladder_core::Role::Supervisor, None), Some(500.0));
    assert_eq!(m.authority_limit("refund", ladder_core::Role::Agent, Some("erin")), Some(1000.0));
    let cal = &m.calendars["support"];
    assert!(cal.windows_on(jiff::civil::date(2026, 12, 25)).is_empty());
    assert_eq!(cal.windows_on(jiff::civil::date(2026, 12, 24))[0].to_string(), "08:00-13:00");
    assert_eq!(cal.windows_on(jiff::civil::date(2026, 11, 28))[0].to_string(), "09:00-13:00");
    let l1 = &m.levels[0];
    let urgent = l1.targets_for(ladder_core::Priority::Urgent, Some("vip"));
    assert_eq!(urgent.update, Some(jiff::SignedDuration::from_hours(1)));
    assert_eq!(urgent.resolve, Some(jiff::SignedDuration::from_hours(4)));
}

#[test]
fn it_ops_example_has_four_severities() {
    let (m, _) = matrix::parse(IT_OPS, "it").unwrap();
    let sev: Vec<String> = m.incident_policies.iter().map(|p| p.severity.to_string()).collect();
    assert_eq!(sev, ["SEV1", "SEV2", "SEV3", "SEV4"]);
    assert_eq!(m.incident_policies[0].steps.len(), 3);
    assert_eq!(m.incident_policies[0].repeat, 3);
    let night = &m.calendars["on-call"].hours.days[0];
    assert!(night.iter().any(|w| w.is_overnight()));
}

#[test]
fn json_schema_describes_the_format() {
    let schema = matrix::json_schema();
    let text = schema.to_string();
    for key in ["calendars", "levels", "rules", "authority", "incident_policies", "by_priority", "require_approval"] {
        assert!(text.contains(key), "{key} missing from the schema");
    }
    assert_eq!(schema["title"], "Ladder escalation matrix");
}

// ---------------------------------------------------------------------------------------
// Evaluation

fn compiled(source: &str) -> CompiledMatrix {
    let (m, _) = matrix::parse(source, "m.toml").unwrap_or_else(|e| panic!("{e:#?}"));
    CompiledMatrix::compile(m, 7).unwrap()
}

fn facts(case: Value, customer: Value) -> Facts {
    Facts { case, customer, ..Facts::new("2026-11-23T15:00:00Z".parse().unwrap()) }
}

fn fired(e: &matrix::Evaluation) -> Vec<&str> {
    e.fired.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn rules_fire_in_file_order() {
    let m = compiled(&rules(
        "[[rules]]\nname = \"b\"\nwhen = 'case.priority == \"high\"'\ntags = \"b\"\n\n[[rules]]\nname = \"a\"\ntags = \"a\"\n\n[[rules]]\nname = \"c\"\nwhen = 'customer.value >= 10000'\nthen = { escalate = \"L2\", team = \"billing\", priority = \"high\" }\n",
    ));
    let e = m.evaluate(Trigger::CaseOpened, &facts(json!({"priority": "high"}), json!({"value": 12000.0})));
    assert_eq!(fired(&e), ["b", "a", "c"]);
    assert_eq!(
        e.fired[2].actions,
        [
            Action::Escalate {
                kind: ladder_core::event::EscalationKind::Functional,
                to_level: Some(LevelId::new("L2")),
                to_team: Some("billing".into()),
                role: None
            },
            Action::SetPriority(ladder_core::Priority::High)
        ]
    );
    assert!(e.errors.is_empty());
    assert_eq!(m.version(), 7);
    // Other triggers have no rules here.
    assert_eq!(m.evaluate(Trigger::Reopened, &facts(json!({}), json!({}))), matrix::Evaluation::default());
}

#[test]
fn stop_ends_the_trigger_only() {
    let m = compiled(&rules(
        "[[rules]]\nname = \"first\"\nwhen = 'case.priority == \"high\"'\ntags = \"a\"\nstop = true\n\n[[rules]]\nname = \"second\"\ntags = \"b\"\n\n[[rules]]\nname = \"other trigger\"\ntrigger = \"reopened\"\ntags = \"c\"\n",
    ));
    let high = facts(json!({"priority": "high"}), json!({}));
    assert_eq!(fired(&m.evaluate(Trigger::CaseOpened, &high)), ["first"]);
    let low = facts(json!({"priority": "low"}), json!({}));
    assert_eq!(fired(&m.evaluate(Trigger::CaseOpened, &low)), ["second"]);
    assert_eq!(fired(&m.evaluate(Trigger::Reopened, &high)), ["other trigger"]);
}

#[test]
fn runtime_errors_are_recorded_and_skipped() {
    let m = compiled(&rules(
        "[[rules]]\nname = \"missing field\"\nwhen = 'case.custom_fields.amount > 10'\ntags = \"a\"\nstop = true\n\n[[rules]]\nname = \"not a bool\"\nwhen = 'case.subject'\ntags = \"b\"\n\n[[rules]]\nname = \"fine\"\nwhen = 'case.subject == \"hi\"'\ntags = \"c\"\n",
    ));
    let e = m.evaluate(Trigger::CaseOpened, &facts(json!({"subject": "hi", "custom_fields": {}}), json!({})));
    assert_eq!(fired(&e), ["fine"]);
    assert_eq!(e.errors.len(), 2, "{:?}", e.errors);
    assert_eq!(e.errors[0].0, "missing field");
    assert_eq!(
        e.errors[1],
        ("not a bool".to_string(), "the condition gave a value of type string, not true or false".to_string())
    );
}

#[test]
fn now_is_a_timestamp() {
    let m = compiled(&rules(
        "[[rules]]\nname = \"old\"\nwhen = 'now - timestamp(case.created_at) > duration(\"2h\")'\ntags = \"a\"\n",
    ));
    let old = facts(json!({"created_at": "2026-11-23T12:00:00Z"}), json!({}));
    assert_eq!(fired(&m.evaluate(Trigger::CaseOpened, &old)), ["old"]);
    let recent = facts(json!({"created_at": "2026-11-23T14:00:00Z"}), json!({}));
    assert!(m.evaluate(Trigger::CaseOpened, &recent).fired.is_empty());
}

#[test]
fn the_index_skips_rules_without_running_them() {
    let m = compiled(&rules(
        "[[rules]]\nname = \"billing\"\nwhen = 'case.category == \"billing\" && customer.nope > 1'\ntags = \"a\"\n",
    ));
    // The category differs: the rule is ruled out before its failing part runs.
    let tech = facts(json!({"category": "tech"}), json!({}));
    let e = m.evaluate(Trigger::CaseOpened, &tech);
    assert!(e.errors.is_empty() && e.considered.is_empty(), "{e:?}");
    // Without the index the condition runs, and CEL's && is false as well.
    let e = m.evaluate_unindexed(Trigger::CaseOpened, &tech);
    assert!(e.errors.is_empty() && e.fired.is_empty(), "{e:?}");
    // Without a category the condition runs, and fails.
    let e = m.evaluate(Trigger::CaseOpened, &facts(json!({}), json!({})));
    assert_eq!(e.errors.len(), 1);
}

#[test]
fn compiled_matrix_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledMatrix>();
}

#[test]
fn contact_center_rules_on_a_vip_billing_case() {
    let m = compiled(EXAMPLE);
    let input: Value = serde_json::from_str(include_str!("../../../examples/case-vip-billing.json")).unwrap();
    let f = Facts {
        case: input["case"].clone(),
        customer: input["customer"].clone(),
        contact: input["contact"].clone(),
        event: input["event"].clone(),
        now: Timestamp::UNIX_EPOCH,
    };
    let e = m.evaluate(Trigger::CaseOpened, &f);
    assert_eq!(fired(&e), ["VIP billing dispute goes straight to back office"]);
    assert!(e.errors.is_empty(), "{:?}", e.errors);
    // The customer's own escalation is the event: rules see the case after it (at L2), and
    // read the level it was asked from.
    let asked_from = |level: &str, now_at: &str| {
        let mut f = f.clone();
        f.case["level"] = serde_json::json!(now_at);
        f.event = serde_json::json!({"type": "escalated", "kind": "hierarchical", "initiator": "customer",
            "from_level": level, "to_level": now_at, "reason": "asked for a supervisor"});
        m.evaluate(Trigger::CustomerRequestedSupervisor, &f)
    };
    let asked = asked_from("L1", "L2");
    assert_eq!(fired(&asked), ["Customer asks for a supervisor"]);
    assert!(asked.errors.is_empty(), "{:?}", asked.errors);
    assert_eq!(fired(&asked_from("L2", "L3")), ["Customer asks again at L2"]);
}

// The index must agree with evaluating every rule, on any facts. Rules and cases are drawn
// from small vocabularies so that they often match.
const CATEGORIES: [&str; 3] = ["billing", "tech", "account"];
const PRIORITIES: [&str; 3] = ["low", "high", "urgent"];

fn arb_condition() -> impl Strategy<Value = Option<String>> {
    let equality = prop_oneof![
        prop::sample::select(CATEGORIES.to_vec()).prop_map(|c| format!("case.category == \"{c}\"")),
        prop::sample::select(PRIORITIES.to_vec()).prop_map(|p| format!("\"{p}\" == case.priority")),
        prop::sample::select(vec!["L1", "L2"]).prop_map(|l| format!("case.level == \"{l}\"")),
        prop::sample::select(vec!["phone", "email"]).prop_map(|c| format!("case.channel == \"{c}\"")),
    ];
    // Conjuncts the evaluator decides on the JSON (comparisons, `in`, equality on any
    // variable), and some it cannot (they run CEL).
    let other = prop_oneof![
        (0..20_000i64).prop_map(|v| format!("customer.value >= {v}")),
        (0..20_000i64).prop_map(|v| format!("{v}.5 > customer.value")),
        (0..3i64).prop_map(|n| format!("case.n_reopens == {n}")),
        (0..3i64).prop_map(|n| format!("{n} < case.n_reopens")),
        Just("case.n_reopens <= 1.0".to_string()),
        Just("customer.segment == \"vip\"".to_string()),
        Just("case.assigned == true".to_string()),
        Just("\"vip\" in case.tags".to_string()),
        Just("case.n_reopens > 0".to_string()),
        Just("customer.missing == 1".to_string()),
        Just("case.category != \"tech\"".to_string()),
        Just("size(case.tags) > 0".to_string()),
        Just("customer.value + 1 > 100".to_string()),
    ];
    let part = prop_oneof![3 => equality, 3 => other];
    prop::option::weighted(0.9, prop::collection::vec(part, 1..4).prop_map(|parts| parts.join(" && ")))
}

fn arb_rules() -> impl Strategy<Value = String> {
    prop::collection::vec((arb_condition(), any::<bool>(), prop::bool::weighted(0.9)), 1..25).prop_map(|rules| {
        let mut out = String::new();
        for (i, (when, stop, on_open)) in rules.into_iter().enumerate() {
            out.push_str(&format!("[[rules]]\nname = \"r{i}\"\ntags = \"t{i}\"\nstop = {stop}\n"));
            if !on_open {
                out.push_str("trigger = \"reopened\"\n");
            }
            if let Some(w) = when {
                out.push_str(&format!("when = '{w}'\n"));
            }
        }
        out
    })
}

/// A field with a value of the expected kind most of the time, else of another kind, or
/// missing.
fn arb_value(usual: BoxedStrategy<Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(
        0.85,
        prop_oneof![
            8 => usual,
            1 => Just(json!("12")),
            1 => Just(json!(3)),
            1 => Just(json!(1.0)),
            1 => Just(Value::Null),
            1 => Just(json!(true)),
            1 => Just(json!([1, "vip"])),
            1 => Just(json!({"vip": 1})),
        ],
    )
}

fn arb_facts() -> impl Strategy<Value = Facts> {
    let text = |values: &'static [&'static str]| prop::sample::select(values.to_vec()).prop_map(|v| json!(v)).boxed();
    (
        (arb_value(text(&CATEGORIES)), arb_value(text(&PRIORITIES)), arb_value(text(&["L1", "L2", "L3"]))),
        (arb_value(text(&["phone", "email", "chat"])), arb_value((0..3i64).prop_map(|n| json!(n)).boxed())),
        arb_value(prop::sample::select(vec![json!(["vip"]), json!([]), json!(["a", "b"])]).boxed()),
        arb_value(any::<bool>().prop_map(|b| json!(b)).boxed()),
        arb_value(
            prop_oneof![(0..30_000i64).prop_map(|v| json!(v)), (0..30_000i64).prop_map(|v| json!(v as f64 + 0.5))]
                .boxed(),
        ),
        arb_value(text(&["vip", "regular"])),
    )
        .prop_map(|((category, priority, level), (channel, reopens), tags, assigned, value, segment)| {
            let mut case = serde_json::Map::new();
            for (k, v) in [
                ("category", category),
                ("priority", priority),
                ("level", level),
                ("channel", channel),
                ("n_reopens", reopens),
                ("tags", tags),
                ("assigned", assigned),
            ] {
                if let Some(v) = v {
                    case.insert(k.into(), v);
                }
            }
            let mut customer = serde_json::Map::new();
            for (k, v) in [("value", value), ("segment", segment)] {
                if let Some(v) = v {
                    customer.insert(k.into(), v);
                }
            }
            facts(Value::Object(case), Value::Object(customer))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn index_agrees_with_evaluating_every_rule(source in arb_rules(), f in arb_facts()) {
        let m = compiled(&source);
        for trigger in [Trigger::CaseOpened, Trigger::Reopened] {
            let indexed = m.evaluate(trigger, &f);
            let naive = m.evaluate_unindexed(trigger, &f);
            prop_assert_eq!(&indexed.fired, &naive.fired);
            prop_assert_eq!(&indexed.errors, &naive.errors);
            // What the index considered, it judged the same way.
            for c in &indexed.considered {
                prop_assert!(naive.considered.contains(c));
            }
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = matrix::check(&text, "fuzz.toml", None);
    }

    #[test]
    fn parse_never_panics_on_mutated_examples(
        example in prop::sample::select(vec![EXAMPLE, IT_OPS]),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..4usize, "[ -~\n]{0,6}"), 1..6),
    ) {
        let mut text = example.to_string();
        for (at, delete, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            let mut end = (i + delete).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(i..end, &insert);
        }
        let diagnostics = matrix::check(&text, "fuzz.toml", Some(&example_directory()));
        for d in diagnostics {
            prop_assert!(d.line >= 1 && d.column >= 1, "{d:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Diff

fn diff(old: &str, new: &str) -> Vec<String> {
    let (old, _) = matrix::parse(old, "old").unwrap();
    let (new, _) = matrix::parse(new, "new").unwrap();
    matrix::diff(&old, &new).iter().map(ToString::to_string).collect()
}

#[test]
fn diff_of_identical_matrices_is_empty() {
    assert!(diff(EXAMPLE, EXAMPLE).is_empty());
}

#[test]
fn diff_reports_semantic_changes() {
    let new = EXAMPLE
        .replace("id = \"L2\"\nname = \"Supervisor or specialist\"", "id = \"L2\"\nname = \"Specialist\"")
        .replace(
            "respond = \"1h\"\nupdate = \"4h\"\nresolve = \"16h\"",
            "respond = \"30m\"\nupdate = \"4h\"\nresolve = \"16h\"",
        )
        .replace("\"2026-11-26\", \"2026-12-25\"]\noverrides", "\"2026-11-26\"]\noverrides")
        .replace(
            "when = 'customer.value >= 10000 && case.priority in [\"low\", \"normal\"]'",
            "when = 'customer.value >= 20000 && case.priority in [\"low\", \"normal\"]'",
        )
        .replace(
            "action = \"credit\"\nlimits = { agent = 50, supervisor = 500, manager = 2000 }",
            "action = \"credit\"\nlimits = { agent = 50, supervisor = 750, manager = 2000 }",
        )
        + "\n[[rules]]\nname = \"VIP billing dispute\"\nwhen = 'case.category == \"billing\"'\ntags = \"x\"\n";
    assert_eq!(
        diff(EXAMPLE, &new),
        [
            "calendar support: holiday 2026-12-25 removed",
            "level L2 name: Supervisor or specialist → Specialist",
            "level L2 respond target: 1h → 30m",
            "rule \"VIP customers are high priority\" condition changed: customer.value >= 10000 && case.priority in [\"low\", \"normal\"] → customer.value >= 20000 && case.priority in [\"low\", \"normal\"]",
            "rule added: \"VIP billing dispute\"",
            "authority credit supervisor limit: 500 → 750",
        ]
    );
}

#[test]
fn diff_reports_removals_moves_and_reformatting() {
    let old = rules(
        "[[rules]]\nname = \"a\"\nwhen = 'case.priority == \"high\"'\ntags = \"a\"\n\n[[rules]]\nname = \"b\"\ntags = \"b\"\n\n[[rules]]\nname = \"c\"\ntags = \"c\"\n",
    );
    let new = rules(
        "[[rules]]\nname = \"b\"\ntags = \"b\"\nstop = true\n\n[[rules]]\nname = \"a\"\nwhen = 'case.priority==\"high\"'\ntags = [\"a\", \"z\"]\n",
    );
    assert_eq!(
        diff(&old, &new),
        [
            "rule removed: \"c\"",
            "rule \"b\" stop changed: false → true",
            "rule \"a\" actions changed: add tags a → add tags a, z",
            "rule \"b\" position changed: 2 → 1",
            "rule \"a\" position changed: 1 → 2",
        ]
    );
}

#[test]
fn sla_settings() {
    let (m, _) = matrix::parse("[sla]\npause_on = [\"pending_internal\"]\nwarn_at = [90, 50, 50]\n", "m.toml").unwrap();
    assert_eq!(m.sla.pause_on, vec![ladder_core::Status::PendingInternal]);
    assert_eq!(m.sla.warn_at, vec![50, 90]);
    let (m, _) = matrix::parse("", "m.toml").unwrap();
    assert_eq!(m.sla.pause_on, vec![ladder_core::Status::PendingCustomer]);
    assert_eq!(m.sla.warn_at, vec![75]);
    check(
        "[sla]\nwarn_at = [50, 100]\npause_on = [\"open\"]\n",
        &[
            "2:16: error: a warning must be between 1 and 99 percent of the target",
            "3:13: error: unknown pausing status 'open'",
        ],
    );
    check("[sla]\npause = []\n", &["2:1: error: unknown key 'pause' in sla"]);
    check(
        "[[rules]]\nname = \"r\"\nnotify = { who = \"assignee\", within_hours = \"yes\" }\n",
        &["3:45: error: 'within_hours' must be true or false, not a string"],
    );
}

#[test]
fn queue_overflow_entries() {
    let (m, _) =
        matrix::parse("[[queues]]\nteam = \"billing\"\noverflow_to = \"tech\"\nafter = \"10m\"\n", "m.toml").unwrap();
    assert_eq!(m.queues.len(), 1);
    assert_eq!(m.queues[0].after, jiff::SignedDuration::from_mins(10));
    check(
        "[[queues]]\nteam = \"billing\"\noverflow_to = \"billing\"\nafter = \"0m\"\n",
        &["3:15: error: a queue cannot overflow into itself", "4:9: error: must be longer than zero"],
    );
    check(
        "[[queues]]\nteam = \"billing\"\n",
        &[
            "1:1: error: missing 'after' (how long a case may wait, e.g. \"10m\")",
            "1:1: error: missing 'overflow_to' (the team that takes the overflow)",
        ],
    );
}

#[test]
fn a_matrix_of_many_costly_rules_is_refused_once_at_the_rule_over_the_total() {
    let list = format!("[{}]", (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let rule = |i: usize| {
        format!(
            "[[rules]]\nname = \"r{i}\"\nwhen = '{list}.exists(x, {list}.exists(y, x * y == case.number - {i}))'\ntags = \"a\"\n\n"
        )
    };
    let source = rules(&(0..40).map(rule).collect::<String>());
    let errors: Vec<_> = matrix::check(&source, "m.toml", None).into_iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].message.contains("over the limit of 10000000"), "{errors:#?}");
    let (parsed, _) = matrix::parse(&source, "m.toml").unwrap();
    let over = errors[0].path.trim_start_matches("rules[").trim_end_matches("].when").parse::<usize>().unwrap();
    assert!(over > 0 && over < 40 && parsed.rules.len() == 40, "{errors:#?}");
    // A constant condition that costly is not evaluated while linting (it would hold).
    let constant =
        rules(&format!("[[rules]]\nname = \"c\"\nwhen = '{list}.all(x, {list}.all(y, x + y >= 0))'\ntags = \"a\"\n"));
    assert_eq!(matrix::check(&constant, "m.toml", None), vec![]);
}

#[test]
fn deeply_nested_toml_is_an_error_not_a_crash() {
    let source = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    let d = matrix::check(&source, "m.toml", None);
    assert!(d.iter().any(|d| d.is_error()), "{d:#?}");
}

// ---------------------------------------------------------------------------------------
// Currency and metric targets

#[test]
fn currency_is_an_iso_4217_code_and_defaults_to_usd() {
    let (m, _) = matrix::parse("currency = \"EUR\"\n", "m.toml").unwrap();
    assert_eq!(m.currency(), "EUR");
    let (m, _) = matrix::parse("", "m.toml").unwrap();
    assert_eq!(m.currency(), matrix::Matrix::DEFAULT_CURRENCY);
    check("currency = \"EURO\"\n", &["1:12: error: unknown currency 'EURO'"]);
    check("currency = \"eur\"\n", &["1:12: error: unknown currency 'eur'"]);
    assert!(hint("currency = \"XYZ\"\n").contains("ISO 4217"));
}

#[test]
fn metric_targets_are_fractions_and_a_csat_score() {
    let source = "[metric_targets]\nsla_compliance = 0.95\nescalation_rate = 0.2\nfcr = 0.7\ncsat = 4.2\n";
    let (m, _) = matrix::parse(source, "m.toml").unwrap();
    let t = m.metric_targets;
    assert_eq!((t.sla_compliance, t.escalation_rate, t.fcr, t.csat), (Some(0.95), Some(0.2), Some(0.7), Some(4.2)));
    // Met: at least the target, except the escalation rate, at most.
    assert_eq!(t.met("sla_compliance", 0.96), Some(true));
    assert_eq!(t.met("sla_compliance", 0.90), Some(false));
    assert_eq!(t.met("escalation_rate", 0.33), Some(false));
    assert_eq!(t.met("escalation_rate", 0.1), Some(true));
    assert_eq!(t.met("csat", 3.58), Some(false));
    assert_eq!(matrix::MetricTargets::default().met("fcr", 0.5), None, "no target, no verdict");
    check("[metric_targets]\nsla_compliance = 95\n", &["2:18: error: sla_compliance must be between 0 and 1"]);
    check("[metric_targets]\ncsat = 6\n", &["2:8: error: csat must be between 1 and 5"]);
    check("[metric_targets]\nnps = 0.5\n", &["2:1: error: unknown key 'nps' in metric_targets"]);
}

#[test]
fn diff_groups_changes_by_section_with_their_kind() {
    let old = "[custom_fields]\norder_id = \"string\"\n";
    let new = "currency = \"EUR\"\n[metric_targets]\ncsat = 4.2\n[custom_fields]\nrefund = \"number\"\n";
    let (old, _) = matrix::parse(old, "old").unwrap();
    let (new, _) = matrix::parse(new, "new").unwrap();
    let changes = matrix::diff(&old, &new);
    let sections: Vec<(&str, Vec<(&str, String)>)> = matrix::by_section(&changes)
        .into_iter()
        .map(|(item, cs)| (item.section(), cs.iter().map(|c| (c.kind().as_str(), c.to_string())).collect()))
        .collect();
    assert_eq!(
        sections,
        vec![
            (
                "Custom fields",
                vec![
                    ("removed", "custom field removed: order_id".to_string()),
                    ("added", "custom field added: refund".to_string())
                ]
            ),
            (
                "Currency and metric targets",
                vec![
                    ("changed", "setting currency code: USD → EUR".to_string()),
                    ("changed", "setting metric target csat: none → 4.2".to_string())
                ]
            ),
        ]
    );
}
