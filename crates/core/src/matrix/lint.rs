//! Whether the parts of a parsed matrix fit together. Every problem is reported with its
//! position; nothing stops at the first one. Each message is listed in `docs/matrix.md`.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};
use cel::{Context, Env, Value as CelValue};

use super::eval::{VARIABLES, case_equality, cel_env, equalities, free_variables, selections, walk};
use super::limits::{self, CompileError};
use super::model::{Action, Matrix, Named, Recipient, TargetKind, Trigger, format_duration};
use super::{Diagnostic, Severity, SourceMap, diagnostic_at, did_you_mean, hint_for};
use crate::case::{Channel, Priority, Status};
use crate::directory::{LevelId, Role};
use crate::event::EscalationKind;

/// What the directory holds, for checking team names. Without it, team slugs are not
/// checked (a matrix can be written before its teams exist).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Every team's slug and the level it works.
    pub teams: Vec<(String, LevelId)>,
}

impl Directory {
    fn level_of(&self, slug: &str) -> Option<&LevelId> {
        self.teams.iter().find(|(s, _)| s == slug).map(|(_, l)| l)
    }
}

/// Fields a condition may read on `case`.
pub const CASE_FIELDS: &[&str] = &[
    "id",
    "number",
    "subject",
    "description",
    "category",
    "channel",
    "priority",
    "status",
    "level",
    "team",
    "assigned",
    "assignee",
    "tags",
    "custom_fields",
    "n_messages",
    "n_escalations",
    "n_de_escalations",
    "n_reopens",
    "sentiment",
    "risk",
    "created_at",
    "updated_at",
];

/// Fields a condition may read on `customer`.
pub const CUSTOMER_FIELDS: &[&str] = &["id", "name", "value", "segment", "language", "time_zone", "custom_fields"];

/// The years a calendar can plausibly be used in.
const YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;

/// Lints a parsed matrix. `map` gives positions (a default map gives none); `file` names
/// the file in the diagnostics.
pub fn lint(matrix: &Matrix, map: &SourceMap, file: &str, directory: Option<&Directory>) -> Vec<Diagnostic> {
    let mut l = Linter { matrix, map, file, directory, out: Vec::new(), env: Arc::new(cel_env()) };
    l.calendars();
    l.levels();
    l.rules();
    l.authority();
    l.incident_policies();
    l.queues();
    let mut out = l.out;
    super::sort_diagnostics(&mut out);
    out
}

struct Linter<'a> {
    matrix: &'a Matrix,
    map: &'a SourceMap,
    file: &'a str,
    directory: Option<&'a Directory>,
    out: Vec<Diagnostic>,
    env: Arc<Env>,
}

/// What the linter learnt about one rule's condition.
#[derive(Default)]
struct Condition {
    /// `case.F == "v"` conjuncts, by field name.
    equalities: Vec<(&'static str, String)>,
    /// The condition is nothing but those conjuncts (or absent).
    only_equalities: bool,
    /// Known to always hold (absent, or a constant true).
    always: bool,
    /// Known never to hold, or broken: the rule is already reported.
    never: bool,
    /// The estimated evaluation cost, in steps.
    cost: u64,
}

impl<'a> Linter<'a> {
    fn push(&mut self, severity: Severity, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = diagnostic_at(self.map, self.file, severity, path, message);
        d.hint = hint;
        self.out.push(d);
    }

    fn error(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        self.push(Severity::Error, path, message, hint.into());
    }

    fn warning(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        self.push(Severity::Warning, path, message, hint.into());
    }

    fn line_of(&self, path: &str) -> usize {
        self.map.position(path).0
    }

    /// The line of the item of `array` where `key` was first seen, when item `index` repeats
    /// it; the first time, remembers `index` and gives `None`.
    fn seen_before<K: Eq + std::hash::Hash>(
        &self,
        seen: &mut HashMap<K, usize>,
        key: K,
        array: &str,
        index: usize,
    ) -> Option<usize> {
        match seen.get(&key) {
            Some(first) => Some(self.line_of(&format!("{array}[{first}]"))),
            None => {
                seen.insert(key, index);
                None
            }
        }
    }

    /// Checks a team slug against the directory, if there is one.
    fn team(&mut self, path: &str, slug: &str) {
        let Some(dir) = self.directory else { return };
        if dir.level_of(slug).is_none() {
            let hint = match did_you_mean(slug, dir.teams.iter().map(|(s, _)| s.as_str())) {
                Some(s) => format!("did you mean '{s}'?"),
                None => format!(
                    "the teams are: {}",
                    dir.teams.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            };
            self.error(path, format!("unknown team '{slug}'"), hint);
        }
    }

    fn queues(&mut self) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, q) in self.matrix.queues.iter().enumerate() {
            let path = format!("queues[{i}]");
            self.team(&format!("{path}.team"), &q.team);
            self.team(&format!("{path}.overflow_to"), &q.overflow_to);
            if q.team == q.overflow_to {
                self.error(&format!("{path}.overflow_to"), "a queue cannot overflow into itself", None);
            }
            if !seen.insert(q.team.clone()) {
                self.error(&format!("{path}.team"), format!("team '{}' already has a queue entry", q.team), None);
            }
            if q.after <= jiff::SignedDuration::ZERO {
                self.error(&format!("{path}.after"), "must be longer than zero", Some("e.g. after = \"10m\"".into()));
            }
            if let Some(dir) = self.directory
                && let (Some(a), Some(b)) = (dir.level_of(&q.team), dir.level_of(&q.overflow_to))
                && a != b
            {
                let msg = format!(
                    "'{}' works {a} but '{}' works {b}: overflow goes to a team at the same level",
                    q.team, q.overflow_to
                );
                self.error(
                    &format!("{path}.overflow_to"),
                    msg,
                    Some("escalate with a clock_breached rule instead".into()),
                );
            }
        }
    }

    fn level_hint(&self, id: &str) -> String {
        hint_for(id, &self.matrix.levels.iter().map(|l| l.id.as_str()).collect::<Vec<_>>())
    }

    fn calendars(&mut self) {
        for (name, cal) in &self.matrix.calendars {
            let path = format!("calendars.{name}");
            if !cal.has_open_hours() {
                self.error(
                    &path,
                    format!("calendar '{name}' has no open hours: a target counted in it could never be met"),
                    "add hours, e.g. hours = { \"mon-fri\" = \"08:00-18:00\" }".to_string(),
                );
            }
            for (day, windows) in cal.hours.days.iter().enumerate() {
                for pair in windows.windows(2) {
                    let end_of_first = pair[0].opens_after_midnight() + pair[0].length;
                    if pair[1].opens_after_midnight() < end_of_first {
                        self.warning(
                            &format!("{path}.hours"),
                            format!(
                                "calendar '{name}': windows {} and {} overlap on {}",
                                pair[0],
                                pair[1],
                                super::model::DAY_NAMES[day]
                            ),
                            "merge them into one window".to_string(),
                        );
                    }
                }
            }
            let mut seen = Vec::new();
            for (i, d) in cal.holidays.iter().enumerate() {
                let p = format!("{path}.holidays[{i}]");
                if !YEARS.contains(&d.year()) {
                    self.warning(
                        &p,
                        format!(
                            "holiday {d} is outside the years {}–{} a calendar can be used in",
                            YEARS.start(),
                            YEARS.end()
                        ),
                        "check the year".to_string(),
                    );
                }
                if seen.contains(d) {
                    self.warning(&p, format!("holiday {d} is listed twice"), None);
                }
                seen.push(*d);
            }
            for d in cal.overrides.keys() {
                if !YEARS.contains(&d.year()) {
                    self.warning(
                        &format!("{path}.overrides.{d}"),
                        format!("override {d} is outside the years {}–{}", YEARS.start(), YEARS.end()),
                        "check the year".to_string(),
                    );
                }
            }
        }
    }

    fn levels(&mut self) {
        let levels = &self.matrix.levels;
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut team_level: HashMap<&str, &LevelId> = HashMap::new();
        for (i, level) in levels.iter().enumerate() {
            let path = format!("levels[{i}]");
            if let Some(line) = self.seen_before(&mut first, level.id.as_str(), "levels", i) {
                self.error(
                    &format!("{path}.id"),
                    format!("duplicate level id '{}' (first defined on line {line})", level.id),
                    "give every level its own id".to_string(),
                );
            }
            if let Some(cal) = &level.calendar
                && !self.matrix.calendars.contains_key(cal)
            {
                let names: Vec<&str> = self.matrix.calendars.keys().map(String::as_str).collect();
                let hint = match did_you_mean(cal, names.iter().copied()) {
                    Some(c) => format!("did you mean '{c}'?"),
                    None if names.is_empty() => format!("define it: [calendars.{cal}]"),
                    None => format!("the calendars are: {}", names.join(", ")),
                };
                self.error(&format!("{path}.calendar"), format!("unknown calendar '{cal}'"), hint);
            }
            for (k, team) in level.teams.iter().enumerate() {
                let p = format!("{path}.teams[{k}]");
                self.team(&p, team);
                if let Some(dir) = self.directory
                    && let Some(l) = dir.level_of(team)
                    && l != &level.id
                {
                    self.warning(&p, format!("team '{team}' works level {l} in the directory, not {}", level.id), None);
                }
                if let Some(other) = team_level.insert(team, &level.id)
                    && other != &level.id
                {
                    self.error(
                        &p,
                        format!("team '{team}' is listed under both {other} and {}", level.id),
                        "a team works one level".to_string(),
                    );
                }
            }
        }
        // A higher level gets at least as long as every level below it.
        for kind in TargetKind::ALL {
            for priority in std::iter::once(None).chain(Priority::ALL.into_iter().map(Some)) {
                let mut longest: Option<(usize, jiff::SignedDuration)> = None;
                for (i, level) in levels.iter().enumerate() {
                    let (target, path) = match priority {
                        None => (level.targets.get(kind), format!("levels[{i}].{}", kind.as_str())),
                        Some(p) => {
                            let own = level.by_priority.get(&p).and_then(|t| t.get(kind));
                            let path = if own.is_some() {
                                format!("levels[{i}].by_priority.{}.{}", p.as_str(), kind.as_str())
                            } else {
                                format!("levels[{i}].{}", kind.as_str())
                            };
                            (own.or(level.targets.get(kind)), path)
                        }
                    };
                    let Some(target) = target else { continue };
                    if let Some((j, lower)) = longest
                        && target < lower
                    {
                        // Per-priority checks only speak when an override is involved.
                        let involved = priority.is_none_or(|p| {
                            levels[i].by_priority.get(&p).and_then(|t| t.get(kind)).is_some()
                                || levels[j].by_priority.get(&p).and_then(|t| t.get(kind)).is_some()
                        });
                        if involved {
                            let for_priority =
                                priority.map(|p| format!(" for {} priority", p.as_str())).unwrap_or_default();
                            self.error(
                                &path,
                                format!(
                                    "{} {} target{for_priority} {} is shorter than {}'s {}: a higher level must not have to act faster",
                                    level.id,
                                    kind.as_str(),
                                    format_duration(target),
                                    levels[j].id,
                                    format_duration(lower)
                                ),
                                format!(
                                    "make {}'s {} target at least {}, or shorten {}'s",
                                    level.id,
                                    kind.as_str(),
                                    format_duration(lower),
                                    levels[j].id
                                ),
                            );
                        }
                    }
                    if longest.is_none_or(|(_, l)| target >= l) {
                        longest = Some((i, target));
                    }
                }
            }
        }
    }

    fn condition(&mut self, path: &str, source: &str) -> Condition {
        let program = match limits::compile(&self.env, source) {
            Ok(p) => p,
            Err(CompileError::Limit(over)) => {
                // The limit's byte offset may fall inside a character (the size limit cuts
                // at a byte count): count the characters that start before it.
                let offset = source.char_indices().take_while(|&(b, _)| b < over.offset).count();
                let d = self.cel_diagnostic(path, source, None, Some(offset));
                self.out.push(Diagnostic { message: over.message, hint: Some(over.hint), ..d });
                return Condition { never: true, ..Default::default() };
            }
            Err(CompileError::Syntax(errors)) => {
                for e in &errors.errors {
                    let message = e.msg.trim_start_matches("Syntax error: ");
                    let d = self.cel_diagnostic(path, source, Some((e.pos.0, e.pos.1)), None);
                    self.out.push(Diagnostic {
                        message: format!("CEL syntax error in condition: {message}"),
                        hint: Some(
                            "conditions are CEL, e.g. case.category == \"billing\" && customer.value >= 10000"
                                .to_string(),
                        ),
                        ..d
                    });
                }
                return Condition { never: true, ..Default::default() };
            }
        };
        let expr = program.expression();
        let mut broken = false;
        for (name, id) in free_variables(expr) {
            if !VARIABLES.contains(&name.as_str()) {
                let offset = program.source_info().offset_for(id).map(|(s, _)| s as usize);
                let d = self.cel_diagnostic(path, source, None, offset);
                self.out.push(Diagnostic {
                    message: format!("unknown variable '{name}' in condition"),
                    hint: Some(match did_you_mean(&name, VARIABLES) {
                        Some(v) => format!("did you mean '{v}'?"),
                        None => "conditions can use case, customer, contact, event and now".to_string(),
                    }),
                    ..d
                });
                broken = true;
            }
        }
        for (root, field, id) in selections(expr) {
            let known = match root.as_str() {
                "case" => CASE_FIELDS,
                "customer" => CUSTOMER_FIELDS,
                _ => continue,
            };
            if !known.contains(&field.as_str()) {
                let offset = program.source_info().offset_for(id).map(|(s, _)| s as usize);
                let d = self.cel_diagnostic(path, source, None, offset);
                self.out.push(Diagnostic {
                    severity: Severity::Warning,
                    message: format!("{root} has no field '{field}'"),
                    hint: Some(match did_you_mean(&field, known.iter().copied()) {
                        Some(f) => format!("did you mean '{root}.{f}'?"),
                        None => format!("{root} fields are: {}", known.join(", ")),
                    }),
                    ..d
                });
            }
        }
        // Comparisons with values the field never has.
        let mut bad_literals = Vec::new();
        let level_ids: Vec<&str> = self.matrix.levels.iter().map(|l| l.id.as_str()).collect();
        walk(expr, &mut Vec::new(), &mut |e, _| {
            if let Some((f, v)) = case_equality(e, &["priority", "channel", "status", "level"]) {
                let valid: Vec<&str> = match f {
                    0 => Priority::names(),
                    1 => Channel::ALL.iter().map(|c| c.as_str()).collect(),
                    2 => Status::ALL.iter().map(|s| s.as_str()).collect(),
                    _ => level_ids.clone(),
                };
                if !valid.is_empty() && !valid.contains(&v.as_str()) {
                    let field = ["priority", "channel", "status", "level"][f];
                    bad_literals.push((field, v, valid.join(", "), e.id));
                }
            }
        });
        for (field, value, valid, id) in bad_literals {
            let offset = program.source_info().offset_for(id).map(|(s, _)| s as usize);
            let d = self.cel_diagnostic(path, source, None, offset);
            self.out.push(Diagnostic {
                severity: Severity::Warning,
                message: format!("case.{field} is never '{value}', so this comparison is always false"),
                hint: Some(match did_you_mean(&value, valid.split(", ")) {
                    Some(v) => format!("did you mean '{v}'?"),
                    None => format!("case.{field} is one of: {valid}"),
                }),
                ..d
            });
        }
        if let Some(kind) = non_boolean(expr) {
            self.error(
                path,
                format!("the condition is {kind}, not true or false"),
                "compare it, e.g. case.n_reopens > 1".to_string(),
            );
            broken = true;
        }
        let mut condition = Condition { cost: limits::cost(expr), ..Default::default() };
        if !broken && free_variables(expr).is_empty() && condition.cost <= limits::MAX_CONSTANT_COST {
            // A constant: evaluate it now.
            let context = Context::with_env(Arc::clone(&self.env));
            match program.execute(&context) {
                Ok(CelValue::Bool(true)) => condition.always = true,
                Ok(CelValue::Bool(false)) => {
                    self.error(
                        path,
                        "this rule can never fire: its condition is always false",
                        "remove the rule, or fix its condition".to_string(),
                    );
                    condition.never = true;
                }
                Ok(other) => {
                    self.error(
                        path,
                        format!("the condition always gives a value of type {}, not true or false", other.type_of()),
                        None,
                    );
                    condition.never = true;
                }
                Err(e) => {
                    self.error(path, format!("the condition always fails: {e}"), None);
                    condition.never = true;
                }
            }
        }
        condition.never |= broken;
        let (eqs, only) = equalities(expr);
        condition.equalities = eqs.into_iter().map(|(f, v)| (super::eval::INDEXED_FIELDS[f], v)).collect();
        condition.only_equalities = only;
        condition
    }

    /// A diagnostic inside a condition: at a CEL (line, column) or character offset when
    /// the string is verbatim in the file, else at the string.
    fn cel_diagnostic(
        &self,
        path: &str,
        source: &str,
        line_col: Option<(isize, isize)>,
        offset: Option<usize>,
    ) -> Diagnostic {
        let mut d = diagnostic_at(self.map, self.file, Severity::Error, path, "");
        let Some(start) = self.map.string_content_start(path) else { return d };
        let char_offset = match (line_col, offset) {
            (Some((line, col)), _) => {
                let line = (line.max(1) - 1) as usize;
                let before: usize = source.split_inclusive('\n').take(line).map(|l| l.chars().count()).sum();
                before + (col.max(1) - 1) as usize
            }
            (None, Some(o)) => o,
            (None, None) => return d,
        };
        let byte = source.char_indices().nth(char_offset).map_or(source.len(), |(b, _)| b);
        (d.line, d.column) = self.map.line_column(start + byte);
        d
    }

    fn rules(&mut self) {
        let matrix = self.matrix;
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut conditions: Vec<Condition> = Vec::with_capacity(matrix.rules.len());
        let authority: Vec<&str> = matrix.authority.iter().map(|a| a.action.as_str()).collect();
        let (mut total_cost, mut over_budget) = (0u64, false);
        for rule in &matrix.rules {
            let path = format!("rules[{}]", rule.order);
            if let Some(line) = self.seen_before(&mut names, rule.name.as_str(), "rules", rule.order) {
                self.error(
                    &format!("{path}.name"),
                    format!("duplicate rule name '{}' (first used on line {line})", rule.name),
                    "rule names are recorded as the reason for what they do: make each one unique".to_string(),
                );
            }
            let condition = match &rule.when {
                Some(w) => self.condition(&format!("{path}.when"), w),
                None => Condition { always: true, only_equalities: true, ..Default::default() },
            };
            if rule.actions.is_empty() {
                self.warning(&path, format!("rule '{}' has no actions", rule.name), "add then = { ... }".to_string());
            }
            for (k, action) in rule.actions.iter().enumerate() {
                let apath = self.map.action_path(rule.order, k).map_or_else(|| path.clone(), str::to_string);
                self.action(&apath, action, &condition, &authority);
            }
            total_cost = total_cost.saturating_add(condition.cost);
            if total_cost > limits::MAX_MATRIX_COST && !over_budget {
                over_budget = true;
                self.error(
                    &format!("{path}.when"),
                    format!(
                        "with this rule, the conditions could take about {total_cost} steps to evaluate on one \
                         change of a case, over the limit of {}",
                        limits::MAX_MATRIX_COST
                    ),
                    "make the costliest conditions cheaper (see the limits in the matrix reference)".to_string(),
                );
            }
            conditions.push(condition);
        }
        // Shadowed and duplicate rules, per trigger. Only rules with `stop` can shadow, and
        // duplicates are found by their condition's text: linear in the number of rules
        // (times the number of stopping rules), so a 5,000-rule file checks quickly.
        let keys: Vec<String> = matrix
            .rules
            .iter()
            .zip(&conditions)
            .map(|(r, c)| {
                if c.always { "true".to_string() } else { super::diff::normalise(r.when.as_deref().unwrap_or("true")) }
            })
            .collect();
        for trigger in Trigger::ALL {
            let mut stoppers: Vec<usize> = Vec::new();
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for j in (0..matrix.rules.len()).filter(|&i| matrix.rules[i].trigger == trigger) {
                let (b, cb) = (&matrix.rules[j], &conditions[j]);
                if cb.never {
                    continue;
                }
                let shadow = stoppers.iter().copied().find(|&i| {
                    let ca = &conditions[i];
                    // b can only hold when a's equality tests all hold.
                    keys[i] == keys[j]
                        || ca.always
                        || (ca.only_equalities && ca.equalities.iter().all(|e| cb.equalities.contains(e)))
                });
                if let Some(i) = shadow {
                    let a = &matrix.rules[i];
                    let line = self.line_of(&format!("rules[{}]", a.order));
                    let why = if conditions[i].always {
                        format!("rule '{}' (line {line}) always fires first on {trigger} and stops", a.name)
                    } else {
                        format!("whenever it holds, rule '{}' (line {line}) holds too, fires first and stops", a.name)
                    };
                    self.error(
                        &format!("rules[{}]", b.order),
                        format!("rule '{}' can never fire: {why}", b.name),
                        format!("move it above '{}', or narrow '{}'", a.name, a.name),
                    );
                    continue;
                }
                match seen.get(keys[j].as_str()) {
                    Some(&i) => {
                        let a = &matrix.rules[i];
                        let line = self.line_of(&format!("rules[{}]", a.order));
                        self.warning(
                            &format!("rules[{}]", b.order),
                            format!(
                                "rule '{}' has the same trigger and condition as rule '{}' (line {line}): both always fire together",
                                b.name, a.name
                            ),
                            "merge their actions into one rule, or make the conditions exclusive".to_string(),
                        );
                    }
                    None => {
                        seen.insert(&keys[j], j);
                    }
                }
                if b.stop {
                    stoppers.push(j);
                }
            }
        }
    }

    fn action(&mut self, path: &str, action: &Action, condition: &Condition, authority: &[&str]) {
        let matrix = self.matrix;
        let sibling = |key: &str| match path.rsplit_once('.') {
            Some((parent, _)) => format!("{parent}.{key}"),
            None => key.to_string(),
        };
        match action {
            Action::Escalate { kind, to_level, to_team, role: _ } => {
                let ladder: Vec<&LevelId> = matrix.levels.iter().map(|l| &l.id).collect();
                let rank = |l: &LevelId| ladder.iter().position(|x| *x == l);
                let at_level = condition.equalities.iter().find(|(f, _)| *f == "level").map(|(_, v)| LevelId::new(v));
                if let Some(to) = to_level {
                    match rank(to) {
                        None if !ladder.is_empty() => {
                            let hint = self.level_hint(to.as_str());
                            self.error(path, format!("unknown level '{to}'"), hint);
                        }
                        None => self.error(
                            path,
                            format!("escalation to level '{to}', but the matrix defines no levels"),
                            "add [[levels]] tables, lowest first".to_string(),
                        ),
                        Some(0) if *kind == EscalationKind::Hierarchical => self.error(
                            path,
                            format!("escalating to {to}, the lowest level, never goes up"),
                            "use route = \"TEAM\" to move a case within the front line".to_string(),
                        ),
                        Some(r) => {
                            if let Some(at) = &at_level
                                && rank(at).is_some_and(|a| a >= r)
                            {
                                self.error(
                                    path,
                                    format!(
                                        "this rule only fires on cases at {at} (case.level == \"{at}\"), and {to} is not above {at}"
                                    ),
                                    format!("escalate to a level above {at}"),
                                );
                            }
                        }
                    }
                } else if *kind == EscalationKind::Hierarchical
                    && let Some(at) = &at_level
                    && ladder.last().is_some_and(|top| *top == at)
                {
                    self.error(
                        path,
                        format!("this rule only fires on cases at {at}, the top level, so there is no level above"),
                        "notify someone instead".to_string(),
                    );
                }
                if let Some(team) = to_team {
                    let tpath = sibling("team");
                    self.team(&tpath, team);
                    // The team's level, from the directory or from the levels' team lists.
                    let team_level = self.directory.and_then(|d| d.level_of(team)).cloned().or_else(|| {
                        matrix.levels.iter().find(|l| l.teams.iter().any(|t| t == team)).map(|l| l.id.clone())
                    });
                    if let (Some(to), Some(tl)) = (to_level, team_level)
                        && to != &tl
                        && rank(to).is_some()
                    {
                        self.error(
                            &tpath,
                            format!("team '{team}' works level {tl}, not {to}"),
                            format!("escalate to {tl}, or choose a team of {to}"),
                        );
                    }
                }
            }
            Action::Route { team } => self.team(path, team),
            Action::Notify { who, .. } => {
                if let Some(team) = who.team() {
                    self.team(path, team);
                }
                if let Recipient::Role(Role::Agent) = who {
                    self.warning(
                        path,
                        "notifying every agent is rarely meant",
                        "notify the assignee or the case's team instead".to_string(),
                    );
                }
            }
            Action::RequireApproval { action, amount_field } => {
                if !authority.contains(&action.as_str()) {
                    let hint = match did_you_mean(action, authority.iter().copied()) {
                        Some(a) => format!("did you mean '{a}'?"),
                        None => format!("add [[authority]] with action = \"{action}\" and its limits"),
                    };
                    self.error(path, format!("no authority limits for '{action}'"), hint);
                }
                if let Some(field) = amount_field {
                    let fpath = format!("{path}.amount_field");
                    match limits::compile(&self.env, field) {
                        Ok(p) => {
                            for (name, _) in free_variables(p.expression()) {
                                if !VARIABLES.contains(&name.as_str()) {
                                    self.error(
                                        &fpath,
                                        format!("unknown variable '{name}' in amount_field"),
                                        "write a path such as case.custom_fields.amount".to_string(),
                                    );
                                }
                            }
                        }
                        Err(CompileError::Limit(over)) => {
                            self.error(&fpath, format!("amount_field: {}", over.message), over.hint)
                        }
                        Err(CompileError::Syntax(_)) => self.error(
                            &fpath,
                            format!("amount_field '{field}' is not a CEL expression"),
                            "write a path such as case.custom_fields.amount".to_string(),
                        ),
                    }
                }
            }
            Action::SetPriority(_) | Action::AddTags(_) => {}
        }
    }

    fn authority(&mut self) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, a) in self.matrix.authority.iter().enumerate() {
            let path = format!("authority[{i}]");
            if let Some(line) = self.seen_before(&mut first, a.action.as_str(), "authority", i) {
                self.error(
                    &format!("{path}.action"),
                    format!("authority for '{}' is defined twice (first on line {line})", a.action),
                    None,
                );
            }
            if a.limits.is_empty() {
                self.warning(
                    &path,
                    format!("authority '{}' gives no role a limit", a.action),
                    "add limits = { agent = 50, supervisor = 500 }".to_string(),
                );
            }
            let mut previous: Option<(Role, f64)> = None;
            for (role, limit) in &a.limits {
                let p = format!("{path}.limits.{}", role.as_str());
                if *limit < 0.0 {
                    self.error(
                        &p,
                        format!("limit {limit} for {} is negative", role.as_str()),
                        "a limit is the most a role may grant; use 0 for nothing".to_string(),
                    );
                }
                if let Some((prev_role, prev)) = previous
                    && *limit < prev
                {
                    self.warning(
                        &p,
                        format!(
                            "{} may grant less ({limit}) than {} ({prev}) for '{}'",
                            role.as_str(),
                            prev_role.as_str(),
                            a.action
                        ),
                        "a role higher up usually has at least the authority of the ones below".to_string(),
                    );
                }
                previous = Some((*role, *limit));
            }
            for (user, limit) in &a.user_overrides {
                if *limit < 0.0 {
                    self.error(
                        &format!("{path}.users.{user}"),
                        format!("limit {limit} for user '{user}' is negative"),
                        None,
                    );
                }
            }
        }
    }

    fn incident_policies(&mut self) {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut severities: HashMap<super::IncidentSeverity, usize> = HashMap::new();
        for (i, policy) in self.matrix.incident_policies.iter().enumerate() {
            let path = format!("incident_policies[{i}]");
            if let Some(line) = self.seen_before(&mut ids, policy.id.as_str(), "incident_policies", i) {
                self.error(
                    &format!("{path}.id"),
                    format!("duplicate incident policy id '{}' (first on line {line})", policy.id),
                    None,
                );
            }
            if let Some(line) = self.seen_before(&mut severities, policy.severity, "incident_policies", i) {
                self.warning(
                    &format!("{path}.severity"),
                    format!(
                        "a policy for {} is already defined on line {line}; only the first is used",
                        policy.severity
                    ),
                    None,
                );
            }
            if policy.steps.is_empty() {
                self.error(
                    &path,
                    format!("incident policy '{}' has no steps: nobody would be paged", policy.id),
                    "add [[incident_policies.steps]] with notify and ack_timeout".to_string(),
                );
            }
            for (k, step) in policy.steps.iter().enumerate() {
                let sp = format!("{path}.steps[{k}]");
                if step.notify.is_empty() {
                    self.error(&format!("{sp}.notify"), "this step notifies nobody", None);
                }
                if !step.ack_timeout.is_positive() {
                    self.error(
                        &format!("{sp}.ack_timeout"),
                        "ack_timeout must be longer than zero",
                        "give people time to acknowledge, e.g. \"5m\"".to_string(),
                    );
                }
                for (n, r) in step.notify.iter().enumerate() {
                    if let Some(team) = r.team() {
                        let np = format!("{sp}.notify[{n}]");
                        self.team(&np, team);
                    }
                }
            }
        }
    }
}

/// Why an expression cannot be a condition: a literal or arithmetic at the top.
fn non_boolean(expr: &IdedExpr) -> Option<&'static str> {
    match &expr.expr {
        Expr::Literal(LiteralValue::Boolean(_)) => None,
        Expr::Literal(LiteralValue::String(_)) => Some("a string"),
        Expr::Literal(LiteralValue::Int(_) | LiteralValue::UInt(_) | LiteralValue::Double(_)) => Some("a number"),
        Expr::Literal(LiteralValue::Null) => Some("null"),
        Expr::Literal(LiteralValue::Bytes(_)) => Some("bytes"),
        Expr::List(_) => Some("a list"),
        Expr::Map(_) => Some("a map"),
        Expr::Call(c) if ["_+_", "_-_", "_*_", "_/_", "_%_", "-_"].contains(&c.func_name.as_str()) => {
            Some("arithmetic")
        }
        _ => None,
    }
}
