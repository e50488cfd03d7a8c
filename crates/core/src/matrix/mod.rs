//! The escalation matrix as code: a TOML file of calendars, levels with their targets,
//! CEL rules, authority limits and incident policies; its parser, linter, evaluator and
//! semantic diff. Pure computation like the rest of the crate: no I/O, no clock reads (the
//! evaluator takes `now` in its facts).
//!
//! # Layout
//! - [`model`]: the matrix as data ([`Matrix`], [`Calendar`], [`LevelSpec`], [`Rule`], [`Action`] …).
//! - [`parse`](mod@parse): TOML text to a [`Matrix`] and a [`SourceMap`], with every shape error
//!   at its line and column.
//! - [`lint`](mod@lint): whether the parts fit together (unknown references, CEL errors,
//!   unreachable rules, impossible calendars …).
//! - [`eval`]: [`CompiledMatrix`], the rules compiled once and indexed by trigger, evaluated
//!   against a case's [`Facts`].
//! - [`limits`]: what an expression may cost (size, nesting, evaluation steps), checked
//!   before the CEL parser sees it and before it runs.
//! - [`apply`]: the matrix in force applied to a case's write: triggers, facts, what the
//!   fired actions become ([`apply_rules`]), then the clock changes ([`follow_up`]).
//! - [`diff`](mod@diff): what changed between two versions, in words.
//! - [`schema`]: the JSON Schema of the file format, for editors, derived from the model.
//!
//! [`check`] is parse then lint: what `ladder matrix check` prints.

pub mod apply;
pub mod diff;
pub mod eval;
pub mod limits;
pub mod lint;
pub mod model;
pub mod parse;
pub mod schema;

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

pub use apply::{ActiveMatrix, MATRIX_ACTOR, REPEAT_CONTACT_WINDOW, Surroundings, apply_rules, follow_up, route_for};
pub use diff::{Change, ChangeKind, Item, by_section, diff};
pub use eval::{CompiledMatrix, Evaluation, Facts, Fired, TriggerFired};
pub use lint::{Directory, lint};
pub use model::{
    Action, AuthorityRule, AuthorityWindow, Calendar, FieldType, ISO_4217, IncidentPolicy, IncidentSeverity,
    IncidentStep, LevelSpec, Matrix, MetricTargets, NotifyChannel, Recipient, Rule, TargetKind, Targets, Trigger,
    WeeklyHours, Window,
};
pub use parse::parse;
pub use schema::json_schema;

/// How bad a diagnostic is: an error makes the matrix invalid; a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a matrix file, with where it is and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the problem has no position (a matrix built without a source).
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    /// Where in the document, e.g. `rules[3].when` (0-based indices).
    pub path: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.severity.as_str(), self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Where each part of a parsed matrix was written: byte spans by document path
/// (`levels[1].respond`, `rules[0]`, `calendars.support.hours.mon-fri` …), and the source
/// text to turn them into lines and columns.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    source: String,
    line_starts: Vec<usize>,
    /// The span of each path's value (for a `[[table]]`, its header).
    values: HashMap<String, Range<usize>>,
    /// The span of each path's key.
    keys: HashMap<String, Range<usize>>,
    /// For a string whose text in the file is exactly its value (no escapes), where its
    /// content starts: lets a CEL error point inside the expression.
    verbatim: HashMap<String, usize>,
    /// The path of the key that spells each action, by (rule order, action index).
    actions: HashMap<(usize, usize), String>,
}

impl SourceMap {
    pub(crate) fn new(source: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        SourceMap { source: source.to_string(), line_starts, ..Default::default() }
    }

    /// The 1-based line and character column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self.source.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line, column)
    }

    /// The byte span of a path's value, or of its nearest recorded parent.
    pub fn span(&self, path: &str) -> Option<Range<usize>> {
        let mut p = path;
        loop {
            if let Some(s) = self.values.get(p) {
                return Some(s.clone());
            }
            p = parent_path(p)?;
        }
    }

    /// The byte span of a path's key, falling back to its value.
    pub fn key_span(&self, path: &str) -> Option<Range<usize>> {
        self.keys.get(path).cloned().or_else(|| self.span(path))
    }

    /// Line and column of a path's value (or nearest parent); (0, 0) when unknown.
    pub fn position(&self, path: &str) -> (usize, usize) {
        self.span(path).map_or((0, 0), |s| self.line_column(s.start))
    }

    /// Line and column of a path's key (or its value).
    pub fn key_position(&self, path: &str) -> (usize, usize) {
        self.key_span(path).map_or((0, 0), |s| self.line_column(s.start))
    }

    /// Where the content of a verbatim string value starts, in bytes.
    pub fn string_content_start(&self, path: &str) -> Option<usize> {
        self.verbatim.get(path).copied()
    }

    /// The path of the key that spells action `index` of the rule at file position
    /// `rule_order`, e.g. `rules[2].then.escalate`.
    pub fn action_path(&self, rule_order: usize, index: usize) -> Option<&str> {
        self.actions.get(&(rule_order, index)).map(String::as_str)
    }

    pub(crate) fn record_action(&mut self, rule_order: usize, index: usize, path: String) {
        self.actions.insert((rule_order, index), path);
    }

    /// After items of the array at `array` were dropped (they did not parse), renames
    /// `array[file index]…` paths to `array[position among the kept]…`, so the linter's
    /// paths (by position in the model) find them. `kept` lists the kept file indices.
    pub(crate) fn renumber(&mut self, array: &str, kept: &[usize]) {
        let rename = |path: &str| -> Option<Option<String>> {
            let rest = path.strip_prefix(array)?.strip_prefix('[')?;
            let close = rest.find(']')?;
            let index: usize = rest[..close].parse().ok()?;
            Some(kept.iter().position(|k| *k == index).map(|n| format!("{array}[{n}]{}", &rest[close + 1..])))
        };
        for map in [&mut self.values, &mut self.keys] {
            *map = std::mem::take(map)
                .into_iter()
                .filter_map(|(k, v)| match rename(&k) {
                    None => Some((k, v)),
                    Some(renamed) => renamed.map(|r| (r, v)),
                })
                .collect();
        }
        self.verbatim = std::mem::take(&mut self.verbatim)
            .into_iter()
            .filter_map(|(k, v)| match rename(&k) {
                None => Some((k, v)),
                Some(renamed) => renamed.map(|r| (r, v)),
            })
            .collect();
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn record_value(&mut self, path: &str, span: Range<usize>) {
        self.values.insert(path.to_string(), span);
    }

    pub(crate) fn record_key(&mut self, path: &str, span: Range<usize>) {
        self.keys.insert(path.to_string(), span);
    }

    pub(crate) fn record_verbatim(&mut self, path: &str, start: usize) {
        self.verbatim.insert(path.to_string(), start);
    }
}

/// `rules[3].when` → `rules[3]` → `rules`; `a.b` → `a`.
fn parent_path(path: &str) -> Option<&str> {
    if path.ends_with(']') {
        return path.rfind('[').map(|i| &path[..i]);
    }
    path.rfind(['.', '[']).map(|i| &path[..i])
}

/// Builds a diagnostic at a path's value.
pub(crate) fn diagnostic_at(
    map: &SourceMap,
    file: &str,
    severity: Severity,
    path: &str,
    message: impl Into<String>,
) -> Diagnostic {
    let (line, column) = map.position(path);
    Diagnostic {
        severity,
        file: file.to_string(),
        line,
        column,
        message: message.into(),
        hint: None,
        path: path.to_string(),
    }
}

/// Parses and lints: every problem of the file, errors and warnings, ordered by position.
/// When the file does not parse cleanly, what could be read is still linted, so one run
/// reports as much as it can.
pub fn check(source: &str, file: &str, directory: Option<&Directory>) -> Vec<Diagnostic> {
    let (matrix, map, mut diagnostics) = parse::parse_partial(source, file);
    if !parse::is_syntax_failure(&diagnostics) {
        // What could not be read is left out of the model: don't also report what follows
        // from its absence (an empty calendar whose hours did not parse …).
        let unread: Vec<String> = diagnostics.iter().map(|d| d.path.clone()).collect();
        let follows = |d: &Diagnostic| {
            unread.iter().any(|u| u.starts_with(&d.path) && matches!(u.as_bytes().get(d.path.len()), Some(b'.' | b'[')))
        };
        let linted = lint(&matrix, &map, file, directory);
        diagnostics.extend(linted.into_iter().filter(|d| !follows(d)));
    }
    sort_diagnostics(&mut diagnostics);
    diagnostics
}

pub(crate) fn sort_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| (a.line, a.column, &a.message).cmp(&(b.line, b.column, &b.message)));
    diagnostics.dedup();
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(row[j + 1]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// A hint naming the close candidate, else listing them all.
pub(crate) fn hint_for(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(c) => format!("did you mean '{c}'?"),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_columns_count_characters() {
        let map = SourceMap::new("ab\né = 1\n");
        assert_eq!(map.line_column(0), (1, 1));
        assert_eq!(map.line_column(3), (2, 1));
        assert_eq!(map.line_column(6), (2, 3));
    }

    #[test]
    fn parents() {
        assert_eq!(parent_path("rules[3].when"), Some("rules[3]"));
        assert_eq!(parent_path("rules[3]"), Some("rules"));
        assert_eq!(parent_path("rules"), None);
    }

    #[test]
    fn typo_hints() {
        assert_eq!(did_you_mean("respnd", ["respond", "resolve"]), Some("respond"));
        assert_eq!(did_you_mean("zzz", ["respond"]), None);
    }
}
