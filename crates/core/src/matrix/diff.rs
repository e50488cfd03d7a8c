//! What changed between two versions of a matrix, in the words a reviewer would use:
//! `rule added: "VIP billing dispute"`, `level L2 respond target: 1h → 30m`.

use std::collections::BTreeSet;
use std::fmt;

use super::model::{
    Action, AuthorityRule, Calendar, IncidentPolicy, LevelSpec, Matrix, Rule, TargetKind, Targets, format_duration,
};

/// The kind of thing that changed; also the section of the matrix it is in, in the order
/// [`diff`] reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    Calendar,
    Level,
    Rule,
    Authority,
    IncidentPolicy,
    Sla,
    Queue,
    CustomField,
    Setting,
}

impl Item {
    /// Every section, in the order [`diff`] reports them.
    pub const ALL: [Item; 9] = [
        Item::Calendar,
        Item::Level,
        Item::Rule,
        Item::Authority,
        Item::IncidentPolicy,
        Item::Sla,
        Item::Queue,
        Item::CustomField,
        Item::Setting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Item::Calendar => "calendar",
            Item::Level => "level",
            Item::Rule => "rule",
            Item::Authority => "authority",
            Item::IncidentPolicy => "incident policy",
            Item::Sla => "sla",
            Item::Queue => "queue",
            Item::CustomField => "custom field",
            Item::Setting => "setting",
        }
    }

    /// The section's heading (levels carry their targets; rules their triggers).
    pub fn section(self) -> &'static str {
        match self {
            Item::Calendar => "Calendars",
            Item::Level => "Levels and targets",
            Item::Rule => "Rules and triggers",
            Item::Authority => "Authority",
            Item::IncidentPolicy => "Incident policies",
            Item::Sla => "SLA settings",
            Item::Queue => "Queues",
            Item::CustomField => "Custom fields",
            Item::Setting => "Currency and metric targets",
        }
    }
}

/// Whether a change adds, removes or changes something (a diff's colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One semantic change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `rule added: "X"`, `level added: L4`.
    Added {
        item: Item,
        name: String,
    },
    Removed {
        item: Item,
        name: String,
    },
    /// A value replaced: `level L2 respond target: 1h → 30m`, `rule "X" condition changed: a → b`.
    Modified {
        item: Item,
        name: String,
        what: String,
        from: String,
        to: String,
    },
    /// A member of a set added: `calendar support: holiday 2026-12-25 added`.
    MemberAdded {
        item: Item,
        name: String,
        what: String,
        value: String,
    },
    MemberRemoved {
        item: Item,
        name: String,
        what: String,
        value: String,
    },
}

impl Change {
    /// The section the change is in.
    pub fn item(&self) -> Item {
        match self {
            Change::Added { item, .. }
            | Change::Removed { item, .. }
            | Change::Modified { item, .. }
            | Change::MemberAdded { item, .. }
            | Change::MemberRemoved { item, .. } => *item,
        }
    }

    /// Whether it adds, removes or changes something.
    pub fn kind(&self) -> ChangeKind {
        match self {
            Change::Added { .. } | Change::MemberAdded { .. } => ChangeKind::Added,
            Change::Removed { .. } | Change::MemberRemoved { .. } => ChangeKind::Removed,
            Change::Modified { .. } => ChangeKind::Changed,
        }
    }
}

/// The changes grouped by section, sections in [`Item::ALL`]'s order, empty ones left out.
pub fn by_section(changes: &[Change]) -> Vec<(Item, Vec<&Change>)> {
    Item::ALL
        .iter()
        .map(|item| (*item, changes.iter().filter(|c| c.item() == *item).collect::<Vec<_>>()))
        .filter(|(_, c)| !c.is_empty())
        .collect()
}

fn label(item: Item, name: &str) -> String {
    if item == Item::Rule { format!("\"{name}\"") } else { name.to_string() }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { item, name } => write!(f, "{} added: {}", item.as_str(), label(*item, name)),
            Change::Removed { item, name } => write!(f, "{} removed: {}", item.as_str(), label(*item, name)),
            Change::Modified { item, name, what, from, to } => {
                if *item == Item::Rule {
                    write!(f, "rule {} {what} changed: {from} → {to}", label(*item, name))
                } else {
                    write!(f, "{} {} {what}: {from} → {to}", item.as_str(), label(*item, name))
                }
            }
            Change::MemberAdded { item, name, what, value } => {
                write!(f, "{} {}: {what} {value} added", item.as_str(), label(*item, name))
            }
            Change::MemberRemoved { item, name, what, value } => {
                write!(f, "{} {}: {what} {value} removed", item.as_str(), label(*item, name))
            }
        }
    }
}

/// Every semantic change from `old` to `new`: calendars, then levels, rules, authority,
/// incident policies, SLA settings, queues, custom fields, the currency and metric targets. Items are matched by name (id); a renamed item is a removal and an
/// addition.
pub fn diff(old: &Matrix, new: &Matrix) -> Vec<Change> {
    let mut d = Differ { out: Vec::new() };
    d.keyed(Item::Calendar, old.calendars.iter().collect(), new.calendars.iter().collect(), Differ::calendar);
    d.listed(Item::Level, &old.levels, &new.levels, |l| l.id.as_str(), Differ::level);
    d.order(Item::Level, old.levels.iter().map(|l| l.id.as_str()), new.levels.iter().map(|l| l.id.as_str()));
    d.listed(Item::Rule, &old.rules, &new.rules, |r| r.name.as_str(), Differ::rule);
    d.order(Item::Rule, old.rules.iter().map(|r| r.name.as_str()), new.rules.iter().map(|r| r.name.as_str()));
    d.listed(Item::Authority, &old.authority, &new.authority, |a| a.action.as_str(), Differ::authority);
    d.listed(Item::IncidentPolicy, &old.incident_policies, &new.incident_policies, |p| p.id.as_str(), Differ::policy);
    let statuses = |m: &Matrix| m.sla.pause_on.iter().map(|s| s.as_str().to_string()).collect::<BTreeSet<_>>();
    d.members(Item::Sla, "settings", "pause on", statuses(old), statuses(new));
    let percents = |m: &Matrix| m.sla.warn_at.iter().map(|p| format!("{p}%")).collect::<BTreeSet<_>>();
    d.members(Item::Sla, "settings", "warning at", percents(old), percents(new));
    let teams: BTreeSet<&str> = old.queues.iter().chain(&new.queues).map(|q| q.team.as_str()).collect();
    for team in teams {
        let overflow = |m: &Matrix| {
            m.queues
                .iter()
                .filter(|q| q.team == team)
                .map(|q| format!("to {} after {}", q.overflow_to, format_duration(q.after)))
                .collect()
        };
        d.members(Item::Queue, team, "overflow", overflow(old), overflow(new));
    }
    d.modified(Item::Setting, "currency", "code", old.currency().to_string(), new.currency().to_string());
    for metric in super::parse::keys::METRIC_TARGETS {
        let show = |m: &Matrix| m.metric_targets.get(metric).map_or_else(|| "none".to_string(), |t| t.to_string());
        d.modified(Item::Setting, "metric target", metric, show(old), show(new));
    }
    d.keyed(
        Item::CustomField,
        old.custom_fields.iter().collect(),
        new.custom_fields.iter().collect(),
        |d, name, o, n| d.modified(Item::CustomField, name, "type", o.as_str().to_string(), n.as_str().to_string()),
    );
    d.out
}

struct Differ {
    out: Vec<Change>,
}

fn opt_duration(d: Option<jiff::SignedDuration>) -> String {
    d.map_or_else(|| "none".to_string(), format_duration)
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().collect();
    if v.is_empty() { "none".to_string() } else { v.join(", ") }
}

impl Differ {
    /// Items present in only one version are added or removed; the others are compared by
    /// `compare`. Keeps the new version's order, removals first.
    fn keyed<K: AsRef<str> + PartialEq, T>(
        &mut self,
        item: Item,
        old: Vec<(K, &T)>,
        new: Vec<(K, &T)>,
        compare: fn(&mut Self, &str, &T, &T),
    ) {
        for (k, _) in &old {
            if !new.iter().any(|(n, _)| n == k) {
                self.out.push(Change::Removed { item, name: k.as_ref().to_string() });
            }
        }
        for (k, n) in &new {
            match old.iter().find(|(o, _)| o == k) {
                Some((_, o)) => compare(self, k.as_ref(), o, n),
                None => self.out.push(Change::Added { item, name: k.as_ref().to_string() }),
            }
        }
    }

    /// [`Differ::keyed`] for two lists of items, each named by `name`.
    fn listed<T>(
        &mut self,
        item: Item,
        old: &[T],
        new: &[T],
        name: fn(&T) -> &str,
        compare: fn(&mut Self, &str, &T, &T),
    ) {
        let old = old.iter().map(|t| (name(t), t)).collect();
        let new = new.iter().map(|t| (name(t), t)).collect();
        self.keyed(item, old, new, compare);
    }

    /// Reports items that kept their name but changed place relative to the others.
    fn order<'a>(&mut self, item: Item, old: impl Iterator<Item = &'a str>, new: impl Iterator<Item = &'a str>) {
        let old: Vec<&str> = old.collect();
        let new: Vec<&str> = new.collect();
        let common_old: Vec<&str> = old.iter().copied().filter(|o| new.contains(o)).collect();
        let common_new: Vec<&str> = new.iter().copied().filter(|n| old.contains(n)).collect();
        for (i, name) in common_new.iter().enumerate() {
            let before = common_old.iter().position(|o| o == name).unwrap_or(i);
            if before != i {
                self.modified(item, name, "position", format!("{}", before + 1), format!("{}", i + 1));
            }
        }
    }

    fn modified(&mut self, item: Item, name: &str, what: &str, from: String, to: String) {
        if from != to {
            self.out.push(Change::Modified { item, name: name.to_string(), what: what.to_string(), from, to });
        }
    }

    fn members(&mut self, item: Item, name: &str, what: &str, old: BTreeSet<String>, new: BTreeSet<String>) {
        for v in old.difference(&new) {
            self.out.push(Change::MemberRemoved {
                item,
                name: name.to_string(),
                what: what.to_string(),
                value: v.clone(),
            });
        }
        for v in new.difference(&old) {
            self.out.push(Change::MemberAdded {
                item,
                name: name.to_string(),
                what: what.to_string(),
                value: v.clone(),
            });
        }
    }

    fn calendar(&mut self, name: &str, old: &Calendar, new: &Calendar) {
        let item = Item::Calendar;
        self.modified(item, name, "timezone", old.timezone.clone(), new.timezone.clone());
        for (day, day_name) in super::model::DAY_NAMES.iter().enumerate() {
            let show = |c: &Calendar| {
                let w = &c.hours.days[day];
                if w.is_empty() { "closed".to_string() } else { list(w.iter().map(|w| w.to_string())) }
            };
            self.modified(item, name, &format!("{day_name} hours"), show(old), show(new));
        }
        let dates = |c: &Calendar| c.holidays.iter().map(|d| d.to_string()).collect::<BTreeSet<_>>();
        self.members(item, name, "holiday", dates(old), dates(new));
        let overrides = |c: &Calendar| {
            c.overrides
                .iter()
                .map(|(d, w)| {
                    let hours = if w.is_empty() { "closed".to_string() } else { list(w.iter().map(|w| w.to_string())) };
                    format!("{d} ({hours})")
                })
                .collect::<BTreeSet<_>>()
        };
        self.members(item, name, "override", overrides(old), overrides(new));
    }

    fn targets(&mut self, name: &str, scope: &str, old: &Targets, new: &Targets) {
        for kind in TargetKind::ALL {
            self.modified(
                Item::Level,
                name,
                &format!("{} target{scope}", kind.as_str()),
                opt_duration(old.get(kind)),
                opt_duration(new.get(kind)),
            );
        }
    }

    fn level(&mut self, name: &str, old: &LevelSpec, new: &LevelSpec) {
        let item = Item::Level;
        self.modified(item, name, "name", old.name.clone(), new.name.clone());
        self.modified(
            item,
            name,
            "criteria",
            old.criteria.clone().unwrap_or_default(),
            new.criteria.clone().unwrap_or_default(),
        );
        self.members(item, name, "team", old.teams.iter().cloned().collect(), new.teams.iter().cloned().collect());
        self.members(
            item,
            name,
            "role",
            old.roles.iter().map(|r| r.as_str().to_string()).collect(),
            new.roles.iter().map(|r| r.as_str().to_string()).collect(),
        );
        self.modified(
            item,
            name,
            "calendar",
            old.calendar.clone().unwrap_or_else(|| "none (24x7)".into()),
            new.calendar.clone().unwrap_or_else(|| "none (24x7)".into()),
        );
        self.targets(name, "", &old.targets, &new.targets);
        let priorities: BTreeSet<_> = old.by_priority.keys().chain(new.by_priority.keys()).copied().collect();
        for p in priorities {
            let (o, n) = (
                old.by_priority.get(&p).copied().unwrap_or_default(),
                new.by_priority.get(&p).copied().unwrap_or_default(),
            );
            self.targets(name, &format!(" ({} priority)", p.as_str()), &o, &n);
        }
        let segments: BTreeSet<_> = old.by_segment.keys().chain(new.by_segment.keys()).cloned().collect();
        for s in segments {
            let (o, n) = (
                old.by_segment.get(&s).copied().unwrap_or_default(),
                new.by_segment.get(&s).copied().unwrap_or_default(),
            );
            self.targets(name, &format!(" (segment {s})"), &o, &n);
        }
    }

    fn rule(&mut self, name: &str, old: &Rule, new: &Rule) {
        let item = Item::Rule;
        self.modified(item, name, "trigger", old.trigger.to_string(), new.trigger.to_string());
        let when = |r: &Rule| r.when.clone().unwrap_or_else(|| "(always)".to_string());
        if normalise(&when(old)) != normalise(&when(new)) {
            self.modified(item, name, "condition", when(old), when(new));
        }
        let actions = |r: &Rule| list(r.actions.iter().map(Action::to_string));
        self.modified(item, name, "actions", actions(old), actions(new));
        self.modified(item, name, "stop", old.stop.to_string(), new.stop.to_string());
    }

    fn authority(&mut self, name: &str, old: &AuthorityRule, new: &AuthorityRule) {
        let item = Item::Authority;
        let roles: BTreeSet<_> = old.limits.keys().chain(new.limits.keys()).copied().collect();
        for r in roles {
            let show = |a: &AuthorityRule| a.limits.get(&r).map_or_else(|| "none".to_string(), |l| l.to_string());
            self.modified(item, name, &format!("{} limit", r.as_str()), show(old), show(new));
        }
        let users: BTreeSet<_> = old.user_overrides.keys().chain(new.user_overrides.keys()).cloned().collect();
        for u in users {
            let show =
                |a: &AuthorityRule| a.user_overrides.get(&u).map_or_else(|| "none".to_string(), |l| l.to_string());
            self.modified(item, name, &format!("limit for user {u}"), show(old), show(new));
        }
    }

    fn policy(&mut self, name: &str, old: &IncidentPolicy, new: &IncidentPolicy) {
        let item = Item::IncidentPolicy;
        self.modified(item, name, "name", old.name.clone(), new.name.clone());
        self.modified(item, name, "severity", old.severity.to_string(), new.severity.to_string());
        self.modified(item, name, "repeat", old.repeat.to_string(), new.repeat.to_string());
        let steps = |p: &IncidentPolicy| {
            list(p.steps.iter().map(|s| {
                format!(
                    "[{} by {} ack {}]",
                    s.notify.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(" "),
                    s.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("/"),
                    format_duration(s.ack_timeout)
                )
            }))
        };
        self.modified(item, name, "steps", steps(old), steps(new));
    }
}

/// A condition without insignificant spaces (outside string literals), so a reformatted
/// condition is not reported as changed.
pub(crate) fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c.is_whitespace() => {}
            None => out.push(c),
        }
    }
    out
}
