//! TOML text to a [`Matrix`]. The document is read as a spanned TOML tree and walked by
//! hand rather than through serde, so that *every* shape error is reported (not just the
//! first), each at its own line and column, and an unknown key can say which known key was
//! probably meant.

use std::collections::BTreeMap;
use std::ops::Range;

use jiff::SignedDuration;
use jiff::civil::Date;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::model::{
    Action, AuthorityRule, AuthorityWindow, Calendar, FieldType, ISO_4217, IncidentPolicy, IncidentSeverity,
    IncidentStep, LevelSpec, Matrix, MetricTargets, Named, NotifyChannel, QueueSpec, Recipient, Rule, SlaSettings,
    Targets, Trigger, WeeklyHours, Window, parse_days, parse_duration, parse_window,
};
use super::{Diagnostic, Severity, SourceMap, hint_for};
use crate::case::{Priority, Status};
use crate::directory::{LevelId, Role};
use crate::event::EscalationKind;

type Value<'i> = Spanned<DeValue<'i>>;

/// The keys each table of the file may have, in the order an "expected one of" hint lists
/// them (the model's field order). The schema derived from the model has the same keys; a
/// test in [`schema`](super::schema) keeps the two in step.
pub(crate) mod keys {
    pub(crate) const TOP: &[&str] = &[
        "calendars",
        "levels",
        "rules",
        "authority",
        "incident_policies",
        "sla",
        "queues",
        "custom_fields",
        "currency",
        "metric_targets",
    ];
    pub(crate) const METRIC_TARGETS: &[&str] = &["sla_compliance", "escalation_rate", "fcr", "csat"];
    pub(crate) const QUEUE: &[&str] = &["team", "overflow_to", "after"];
    pub(crate) const SLA: &[&str] = &["pause_on", "warn_at"];
    pub(crate) const CALENDAR: &[&str] = &["timezone", "hours", "holidays", "overrides"];
    pub(crate) const LEVEL: &[&str] = &[
        "id",
        "name",
        "criteria",
        "teams",
        "roles",
        "respond",
        "update",
        "resolve",
        "by_priority",
        "by_segment",
        "calendar",
    ];
    pub(crate) const TARGET: &[&str] = &["respond", "update", "resolve"];
    /// Keys that describe actions, on a rule or in its `then`.
    pub(crate) const ACTION: &[&str] =
        &["escalate", "kind", "team", "role", "priority", "tags", "route", "notify", "require_approval"];
    pub(crate) const RULE: &[&str] = &["name", "description", "trigger", "when", "stop", "then"];
    pub(crate) const NOTIFY: &[&str] = &["who", "channel", "template", "within_hours"];
    pub(crate) const APPROVAL: &[&str] = &["action", "amount_field"];
    pub(crate) const AUTHORITY: &[&str] = &["action", "limits", "users", "approve_within", "window"];
    pub(crate) const POLICY: &[&str] = &["id", "name", "severity", "steps", "repeat"];
    pub(crate) const STEP: &[&str] = &["notify", "channels", "ack_timeout"];
}

const DURATION_HINT: &str = "write a number and a unit: 90s, 15m, 1h30m, 8h, 5d";
const WINDOW_HINT: &str =
    "write HH:MM-HH:MM, e.g. 08:00-20:00; an overnight window such as 22:00-06:00 ends the next day";
const DAYS_HINT: &str =
    "use mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, a list such as sat,sun, or daily";
const RECIPIENT_HINT: &str =
    "use assignee, customer, team, team:SLUG, role:agent|supervisor|manager|admin, user:NAME or on_call:SLUG";

/// Parses a matrix file. `file` is only used in the diagnostics. On failure, every shape
/// error found is returned, ordered by position.
pub fn parse(source: &str, file: &str) -> Result<(Matrix, SourceMap), Vec<Diagnostic>> {
    let (matrix, map, mut diagnostics) = parse_partial(source, file);
    if diagnostics.iter().any(Diagnostic::is_error) {
        super::sort_diagnostics(&mut diagnostics);
        return Err(diagnostics);
    }
    Ok((matrix, map))
}

/// What could be read, with the problems found. Parts with errors are left out or take
/// their defaults, so the linter can still look at the rest.
pub(crate) fn parse_partial(source: &str, file: &str) -> (Matrix, SourceMap, Vec<Diagnostic>) {
    let mut p = Parser { file, map: SourceMap::new(source), diagnostics: Vec::new() };
    let (root, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            p.error_span(span, "", format!("TOML syntax: {}", e.message().trim_end_matches('.')));
        }
        // Mark the output so `check` does not lint a half-read document.
        if let Some(d) = p.diagnostics.first_mut() {
            d.path = SYNTAX_PATH.to_string();
        }
        return (Matrix::default(), p.map, p.diagnostics);
    }
    let matrix = p.document(root.get_ref());
    (matrix, p.map, p.diagnostics)
}

const SYNTAX_PATH: &str = "<syntax>";

pub(crate) fn is_syntax_failure(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.first().is_some_and(|d| d.path == SYNTAX_PATH)
}

struct Parser<'f> {
    file: &'f str,
    map: SourceMap,
    diagnostics: Vec<Diagnostic>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Parser<'_> {
    fn error_span(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let (line, column) = self.map.line_column(span.start);
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
            hint: None,
            path: path.to_string(),
        });
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn error(&mut self, v: &Value<'_>, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.error_span(v.span(), path, message)
    }

    fn type_error(&mut self, v: &Value<'_>, path: &str, expected: &str) {
        let found = type_name(v.get_ref());
        let key = path.rsplit(['.', '[']).next().unwrap_or(path).trim_end_matches(']');
        self.error(v, path, format!("'{key}' must be {expected}, not {found}"));
    }

    /// Records a value's position, and for a string whose file text is its exact value,
    /// where the content starts.
    fn record(&mut self, path: &str, v: &Value<'_>) {
        let span = v.span();
        if let DeValue::String(s) = v.get_ref()
            && let Some(start) = verbatim_start(self.map.source(), span.clone(), s)
        {
            self.map.record_verbatim(path, start);
        }
        self.map.record_value(path, span);
    }

    /// Checks a table's keys against the allowed ones, records every key and value
    /// position, and returns the table's entries as (key, path, value).
    fn entries<'t, 'i>(
        &mut self,
        path: &str,
        table: &'t DeTable<'i>,
        allowed: &[&str],
    ) -> Vec<(&'t str, String, &'t Value<'i>)> {
        let mut out = Vec::with_capacity(table.len());
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            let p = join(path, key);
            self.map.record_key(&p, k.span());
            self.record(&p, v);
            if !allowed.is_empty() && !allowed.contains(&key) {
                let hint = hint_for(key, allowed);
                let where_ = if path.is_empty() { "at the top level".to_string() } else { format!("in {path}") };
                self.error_span(k.span(), &p, format!("unknown key '{key}' {where_}")).hint = Some(hint);
                continue;
            }
            out.push((key, p, v));
        }
        out
    }

    fn table<'t, 'i>(&mut self, path: &str, v: &'t Value<'i>) -> Option<&'t DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.type_error(v, path, "a table");
                None
            }
        }
    }

    /// The items of an array with their paths (`path[i]`), each item's position recorded.
    fn items<'t, 'i: 't>(
        &mut self,
        path: &str,
        items: impl Iterator<Item = &'t Value<'i>>,
    ) -> Vec<(String, &'t Value<'i>)> {
        items
            .enumerate()
            .map(|(i, item)| {
                let p = index(path, i);
                self.record(&p, item);
                (p, item)
            })
            .collect()
    }

    /// [`Parser::items`] of `v`, or `None` with an error saying `v` must be `expected` when
    /// it is not an array.
    fn array<'t, 'i>(&mut self, path: &str, v: &'t Value<'i>, expected: &str) -> Option<Vec<(String, &'t Value<'i>)>> {
        let DeValue::Array(items) = v.get_ref() else {
            self.type_error(v, path, expected);
            return None;
        };
        Some(self.items(path, items.iter()))
    }

    /// An array of tables (`[[levels]]`), each with its path.
    fn tables<'t, 'i>(&mut self, path: &str, v: &'t Value<'i>) -> Vec<(String, &'t Value<'i>, &'t DeTable<'i>)> {
        let Some(items) = self.array(path, v, "an array of tables, written [[...]]") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (p, item) in items {
            if let Some(t) = self.table(&p, item) {
                out.push((p, item, t));
            }
        }
        out
    }

    fn string(&mut self, path: &str, v: &Value<'_>) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.type_error(v, path, "a string");
                None
            }
        }
    }

    /// A non-empty string without surrounding spaces.
    fn name(&mut self, path: &str, v: &Value<'_>) -> Option<String> {
        let s = self.string(path, v)?;
        if s.trim().is_empty() {
            self.error(v, path, "must not be empty");
            return None;
        }
        Some(s.trim().to_string())
    }

    /// A string or an array of strings.
    fn strings(&mut self, path: &str, v: &Value<'_>) -> Vec<String> {
        match v.get_ref() {
            DeValue::String(s) => vec![s.to_string()],
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for (p, item) in self.items(path, items.iter()) {
                    if let Some(s) = self.name(&p, item) {
                        out.push(s);
                    }
                }
                out
            }
            _ => {
                self.type_error(v, path, "a string or an array of strings");
                Vec::new()
            }
        }
    }

    fn boolean(&mut self, path: &str, v: &Value<'_>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.type_error(v, path, "true or false");
                None
            }
        }
    }

    fn number(&mut self, path: &str, v: &Value<'_>) -> Option<f64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => {
                self.type_error(v, path, "a number");
                return None;
            }
        };
        if n.is_none() {
            self.error(v, path, "must be a finite number");
        }
        n
    }

    fn count(&mut self, path: &str, v: &Value<'_>) -> Option<u32> {
        match v.get_ref() {
            DeValue::Integer(i) => match u32::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(v, path, "must be a whole number ≥ 0");
                    None
                }
            },
            _ => {
                self.type_error(v, path, "a whole number");
                None
            }
        }
    }

    fn duration(&mut self, path: &str, v: &Value<'_>) -> Option<SignedDuration> {
        let s = self.string(path, v)?;
        match parse_duration(&s) {
            Some(d) => Some(d),
            None => {
                self.error(v, path, format!("invalid duration '{s}'")).hint = Some(DURATION_HINT.to_string());
                None
            }
        }
    }

    /// A value parsed from a string by `parse`, or an error naming the valid choices.
    fn choice<T>(
        &mut self,
        path: &str,
        v: &Value<'_>,
        what: &str,
        choices: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let s = self.string(path, v)?;
        match parse(&s) {
            Some(t) => Some(t),
            None => {
                let hint = hint_for(&s, choices);
                self.error(v, path, format!("unknown {what} '{s}'")).hint = Some(hint);
                None
            }
        }
    }

    /// A name or an array of names of one set (roles, channels): each unknown one is
    /// reported at its item, with a hint.
    fn named_list<T: Named>(&mut self, path: &str, v: &Value<'_>, what: &str) -> Vec<T> {
        let mut out = Vec::new();
        for (i, name) in self.strings(path, v).iter().enumerate() {
            match T::from_name(name) {
                Some(x) => out.push(x),
                None => {
                    let ip = if matches!(v.get_ref(), DeValue::Array(_)) { index(path, i) } else { path.to_string() };
                    let span = self.map.span(&ip).unwrap_or(v.span());
                    self.error_span(span, &ip, format!("unknown {what} '{name}'")).hint =
                        Some(hint_for(name, &T::names()));
                }
            }
        }
        out
    }

    fn date(&mut self, path: &str, v: &Value<'_>) -> Option<Date> {
        let parsed = match v.get_ref() {
            DeValue::String(s) => s.trim().parse::<Date>().map_err(|_| s.to_string()),
            DeValue::Datetime(dt) => match (dt.date, dt.time) {
                (Some(d), None) => Date::new(d.year as i16, d.month as i8, d.day as i8).map_err(|_| dt.to_string()),
                _ => Err(dt.to_string()),
            },
            _ => {
                self.type_error(v, path, "a date such as \"2026-12-25\"");
                return None;
            }
        };
        match parsed {
            Ok(d) => Some(d),
            Err(text) => {
                self.error(v, path, format!("invalid date '{text}'")).hint =
                    Some("write a calendar date as YYYY-MM-DD, e.g. 2026-12-25".to_string());
                None
            }
        }
    }

    /// A window, an array of windows, or `"closed"`.
    fn windows(&mut self, path: &str, v: &Value<'_>) -> Option<Vec<Window>> {
        let one = |p: &mut Self, path: &str, v: &Value<'_>| -> Option<Vec<Window>> {
            let s = p.string(path, v)?;
            if s.trim().eq_ignore_ascii_case("closed") {
                return Some(Vec::new());
            }
            match parse_window(&s) {
                Some(w) => Some(vec![w]),
                None => {
                    p.error(v, path, format!("invalid window '{s}'")).hint = Some(WINDOW_HINT.to_string());
                    None
                }
            }
        };
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (p, item) in self.items(path, items.iter()) {
                    match one(self, &p, item) {
                        Some(w) => out.extend(w),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => one(self, path, v),
        }
    }

    fn document(&mut self, root: &DeTable<'_>) -> Matrix {
        let mut m = Matrix::default();
        for (key, path, v) in self.entries("", root, keys::TOP) {
            match key {
                "calendars" => {
                    let Some(t) = self.table(&path, v) else { continue };
                    for (name, cpath, cv) in self.entries(&path, t, &[]) {
                        if let Some(c) = self.calendar(&cpath, cv) {
                            m.calendars.insert(name.to_string(), c);
                        }
                    }
                }
                "levels" => m.levels.extend(self.kept_tables(&path, v, Self::level)),
                "rules" => {
                    for (i, (p, item, t)) in self.tables(&path, v).into_iter().enumerate() {
                        if let Some(r) = self.rule(&p, item, t, i) {
                            m.rules.push(r);
                        }
                    }
                }
                "authority" => m.authority.extend(self.kept_tables(&path, v, Self::authority)),
                "incident_policies" => m.incident_policies.extend(self.kept_tables(&path, v, Self::incident_policy)),
                "sla" => {
                    if let Some(t) = self.table(&path, v) {
                        m.sla = self.sla(&path, t);
                    }
                }
                "queues" => m.queues.extend(self.kept_tables(&path, v, Self::queue)),
                "custom_fields" => {
                    let Some(t) = self.table(&path, v) else { continue };
                    for (name, fpath, fv) in self.entries(&path, t, &[]) {
                        if crate::validate::handle("custom_fields", name).is_err() {
                            self.error(fv, &fpath, format!("'{name}' is not a field name")).hint =
                                Some("use 1–64 characters from a-z, 0-9, '-', '_' and '.'".into());
                            continue;
                        }
                        if let Some(ty) =
                            self.choice(&fpath, fv, "field type", &FieldType::names(), FieldType::from_name)
                        {
                            m.custom_fields.insert(name.to_string(), ty);
                        }
                    }
                }
                "currency" => {
                    let Some(code) = self.string(&path, v) else { continue };
                    if !ISO_4217.contains(&code.as_str()) {
                        self.error(v, &path, format!("unknown currency '{code}'")).hint = Some(format!(
                            "use an ISO 4217 code in capitals, such as 'EUR', 'USD' or 'GBP' (without it: '{}')",
                            Matrix::DEFAULT_CURRENCY
                        ));
                        continue;
                    }
                    m.currency = Some(code);
                }
                "metric_targets" => {
                    if let Some(t) = self.table(&path, v) {
                        m.metric_targets = self.metric_targets(&path, t);
                    }
                }
                _ => unreachable!("entries() filters keys"),
            }
        }
        m
    }

    /// The `[metric_targets]` table: rates between 0 and 1, CSAT between 1 and 5.
    fn metric_targets(&mut self, path: &str, t: &DeTable<'_>) -> MetricTargets {
        let mut targets = MetricTargets::default();
        for (key, p, val) in self.entries(path, t, keys::METRIC_TARGETS) {
            let Some(n) = self.number(&p, val) else { continue };
            let (range, hint) = if key == "csat" {
                (1.0..=5.0, "CSAT is on its 1–5 scale, e.g. csat = 4.2")
            } else {
                (0.0..=1.0, "a rate is a fraction, e.g. 0.95 for 95 %")
            };
            if !range.contains(&n) {
                self.error(val, &p, format!("{key} must be between {} and {}", range.start(), range.end())).hint =
                    Some(hint.to_string());
                continue;
            }
            match key {
                "sla_compliance" => targets.sla_compliance = Some(n),
                "escalation_rate" => targets.escalation_rate = Some(n),
                "fcr" => targets.fcr = Some(n),
                "csat" => targets.csat = Some(n),
                _ => unreachable!("entries() filters keys"),
            }
        }
        targets
    }

    /// One `[[queues]]` table: every key is required.
    fn queue(&mut self, path: &str, v: &Value<'_>, t: &DeTable<'_>) -> Option<QueueSpec> {
        let (mut team, mut overflow_to, mut after) = (None, None, None);
        for (key, p, val) in self.entries(path, t, keys::QUEUE) {
            match key {
                "team" => team = self.name(&p, val),
                "overflow_to" => overflow_to = self.name(&p, val),
                "after" => after = self.duration(&p, val),
                _ => unreachable!(),
            }
        }
        for (key, what) in [
            ("team", "the team whose queue overflows"),
            ("overflow_to", "the team that takes the overflow"),
            ("after", "how long a case may wait, e.g. \"10m\""),
        ] {
            if !t.contains_key(key) {
                self.missing(v, path, key, what);
            }
        }
        Some(QueueSpec { team: team?, overflow_to: overflow_to?, after: after? })
    }

    /// The `[sla]` table; what it leaves out keeps its default.
    fn sla(&mut self, path: &str, t: &DeTable<'_>) -> SlaSettings {
        let mut sla = SlaSettings::default();
        for (key, p, val) in self.entries(path, t, keys::SLA) {
            match key {
                "pause_on" => {
                    let Some(items) = self.array(&p, val, "an array of statuses") else { continue };
                    let mut statuses = Vec::new();
                    for (ip, item) in items {
                        let pausable = SlaSettings::PAUSABLE.map(Status::as_str);
                        let parse = |s: &str| SlaSettings::PAUSABLE.into_iter().find(|x| x.as_str() == s);
                        if let Some(s) = self.choice(&ip, item, "pausing status", &pausable, parse)
                            && !statuses.contains(&s)
                        {
                            statuses.push(s);
                        }
                    }
                    sla.pause_on = statuses;
                }
                "warn_at" => {
                    let Some(items) = self.array(&p, val, "an array of percentages, e.g. [50, 75]") else { continue };
                    let mut percents = Vec::new();
                    for (ip, item) in items {
                        match self.count(&ip, item) {
                            Some(n @ 1..=99) => percents.push(n as u8),
                            Some(_) => {
                                self.error(item, &ip, "a warning must be between 1 and 99 percent of the target")
                                    .hint =
                                    Some("the breach itself fires at 100 %; write e.g. warn_at = [50, 75]".into());
                            }
                            None => {}
                        }
                    }
                    percents.sort_unstable();
                    percents.dedup();
                    sla.warn_at = percents;
                }
                _ => unreachable!(),
            }
        }
        sla
    }

    /// An array of tables, each read by `read`; the ones that do not read are left out, and
    /// the source map's indices follow the kept ones.
    fn kept_tables<T>(
        &mut self,
        path: &str,
        v: &Value<'_>,
        read: impl Fn(&mut Self, &str, &Value<'_>, &DeTable<'_>) -> Option<T>,
    ) -> Vec<T> {
        let tables = self.tables(path, v);
        let n = tables.len();
        let mut kept = Vec::new();
        let mut out = Vec::new();
        for (i, (p, item, t)) in tables.into_iter().enumerate() {
            if let Some(x) = read(self, &p, item, t) {
                out.push(x);
                kept.push(i);
            }
        }
        self.renumber(path, &kept, n);
        out
    }

    /// Keeps the source map's indices in step with the model when items were dropped.
    fn renumber(&mut self, array: &str, kept: &[usize], total: usize) {
        if kept.len() != total {
            self.map.renumber(array, kept);
        }
    }

    fn missing(&mut self, v: &Value<'_>, path: &str, key: &str, what: &str) {
        self.error(v, &join(path, key), format!("missing '{key}' ({what})"));
    }

    fn calendar(&mut self, path: &str, v: &Value<'_>) -> Option<Calendar> {
        let t = self.table(path, v)?;
        let mut timezone = None;
        let mut hours = WeeklyHours::default();
        let mut holidays = Vec::new();
        let mut overrides = BTreeMap::new();
        for (key, p, val) in self.entries(path, t, keys::CALENDAR) {
            match key {
                "timezone" => {
                    let Some(tz) = self.string(&p, val) else { continue };
                    if jiff::tz::TimeZone::get(&tz).is_err() {
                        self.error(val, &p, format!("unknown time zone '{tz}'")).hint =
                            Some("use an IANA name such as 'America/New_York', 'Europe/Berlin' or 'UTC'".to_string());
                    }
                    timezone = Some(tz);
                }
                "hours" => {
                    let Some(ht) = self.table(&p, val) else { continue };
                    for (spec, dp, dv) in self.entries(&p, ht, &[]) {
                        let days = parse_days(spec);
                        if days.is_none() {
                            let span = self.map.key_span(&dp).unwrap_or(dv.span());
                            self.error_span(span, &dp, format!("invalid days '{spec}'")).hint =
                                Some(DAYS_HINT.to_string());
                        }
                        let windows = self.windows(&dp, dv);
                        if let (Some(days), Some(windows)) = (days, windows) {
                            for d in days {
                                hours.days[d].extend(windows.iter().copied());
                                hours.days[d].sort();
                            }
                        }
                    }
                }
                "holidays" => {
                    let Some(items) = self.array(&p, val, "an array of dates") else { continue };
                    let mut kept = Vec::new();
                    for (i, (ip, item)) in items.iter().enumerate() {
                        if let Some(d) = self.date(ip, item) {
                            holidays.push(d);
                            kept.push(i);
                        }
                    }
                    self.renumber(&p, &kept, items.len());
                }
                "overrides" => {
                    let Some(ot) = self.table(&p, val) else { continue };
                    for (date, dp, dv) in self.entries(&p, ot, &[]) {
                        let parsed = date.trim().parse::<Date>();
                        if parsed.is_err() {
                            let span = self.map.key_span(&dp).unwrap_or(dv.span());
                            self.error_span(span, &dp, format!("invalid date '{date}'")).hint =
                                Some("write a calendar date as YYYY-MM-DD, e.g. 2026-12-24".to_string());
                        }
                        let windows = self.windows(&dp, dv);
                        if let (Ok(d), Some(w)) = (parsed, windows) {
                            overrides.insert(d, w);
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        let Some(timezone) = timezone else {
            self.missing(v, path, "timezone", "an IANA time zone such as 'America/New_York'");
            return None;
        };
        Some(Calendar { timezone, hours, holidays, overrides })
    }

    fn targets(&mut self, key: &str, p: &str, val: &Value<'_>, targets: &mut Targets) {
        // Durations are never negative: the syntax has no sign.
        let d = self.duration(p, val);
        match key {
            "respond" => targets.respond = d,
            "update" => targets.update = d,
            "resolve" => targets.resolve = d,
            _ => unreachable!(),
        }
    }

    fn target_table(&mut self, path: &str, v: &Value<'_>) -> Option<Targets> {
        let t = self.table(path, v)?;
        let mut targets = Targets::default();
        for (key, p, val) in self.entries(path, t, keys::TARGET) {
            self.targets(key, &p, val, &mut targets);
        }
        Some(targets)
    }

    fn level(&mut self, path: &str, v: &Value<'_>, t: &DeTable<'_>) -> Option<LevelSpec> {
        let mut id = None;
        let mut name = None;
        let mut criteria = None;
        let mut teams = Vec::new();
        let mut roles = Vec::new();
        let mut targets = Targets::default();
        let mut by_priority = BTreeMap::new();
        let mut by_segment = BTreeMap::new();
        let mut calendar = None;
        for (key, p, val) in self.entries(path, t, keys::LEVEL) {
            match key {
                "id" => id = self.name(&p, val),
                "name" => name = self.name(&p, val),
                "criteria" => criteria = self.string(&p, val),
                "teams" => teams = self.strings(&p, val),
                "roles" => roles = self.named_list(&p, val, "role"),
                "respond" | "update" | "resolve" => self.targets(key, &p, val, &mut targets),
                "by_priority" => {
                    let Some(pt) = self.table(&p, val) else { continue };
                    for (prio, pp, pv) in self.entries(&p, pt, &Priority::names()) {
                        let prio = Priority::from_name(prio).expect("entries() allowed only priorities");
                        if let Some(t) = self.target_table(&pp, pv) {
                            by_priority.insert(prio, t);
                        }
                    }
                }
                "by_segment" => {
                    let Some(st) = self.table(&p, val) else { continue };
                    for (segment, sp, sv) in self.entries(&p, st, &[]) {
                        if let Some(t) = self.target_table(&sp, sv) {
                            by_segment.insert(segment.to_string(), t);
                        }
                    }
                }
                "calendar" => calendar = self.name(&p, val),
                _ => unreachable!(),
            }
        }
        let Some(id) = id else {
            if !t.contains_key("id") {
                self.missing(v, path, "id", "the level's short name, e.g. \"L2\"");
            }
            return None;
        };
        Some(LevelSpec {
            name: name.unwrap_or_else(|| id.clone()),
            id: LevelId::new(id),
            criteria,
            teams,
            roles,
            targets,
            by_priority,
            by_segment,
            calendar,
        })
    }

    fn rule(&mut self, path: &str, v: &Value<'_>, t: &DeTable<'_>, order: usize) -> Option<Rule> {
        let mut allowed: Vec<&str> = keys::RULE.to_vec();
        allowed.extend_from_slice(keys::ACTION);
        let mut name = None;
        let mut description = None;
        let mut trigger = Trigger::default();
        let mut when = None;
        let mut stop = false;
        let mut actions = Vec::new();
        let mut action_keys = Vec::new();
        let mut then = None;
        for (key, p, val) in self.entries(path, t, &allowed) {
            match key {
                "name" => name = self.name(&p, val),
                "description" => description = self.string(&p, val),
                "trigger" => {
                    if let Some(tr) = self.choice(&p, val, "trigger", &Trigger::names(), Trigger::parse) {
                        trigger = tr;
                    }
                }
                "when" => {
                    when = self.string(&p, val);
                    if when.as_deref().is_some_and(|w| w.trim().is_empty()) {
                        self.error(val, &p, "'when' is empty").hint =
                            Some("leave 'when' out for a rule that always fires".to_string());
                        when = None;
                    }
                }
                "stop" => stop = self.boolean(&p, val).unwrap_or(false),
                "then" => then = Some((p, val)),
                _ => action_keys.push((key, p, val)),
            }
        }
        if !action_keys.is_empty() {
            if let Some((tp, tv)) = then {
                let (k, kp, _) = &action_keys[0];
                let span = self.map.key_span(kp).unwrap_or(tv.span());
                self.error_span(span, kp, format!("'{k}' is given both on the rule and in 'then' ({tp})")).hint =
                    Some("put all of a rule's actions in 'then', or all on the rule".to_string());
                return None;
            }
            actions = self.actions(action_keys);
        } else if let Some((tp, tv)) = then {
            match tv.get_ref() {
                DeValue::Table(tt) => {
                    let keys = self.entries(&tp, tt, keys::ACTION);
                    actions = self.actions(keys);
                }
                DeValue::Array(items) => {
                    for (ip, item) in self.items(&tp, items.iter()) {
                        let Some(it) = self.table(&ip, item) else { continue };
                        let keys = self.entries(&ip, it, keys::ACTION);
                        actions.extend(self.actions(keys));
                    }
                }
                _ => self.type_error(tv, &tp, "a table of actions or an array of them"),
            }
        }
        let Some(name) = name else {
            if !t.contains_key("name") {
                self.missing(v, path, "name", "a unique name, recorded as the reason for what the rule does");
            }
            return None;
        };
        for (k, (_, p)) in actions.iter().enumerate() {
            self.map.record_action(order, k, p.clone());
        }
        let actions = actions.into_iter().map(|(a, _)| a).collect();
        Some(Rule { name, description, trigger, when, actions, stop, order })
    }

    /// The actions one table spells. `keys` are its action keys, already checked.
    /// Each action comes with the path of the key that spells it.
    fn actions(&mut self, keys: Vec<(&str, String, &Value<'_>)>) -> Vec<(Action, String)> {
        let mut escalate: Option<(String, &Value<'_>, Option<LevelId>)> = None;
        let mut kind: Option<(EscalationKind, String, &Value<'_>)> = None;
        let mut team: Option<(String, String, &Value<'_>)> = None;
        let mut role: Option<(Role, String, &Value<'_>)> = None;
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for (key, p, val) in keys {
            match key {
                "escalate" => match val.get_ref() {
                    DeValue::Boolean(true) => escalate = Some((p, val, None)),
                    DeValue::Boolean(false) => {
                        self.error(val, &p, "'escalate = false' does nothing").hint =
                            Some("leave it out, or write a level id such as \"L2\"".to_string());
                    }
                    _ => {
                        if let Some(s) = self.name(&p, val) {
                            let level = if s == "next" { None } else { Some(LevelId::new(s)) };
                            escalate = Some((p, val, level));
                        }
                    }
                },
                "kind" => {
                    let kinds = EscalationKind::names();
                    if let Some(k) = self.choice(&p, val, "escalation kind", &kinds, EscalationKind::from_name) {
                        kind = Some((k, p, val));
                    }
                }
                "team" => {
                    if let Some(s) = self.name(&p, val) {
                        team = Some((s, p, val));
                    }
                }
                "role" => {
                    if let Some(r) = self.choice(&p, val, "role", &Role::names(), Role::parse) {
                        role = Some((r, p, val));
                    }
                }
                _ => rest.push((key, p, val)),
            }
        }
        match escalate {
            Some((escalate_path, _, to_level)) => {
                let chosen = match (&kind, &team) {
                    (Some((k, _, _)), _) => *k,
                    (None, Some(_)) => EscalationKind::Functional,
                    (None, None) => EscalationKind::Hierarchical,
                };
                if chosen == EscalationKind::Functional
                    && team.is_none()
                    && let Some((_, kp, kv)) = &kind
                {
                    self.error(kv, kp, "a functional escalation needs the team with the skill").hint =
                        Some("add team = \"SLUG\", or use kind = \"hierarchical\" to go up the ladder".to_string());
                    return out;
                }
                out.push((
                    Action::Escalate {
                        kind: chosen,
                        to_level,
                        to_team: team.as_ref().map(|(t, _, _)| t.clone()),
                        role: role.as_ref().map(|(r, _, _)| *r),
                    },
                    escalate_path,
                ));
            }
            None => {
                for (what, p, val) in [
                    kind.as_ref().map(|(_, p, v)| ("kind", p, *v)),
                    team.as_ref().map(|(_, p, v)| ("team", p, *v)),
                    role.as_ref().map(|(_, p, v)| ("role", p, *v)),
                ]
                .into_iter()
                .flatten()
                {
                    let hint = if what == "team" {
                        "add escalate = \"LEVEL\" (or escalate = true) to escalate to the team, or use route = \"TEAM\" to hand it over without escalating"
                    } else {
                        "add escalate = \"LEVEL\" (or escalate = \"next\")"
                    };
                    self.error(val, p, format!("'{what}' only qualifies an escalation, and this has no 'escalate'"))
                        .hint = Some(hint.to_string());
                }
            }
        }
        for (key, p, val) in rest {
            match key {
                "priority" => {
                    if let Some(pr) = self.choice(&p, val, "priority", &Priority::names(), Priority::from_name) {
                        out.push((Action::SetPriority(pr), p));
                    }
                }
                "tags" => {
                    let tags = self.strings(&p, val);
                    if !tags.is_empty() {
                        out.push((Action::AddTags(tags), p));
                    }
                }
                "route" => {
                    if let Some(team) = self.name(&p, val) {
                        out.push((Action::Route { team }, p));
                    }
                }
                "notify" => match val.get_ref() {
                    DeValue::Array(items) => {
                        for (ip, item) in self.items(&p, items.iter()) {
                            out.extend(self.notify(&ip, item).map(|a| (a, ip)));
                        }
                    }
                    _ => out.extend(self.notify(&p, val).map(|a| (a, p))),
                },
                "require_approval" => out.extend(self.approval(&p, val).map(|a| (a, p))),
                _ => unreachable!("entries() filters keys"),
            }
        }
        out
    }

    fn recipient(&mut self, path: &str, v: &Value<'_>) -> Option<Recipient> {
        let s = self.string(path, v)?;
        match Recipient::parse(s.trim()) {
            Some(r) => Some(r),
            None => {
                self.error(v, path, format!("unknown recipient '{s}'")).hint = Some(RECIPIENT_HINT.to_string());
                None
            }
        }
    }

    fn notify(&mut self, path: &str, v: &Value<'_>) -> Option<Action> {
        if matches!(v.get_ref(), DeValue::String(_)) {
            let who = self.recipient(path, v)?;
            return Some(Action::Notify {
                who,
                channel: NotifyChannel::default(),
                template: None,
                within_hours: false,
            });
        }
        let t = self.table(path, v)?;
        let mut who = None;
        let mut channel = NotifyChannel::default();
        let mut template = None;
        let mut within_hours = false;
        let mut ok = true;
        for (key, p, val) in self.entries(path, t, keys::NOTIFY) {
            match key {
                "who" => {
                    who = self.recipient(&p, val);
                    ok &= who.is_some();
                }
                "channel" => match self.choice(&p, val, "channel", &NotifyChannel::names(), NotifyChannel::parse) {
                    Some(c) => channel = c,
                    None => ok = false,
                },
                "template" => template = self.name(&p, val),
                "within_hours" => within_hours = self.boolean(&p, val).unwrap_or(false),
                _ => unreachable!(),
            }
        }
        if !t.contains_key("who") {
            self.missing(v, path, "who", RECIPIENT_HINT);
        }
        Some(Action::Notify { who: who.filter(|_| ok)?, channel, template, within_hours })
    }

    fn approval(&mut self, path: &str, v: &Value<'_>) -> Option<Action> {
        if matches!(v.get_ref(), DeValue::String(_)) {
            let action = self.name(path, v)?;
            return Some(Action::RequireApproval { action, amount_field: None });
        }
        let t = self.table(path, v)?;
        let mut action = None;
        let mut amount_field = None;
        for (key, p, val) in self.entries(path, t, keys::APPROVAL) {
            match key {
                "action" => action = self.name(&p, val),
                "amount_field" => amount_field = self.name(&p, val),
                _ => unreachable!(),
            }
        }
        if !t.contains_key("action") {
            self.missing(v, path, "action", "the authority action, e.g. \"refund\"");
        }
        Some(Action::RequireApproval { action: action?, amount_field })
    }

    fn authority(&mut self, path: &str, v: &Value<'_>, t: &DeTable<'_>) -> Option<AuthorityRule> {
        let mut action = None;
        let mut limits = BTreeMap::new();
        let mut user_overrides = BTreeMap::new();
        let mut approve_within = None;
        let mut window = AuthorityWindow::default();
        for (key, p, val) in self.entries(path, t, keys::AUTHORITY) {
            match key {
                "action" => action = self.name(&p, val),
                "approve_within" => approve_within = self.duration(&p, val),
                "window" => {
                    window = self
                        .choice(&p, val, "window", &AuthorityWindow::names(), AuthorityWindow::from_name)
                        .unwrap_or_default();
                }
                "limits" => {
                    let Some(lt) = self.table(&p, val) else { continue };
                    for (role, rp, rv) in self.entries(&p, lt, &Role::names()) {
                        if let Some(n) = self.number(&rp, rv) {
                            limits.insert(Role::parse(role).expect("entries() allowed only roles"), n);
                        }
                    }
                }
                "users" => {
                    let Some(ut) = self.table(&p, val) else { continue };
                    for (user, up, uv) in self.entries(&p, ut, &[]) {
                        if let Some(n) = self.number(&up, uv) {
                            user_overrides.insert(user.to_string(), n);
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        if !t.contains_key("action") {
            self.missing(v, path, "action", "what is granted, e.g. \"credit\" or \"refund\"");
        }
        Some(AuthorityRule { action: action?, limits, user_overrides, approve_within, window })
    }

    fn incident_policy(&mut self, path: &str, v: &Value<'_>, t: &DeTable<'_>) -> Option<IncidentPolicy> {
        let mut id = None;
        let mut name = None;
        let mut severity = None;
        let mut steps = Vec::new();
        let mut repeat = 0;
        for (key, p, val) in self.entries(path, t, keys::POLICY) {
            match key {
                "id" => id = self.name(&p, val),
                "name" => name = self.name(&p, val),
                "severity" => {
                    severity = self.choice(&p, val, "severity", &IncidentSeverity::names(), IncidentSeverity::parse);
                }
                "repeat" => repeat = self.count(&p, val).unwrap_or(0),
                "steps" => steps.extend(self.kept_tables(&p, val, Self::step)),
                _ => unreachable!(),
            }
        }
        if !t.contains_key("id") {
            self.missing(v, path, "id", "a unique name such as \"sev1\"");
        }
        if !t.contains_key("severity") {
            self.missing(v, path, "severity", "SEV1, SEV2, SEV3 or SEV4");
        }
        let id = id?;
        Some(IncidentPolicy { name: name.unwrap_or_else(|| id.clone()), id, severity: severity?, steps, repeat })
    }

    fn step(&mut self, path: &str, v: &Value<'_>, t: &DeTable<'_>) -> Option<IncidentStep> {
        let mut notify = Vec::new();
        let mut channels = Vec::new();
        let mut ack_timeout = None;
        for (key, p, val) in self.entries(path, t, keys::STEP) {
            match key {
                "notify" => match val.get_ref() {
                    DeValue::Array(items) => {
                        for (ip, item) in self.items(&p, items.iter()) {
                            notify.extend(self.recipient(&ip, item));
                        }
                    }
                    _ => notify.extend(self.recipient(&p, val)),
                },
                "channels" => channels = self.named_list(&p, val, "channel"),
                "ack_timeout" => ack_timeout = self.duration(&p, val),
                _ => unreachable!(),
            }
        }
        if !t.contains_key("notify") {
            self.missing(v, path, "notify", "who is paged at this step");
        }
        if !t.contains_key("ack_timeout") {
            self.missing(v, path, "ack_timeout", "how long to wait for an acknowledgement, e.g. \"5m\"");
        }
        if channels.is_empty() {
            channels.push(NotifyChannel::default());
        }
        Some(IncidentStep { notify, channels, ack_timeout: ack_timeout? })
    }
}

/// Where the content of a string value starts when the file holds it verbatim: always for
/// literal strings (`'…'`, `'''…'''`), and for basic strings without escapes.
fn verbatim_start(source: &str, span: Range<usize>, value: &str) -> Option<usize> {
    let raw = source.get(span.clone())?;
    let delimiter =
        ["'''", "\"\"\"", "'", "\""].into_iter().find(|d| raw.starts_with(d) && raw.len() >= 2 * d.len())?;
    let mut start = span.start + delimiter.len();
    let mut content = &raw[delimiter.len()..raw.len() - delimiter.len()];
    if delimiter.len() == 3 {
        // A newline right after the opening delimiter is not part of the value.
        if let Some(rest) = content.strip_prefix("\r\n") {
            start += 2;
            content = rest;
        } else if let Some(rest) = content.strip_prefix('\n') {
            start += 1;
            content = rest;
        }
    }
    (content == value).then_some(start)
}
