//! Evaluating the rules: [`CompiledMatrix`] compiles every CEL condition once, indexes the
//! rules by trigger and by the equality tests their conditions start with, and evaluates
//! them against a case's [`Facts`] in file order.
//!
//! Two shortcuts make 500 rules cheap, and neither changes a result:
//! - the index: a condition such as `case.category == "billing" && customer.value >= 10000`
//!   cannot hold for a case whose category is `"tech"`, so such rules are not looked at;
//! - tests decided on the JSON facts: top-level conjuncts such as `customer.value >= 10000`,
//!   `case.priority == "high"` or `"vip" in case.tags` are decided without CEL. One false
//!   conjunct rules a rule out (CEL's `&&` is false as soon as one side is false, even when
//!   another side fails); a condition made only of such tests, all true, holds.
//!
//! A test is decided only when the facts have the field with a value CEL would judge the
//! same way; otherwise (missing field, other type, a huge number) the condition runs in CEL,
//! so errors are reported exactly as without the shortcuts. A property test checks
//! [`CompiledMatrix::evaluate`] against [`CompiledMatrix::evaluate_unindexed`].

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt};
use cel::common::value::Val;
use cel::{Context, Env, Program, Value as CelValue};
use jiff::Timestamp;
use serde_json::Value;

use super::model::{Action, Matrix, Trigger};
use super::{Diagnostic, Severity};
use crate::case::Case;
use crate::directory::Customer;

/// The variables a condition may use.
pub const VARIABLES: [&str; 5] = ["case", "customer", "contact", "event", "now"];

/// The case fields whose equality tests are indexed.
pub(crate) const INDEXED_FIELDS: [&str; 4] = ["category", "channel", "level", "priority"];

/// The CEL environment conditions are compiled and run in: the standard library with the
/// strings (`lowerAscii`, `split` …), math and lists extensions.
pub(crate) fn cel_env() -> Env {
    let mut env = Env::stdlib();
    for extension in [cel::extensions::strings, cel::extensions::math, cel::extensions::lists] {
        // Adding a bundled extension to a fresh environment cannot conflict.
        let _ = env.add_extension(extension);
    }
    env
}

/// What a condition is evaluated against: JSON objects for `case`, `customer`, `contact`
/// and `event`, and the current time (never read from the clock here).
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub case: Value,
    pub customer: Value,
    pub contact: Value,
    pub event: Value,
    pub now: Timestamp,
}

impl Facts {
    /// Empty objects for every variable, at `now`.
    pub fn new(now: Timestamp) -> Self {
        let empty = || Value::Object(serde_json::Map::new());
        Facts { case: empty(), customer: empty(), contact: empty(), event: empty(), now }
    }
}

/// The `case` variable for a case, with the fields documented in `docs/matrix.md`.
/// `team` is the team's slug, which the case itself does not know. Missing optional text
/// is the empty string, so a condition such as `case.category == "billing"` never fails on
/// a case without a category.
pub fn case_facts(case: &Case, team: Option<&str>) -> Value {
    serde_json::json!({
        "id": case.id.to_string(),
        "number": case.number,
        "subject": case.subject,
        "description": case.description,
        "category": case.category.clone().unwrap_or_default(),
        "channel": case.channel.as_str(),
        "priority": case.priority.as_str(),
        "status": case.status.as_str(),
        "level": case.level.as_str(),
        "team": team.unwrap_or_default(),
        "assigned": case.assignee.is_some(),
        "assignee": case.assignee.map(|u| u.to_string()).unwrap_or_default(),
        "tags": case.tags,
        "custom_fields": case.custom_fields,
        "n_messages": case.n_messages,
        "n_escalations": case.n_escalations,
        "n_de_escalations": case.n_de_escalations,
        "n_reopens": case.n_reopens,
        "sentiment": case.sentiment.map_or(0.0, crate::sentiment::compound),
        "risk": case.risk.as_ref().map_or(0.0, |r| r.probability()),
        "created_at": case.created_at.to_string(),
        "updated_at": case.updated_at.to_string(),
    })
}

/// The `customer` variable: the customer's fields, or empty ones (value 0) for a case
/// without a known customer.
pub fn customer_facts(customer: Option<&Customer>) -> Value {
    match customer {
        Some(c) => serde_json::json!({
            "id": c.id.to_string(),
            "name": c.name,
            "value": c.value,
            "segment": c.segment.clone().unwrap_or_default(),
            "language": c.language.clone().unwrap_or_default(),
            "time_zone": c.time_zone.clone().unwrap_or_default(),
            "custom_fields": c.custom_fields,
        }),
        None => serde_json::json!({
            "id": "", "name": "", "value": 0.0, "segment": "", "language": "", "time_zone": "", "custom_fields": {}
        }),
    }
}

/// Evaluates one condition against `facts`, outside any matrix: what `ladder matrix
/// explain` uses to say which part of a condition failed. Slower than
/// [`CompiledMatrix::evaluate`] (it compiles every time).
pub fn evaluate_condition(source: &str, facts: &Facts) -> Result<bool, String> {
    let env = Arc::new(cel_env());
    let program = super::limits::compile(&env, source).map_err(|e| e.to_string())?;
    let context = context(&env, facts);
    match program.execute(&context) {
        Ok(CelValue::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("the condition gave a value of type {}, not true or false", other.type_of())),
        Err(e) => Err(e.to_string()),
    }
}

/// A trigger that happened on a case while a matrix was in force, and which of its rules
/// fired: what the "rules that never or always fire" insight counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriggerFired {
    pub trigger: Trigger,
    /// The rules of that trigger whose condition held (in file order).
    pub rules: Vec<String>,
}

/// The rules that fired on one evaluation, and what went wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// In file order.
    pub fired: Vec<Fired>,
    /// Rules whose condition failed at run time, with the error; they are skipped.
    pub errors: Vec<(String, String)>,
    /// Every rule whose condition was judged (in CEL, or by the JSON tests when they
    /// decide it), and whether it held. Rules ruled out before that are not listed;
    /// [`CompiledMatrix::evaluate_unindexed`] lists them all.
    pub considered: Vec<(String, bool)>,
}

/// A rule that fired and its actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub rule: String,
    pub actions: Vec<Action>,
}

/// A matrix ready to evaluate: its conditions compiled once, its rules indexed.
/// Shareable between threads.
pub struct CompiledMatrix {
    matrix: Matrix,
    version: u32,
    env: Arc<Env>,
    rules: Vec<CompiledRule>,
    /// By [`Trigger::index`].
    triggers: Vec<TriggerIndex>,
}

impl std::fmt::Debug for CompiledMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledMatrix")
            .field("version", &self.version)
            .field("rules", &self.matrix.rules.len())
            .finish_non_exhaustive()
    }
}

struct CompiledRule {
    program: Option<Program>,
    /// The simple tests among the condition's top-level conjuncts, checked on the JSON
    /// facts before running CEL.
    tests: Vec<Test>,
    /// The condition is nothing but `tests`: when they all hold, so does the condition.
    complete: bool,
    /// The variables the condition uses, as bits by position in [`VARIABLES`].
    variables: u8,
}

/// A conjunct simple enough to decide on the JSON facts, exactly as CEL would decide it:
/// `VAR.FIELD == literal`, `VAR.FIELD < number` (and `<=`, `>`, `>=`, either way round),
/// `"text" in VAR.FIELD`. Deciding gives `None` whenever CEL might disagree or fail (a
/// missing field, an unexpected type, a number too large to compare exactly): then the
/// condition runs.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    Equals { variable: usize, field: String, value: Literal },
    Compare { variable: usize, field: String, op: Comparison, number: f64 },
    Contains { variable: usize, field: String, text: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// Beyond 2^53 an integer and a double may not compare the way their `f64`s do.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn exact_number(v: &Value) -> Option<f64> {
    let n = v.as_number()?;
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => ((i as f64).abs() <= EXACT).then_some(i as f64),
        (None, Some(u)) => ((u as f64) <= EXACT).then_some(u as f64),
        _ => n.as_f64(),
    }
}

impl Test {
    fn decide(&self, facts: &Facts) -> Option<bool> {
        let (variable, field) = match self {
            Test::Equals { variable, field, .. }
            | Test::Compare { variable, field, .. }
            | Test::Contains { variable, field, .. } => (*variable, field),
        };
        let value = facts.variable(variable)?.as_object()?.get(field.as_str())?;
        match self {
            Test::Equals { value: Literal::Text(t), .. } => match value {
                // Values of different kinds are never equal in CEL.
                Value::String(s) => Some(s == t),
                _ => Some(false),
            },
            Test::Equals { value: Literal::Number(n), .. } => Some(exact_number(value)? == *n),
            Test::Equals { value: Literal::Bool(b), .. } => Some(value.as_bool()? == *b),
            Test::Compare { op, number, .. } => {
                let v = exact_number(value)?;
                Some(match op {
                    Comparison::Less => v < *number,
                    Comparison::LessOrEqual => v <= *number,
                    Comparison::Greater => v > *number,
                    Comparison::GreaterOrEqual => v >= *number,
                })
            }
            Test::Contains { text, .. } => Some(value.as_array()?.iter().any(|e| e.as_str() == Some(text.as_str()))),
        }
    }
}

#[derive(Default)]
struct TriggerIndex {
    /// Every rule of the trigger, in order.
    all: Vec<usize>,
    /// Rules with no indexed equality: always candidates.
    unindexed: Vec<usize>,
    /// For each indexed field, rules keyed on it by the value they need.
    by_value: [HashMap<String, Vec<usize>>; 4],
    /// For each indexed field, every rule keyed on it (candidates when the case lacks it).
    keyed: [Vec<usize>; 4],
}

impl CompiledMatrix {
    /// Compiles every condition. Fails with a diagnostic per condition that does not
    /// compile (without positions: lint the file for those).
    pub fn compile(matrix: Matrix, version: u32) -> Result<CompiledMatrix, Vec<Diagnostic>> {
        let env = Arc::new(cel_env());
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(matrix.rules.len());
        let mut triggers: Vec<TriggerIndex> = Trigger::ALL.iter().map(|_| TriggerIndex::default()).collect();
        for (i, rule) in matrix.rules.iter().enumerate() {
            let program = match &rule.when {
                None => None,
                Some(src) => match super::limits::compile(&env, src) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        errors.push(Diagnostic {
                            severity: Severity::Error,
                            file: String::new(),
                            line: 0,
                            column: 0,
                            message: format!("rule '{}': condition does not compile: {e}", rule.name),
                            hint: None,
                            path: format!("rules[{}].when", rule.order),
                        });
                        continue;
                    }
                },
            };
            let equalities = program.as_ref().map(|p| equalities(p.expression()).0).unwrap_or_default();
            let (tests, complete) = match &program {
                Some(p) => tests(p.expression()),
                None => (Vec::new(), true),
            };
            let variables = program.as_ref().map_or(0, |p| {
                free_variables(p.expression())
                    .iter()
                    .filter_map(|(name, _)| VARIABLES.iter().position(|v| v == name))
                    .fold(0u8, |bits, i| bits | (1 << i))
            });
            let index = &mut triggers[rule.trigger.index()];
            index.all.push(i);
            match equalities.first() {
                None => index.unindexed.push(i),
                Some((field, value)) => {
                    index.by_value[*field].entry(value.clone()).or_default().push(i);
                    index.keyed[*field].push(i);
                }
            }
            rules.push(CompiledRule { program, tests, complete, variables });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CompiledMatrix { matrix, version, env, rules, triggers })
    }

    pub fn matrix(&self) -> &Matrix {
        &self.matrix
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether any rule listens to `trigger`: when none does, there is nothing to evaluate
    /// (and no facts to build).
    pub fn has_rules(&self, trigger: Trigger) -> bool {
        !self.triggers[trigger.index()].all.is_empty()
    }

    /// Evaluates the rules of `trigger` in file order, skipping those the index or the
    /// JSON tests rule out.
    /// A rule whose condition fails is recorded in `errors` and skipped; a fired rule with
    /// `stop` ends the evaluation.
    pub fn evaluate(&self, trigger: Trigger, facts: &Facts) -> Evaluation {
        let index = &self.triggers[trigger.index()];
        let case = facts.case.as_object();
        let mut candidates: Vec<usize> = index.unindexed.clone();
        for (f, field) in INDEXED_FIELDS.iter().enumerate() {
            if index.keyed[f].is_empty() {
                continue;
            }
            match case.and_then(|c| c.get(*field)) {
                Some(Value::String(s)) => {
                    if let Some(rules) = index.by_value[f].get(s.as_str()) {
                        candidates.extend_from_slice(rules);
                    }
                }
                // The field is there with a non-string value: no equality with a string holds.
                Some(_) => {}
                // Missing (or no case object): run the conditions, which will say why.
                None => candidates.extend_from_slice(&index.keyed[f]),
            }
        }
        candidates.sort_unstable();
        self.run(candidates.into_iter(), facts, true)
    }

    /// Evaluates every rule of `trigger` in file order, each condition in CEL, without the
    /// index or the tests decided on the JSON: the reference [`CompiledMatrix::evaluate`]
    /// must agree with, and what `ladder matrix explain` shows.
    pub fn evaluate_unindexed(&self, trigger: Trigger, facts: &Facts) -> Evaluation {
        let index = &self.triggers[trigger.index()];
        self.run(index.all.iter().copied(), facts, false)
    }

    fn run(&self, candidates: impl Iterator<Item = usize>, facts: &Facts, prefilter: bool) -> Evaluation {
        let mut out = Evaluation::default();
        // Built on first need, with only the variables conditions use.
        let mut context: Option<Context<'_, '_>> = None;
        let mut bound = 0u8;
        for i in candidates {
            let compiled = &self.rules[i];
            let rule = &self.matrix.rules[i];
            let mut decided = false;
            if prefilter {
                let mut all_hold = true;
                let mut ruled_out = false;
                for test in &compiled.tests {
                    match test.decide(facts) {
                        // CEL's && is false when any side is false, whatever the others do.
                        Some(false) => {
                            ruled_out = true;
                            break;
                        }
                        Some(true) => {}
                        None => all_hold = false,
                    }
                }
                if ruled_out {
                    continue;
                }
                decided = compiled.complete && all_hold;
            }
            let holds = match &compiled.program {
                None => true,
                Some(_) if decided => true,
                Some(program) => {
                    let context = context.get_or_insert_with(|| Context::with_env(Arc::clone(&self.env)));
                    let missing = compiled.variables & !bound;
                    if missing != 0 {
                        bind(context, facts, missing);
                        bound |= missing;
                    }
                    match program.execute(context) {
                        Ok(CelValue::Bool(b)) => b,
                        Ok(other) => {
                            out.errors.push((
                                rule.name.clone(),
                                format!("the condition gave a value of type {}, not true or false", other.type_of()),
                            ));
                            continue;
                        }
                        Err(e) => {
                            out.errors.push((rule.name.clone(), e.to_string()));
                            continue;
                        }
                    }
                }
            };
            out.considered.push((rule.name.clone(), holds));
            if holds {
                out.fired.push(Fired { rule: rule.name.clone(), actions: rule.actions.clone() });
                if rule.stop {
                    break;
                }
            }
        }
        out
    }
}

impl Facts {
    /// A variable by its position in [`VARIABLES`] (not `now`).
    fn variable(&self, index: usize) -> Option<&Value> {
        match index {
            0 => Some(&self.case),
            1 => Some(&self.customer),
            2 => Some(&self.contact),
            3 => Some(&self.event),
            _ => None,
        }
    }
}

/// Adds the variables whose bits are set to the context, borrowing the facts' text.
fn bind<'f>(context: &mut Context<'_, 'f>, facts: &'f Facts, bits: u8) {
    for (i, name) in VARIABLES.iter().enumerate() {
        if bits & (1 << i) == 0 {
            continue;
        }
        match facts.variable(i) {
            Some(v) => context.add_variable_as_val(*name, to_val(v)),
            None => context.add_variable_from_value(*name, timestamp(facts.now)),
        }
    }
}

fn context<'f>(env: &Arc<Env>, facts: &'f Facts) -> Context<'f, 'f> {
    let mut context = Context::with_env(Arc::clone(env));
    bind(&mut context, facts, u8::MAX);
    context
}

/// JSON to a CEL value, borrowing strings: integers stay integers, other numbers are
/// doubles.
fn to_val(v: &Value) -> Box<dyn Val + '_> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => Box::new(CelList::from(items.iter().map(to_val).collect::<Vec<_>>())),
        Value::Object(o) => Box::new(CelMap::from(
            o.iter().map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v))).collect::<HashMap<_, _>>(),
        )),
    }
}

fn timestamp(t: Timestamp) -> CelValue {
    match chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond() as u32) {
        Some(d) => CelValue::Timestamp(d.fixed_offset()),
        None => CelValue::Null,
    }
}

/// The simple tests among a condition's top-level conjuncts, and whether the condition is
/// nothing but those.
fn tests(expr: &IdedExpr) -> (Vec<Test>, bool) {
    let mut conjuncts = Vec::new();
    flatten_and(expr, &mut conjuncts);
    let mut out = Vec::new();
    let mut complete = true;
    for c in conjuncts {
        match test(c) {
            Some(t) => out.push(t),
            None => complete = false,
        }
    }
    (out, complete)
}

fn test(expr: &IdedExpr) -> Option<Test> {
    let Expr::Call(call) = &expr.expr else { return None };
    if call.target.is_some() || call.args.len() != 2 {
        return None;
    }
    // `VAR.FIELD` on case, customer, contact or event.
    let selection = |e: &IdedExpr| -> Option<(usize, String)> {
        let Expr::Select(sel) = &e.expr else { return None };
        let Expr::Ident(root) = &sel.operand.expr else { return None };
        let variable = VARIABLES[..4].iter().position(|v| v == root)?;
        (!sel.test).then(|| (variable, sel.field.clone()))
    };
    let literal = |e: &IdedExpr| -> Option<Literal> {
        let Expr::Literal(l) = &e.expr else { return None };
        let number = |f: f64| (f.abs() <= EXACT).then_some(Literal::Number(f));
        match l {
            LiteralValue::String(s) => Some(Literal::Text(s.inner().to_string())),
            LiteralValue::Boolean(b) => Some(Literal::Bool(*b.inner())),
            LiteralValue::Int(i) => number(*i.inner() as f64),
            LiteralValue::UInt(u) => number(*u.inner() as f64),
            LiteralValue::Double(d) => d.inner().is_finite().then(|| Literal::Number(*d.inner())),
            _ => None,
        }
    };
    let (a, b) = (&call.args[0], &call.args[1]);
    match call.func_name.as_str() {
        "_==_" => {
            let ((variable, field), value) = selection(a).zip(literal(b)).or_else(|| selection(b).zip(literal(a)))?;
            Some(Test::Equals { variable, field, value })
        }
        "_<_" | "_<=_" | "_>_" | "_>=_" => {
            let op = match call.func_name.as_str() {
                "_<_" => Comparison::Less,
                "_<=_" => Comparison::LessOrEqual,
                "_>_" => Comparison::Greater,
                _ => Comparison::GreaterOrEqual,
            };
            let flipped = match op {
                Comparison::Less => Comparison::Greater,
                Comparison::LessOrEqual => Comparison::GreaterOrEqual,
                Comparison::Greater => Comparison::Less,
                Comparison::GreaterOrEqual => Comparison::LessOrEqual,
            };
            let ((variable, field), op, lit) = match (selection(a), literal(b)) {
                (Some(s), Some(l)) => (s, op, l),
                _ => (selection(b)?, flipped, literal(a)?),
            };
            let Literal::Number(number) = lit else { return None };
            Some(Test::Compare { variable, field, op, number })
        }
        "@in" => {
            let Some(Literal::Text(text)) = literal(a) else { return None };
            let (variable, field) = selection(b)?;
            Some(Test::Contains { variable, field, text })
        }
        _ => None,
    }
}

/// The `case.FIELD == "value"` tests (either way round) among the top-level conjuncts of a
/// condition, by index into [`INDEXED_FIELDS`], and whether the condition is nothing but
/// such tests.
pub(crate) fn equalities(expr: &IdedExpr) -> (Vec<(usize, String)>, bool) {
    let mut conjuncts = Vec::new();
    flatten_and(expr, &mut conjuncts);
    let mut out = Vec::new();
    let mut only = true;
    for c in conjuncts {
        match case_equality(c, &INDEXED_FIELDS) {
            Some((f, v)) => out.push((f, v)),
            None => only = false,
        }
    }
    (out, only)
}

fn flatten_and<'e>(expr: &'e IdedExpr, out: &mut Vec<&'e IdedExpr>) {
    match &expr.expr {
        Expr::Call(call) if call.func_name == "_&&_" && call.target.is_none() => {
            for a in &call.args {
                flatten_and(a, out);
            }
        }
        _ => out.push(expr),
    }
}

/// `case.F == "v"` or `"v" == case.F` with F one of `fields`: (index of F, v).
pub(crate) fn case_equality(expr: &IdedExpr, fields: &[&str]) -> Option<(usize, String)> {
    let Expr::Call(call) = &expr.expr else { return None };
    if call.func_name != "_==_" || call.args.len() != 2 || call.target.is_some() {
        return None;
    }
    let side = |a: &IdedExpr, b: &IdedExpr| -> Option<(usize, String)> {
        let Expr::Select(sel) = &a.expr else { return None };
        if sel.test || !matches!(&sel.operand.expr, Expr::Ident(n) if n == "case") {
            return None;
        }
        let f = fields.iter().position(|f| *f == sel.field)?;
        match &b.expr {
            Expr::Literal(LiteralValue::String(s)) => Some((f, s.inner().to_string())),
            _ => None,
        }
    };
    side(&call.args[0], &call.args[1]).or_else(|| side(&call.args[1], &call.args[0]))
}

/// Every use of a variable that no comprehension binds: (name, node id).
pub(crate) fn free_variables(expr: &IdedExpr) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    walk(expr, &mut Vec::new(), &mut |e, bound| {
        if let Expr::Ident(name) = &e.expr
            && !bound.iter().any(|b| b == name)
        {
            out.push((name.clone(), e.id));
        }
    });
    out
}

/// Every `ROOT.field` selection on a free variable: (root, field, node id).
pub(crate) fn selections(expr: &IdedExpr) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    walk(expr, &mut Vec::new(), &mut |e, bound| {
        if let Expr::Select(sel) = &e.expr
            && let Expr::Ident(root) = &sel.operand.expr
            && !bound.iter().any(|b| b == root)
        {
            out.push((root.clone(), sel.field.clone(), e.id));
        }
    });
    out
}

/// Every node, with the names comprehensions bind around it.
pub(crate) fn walk<'e>(expr: &'e IdedExpr, bound: &mut Vec<String>, f: &mut dyn FnMut(&'e IdedExpr, &[String])) {
    f(expr, bound);
    match &expr.expr {
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                walk(t, bound, f);
            }
            for a in &call.args {
                walk(a, bound, f);
            }
        }
        Expr::Comprehension(c) => {
            walk(&c.iter_range, bound, f);
            walk(&c.accu_init, bound, f);
            let n = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            walk(&c.loop_cond, bound, f);
            walk(&c.loop_step, bound, f);
            walk(&c.result, bound, f);
            bound.truncate(n);
        }
        Expr::List(l) => {
            for e in &l.elements {
                walk(e, bound, f);
            }
        }
        Expr::Map(m) => {
            for e in &m.entries {
                match &e.expr {
                    cel::common::ast::EntryExpr::MapEntry(me) => {
                        walk(&me.key, bound, f);
                        walk(&me.value, bound, f);
                    }
                    cel::common::ast::EntryExpr::StructField(sf) => walk(&sf.value, bound, f),
                }
            }
        }
        Expr::Select(s) => walk(&s.operand, bound, f),
        Expr::Struct(s) => {
            for e in &s.entries {
                if let cel::common::ast::EntryExpr::StructField(sf) = &e.expr {
                    walk(&sf.value, bound, f);
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}
