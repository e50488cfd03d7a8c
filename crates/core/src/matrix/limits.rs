//! What a CEL expression of the matrix (a rule's `when`, an `amount_field`) may cost, checked
//! before it runs, so that no text a user uploads can take the server down or stall it:
//!
//! - **size**: at most [`MAX_EXPRESSION_BYTES`] bytes;
//! - **nesting**: at most [`MAX_NESTING`] levels, bounded by a flat scan of the text
//!   *before* the CEL parser (which recurses, as does everything that walks the tree it
//!   builds) sees it: each bracket and each operator or member access in a chain counts as a
//!   level, so `1+1+…`, `a.b.c…` and `((((…))))` are all refused early;
//! - **evaluation**: at most [`MAX_COST`] steps, and no value over [`MAX_COST`] elements or
//!   bytes, estimated from the parsed tree: literal
//!   lists count their elements, `lists.range(n)` counts `n` (and cannot be bounded unless
//!   `n` is written as a number), a list or text read from the facts counts as
//!   [`FACT_ELEMENTS`], and a comprehension (`all`, `exists`, `exists_one`, `map`, `filter`)
//!   multiplies the cost of its body by the size of what it iterates over. The estimate is
//!   an upper bound of what the interpreter does, not a measure: a condition within it runs
//!   in well under a second even on a large case.
//!
//! [`compile`] applies all three, then compiles: every caller that turns a condition into a
//! program (the linter, [`super::CompiledMatrix`], `ladder matrix explain`) goes through it.

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::{Env, ParseErrors, Program};

/// The longest expression accepted, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 8 * 1024;

/// The deepest nesting accepted: brackets plus chained operators and member accesses.
pub const MAX_NESTING: usize = 64;

/// The most evaluation steps an expression may be estimated to take, and the longest value
/// (elements or bytes) it may be estimated to build.
pub const MAX_COST: u64 = 1_000_000;

/// The most evaluation steps all the conditions of a matrix may be estimated to take
/// together: what one write evaluates at worst.
pub const MAX_MATRIX_COST: u64 = 10_000_000;

/// A condition without variables is evaluated while linting (to say it always or never
/// holds) only when it is estimated to take at most this many steps.
pub const MAX_CONSTANT_COST: u64 = 10_000;

/// How many elements (or bytes) a list, map or text read from the facts is assumed to hold.
pub const FACT_ELEMENTS: u64 = 1_000;

/// An expression over one of the limits: where (a byte offset into the expression), what,
/// and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

/// Why an expression did not compile.
#[derive(Debug)]
pub enum CompileError {
    /// Over a limit: the CEL parser never saw it, or its program is never run.
    Limit(LimitError),
    /// A CEL syntax error.
    Syntax(ParseErrors),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Limit(l) => write!(f, "{} ({})", l.message, l.hint),
            CompileError::Syntax(e) => write!(f, "{e}"),
        }
    }
}

/// Checks the size and nesting of `source`, compiles it in `env`, then checks its estimated
/// evaluation cost.
pub fn compile(env: &Env, source: &str) -> Result<Program, CompileError> {
    check_text(source).map_err(CompileError::Limit)?;
    let program = env.compile(source).map_err(CompileError::Syntax)?;
    if let Err((id, message, hint)) = check_cost(program.expression()) {
        let offset = program.source_info().offset_for(id).map_or(0, |(s, _)| s as usize);
        // The parser's offsets count characters: make it a byte offset like the others.
        let offset = source.char_indices().nth(offset).map_or(source.len(), |(b, _)| b);
        return Err(CompileError::Limit(LimitError { offset, message, hint }));
    }
    Ok(program)
}

/// The estimated evaluation cost of an expression, in steps, after the other checks of
/// [`compile`] (for benchmarks and tools).
pub fn estimated_cost(source: &str) -> Result<u64, CompileError> {
    let env = super::eval::cel_env();
    Ok(cost(compile(&env, source)?.expression()))
}

/// The estimated evaluation cost of a compiled expression, in steps.
pub fn cost(expr: &IdedExpr) -> u64 {
    let mut over = None;
    estimate(expr, &mut Vec::new(), &mut over).work
}

/// The size and nesting limits, by a flat scan: no recursion, linear in the text.
///
/// The bound is conservative. Within a bracket, an element (between commas) is operands
/// joined by binary operators; the tree of those operators is at most as deep as there are
/// operators, and an operand (`a.b.c`, `f(x).g(y)`, `!x`) is at most as deep as its member
/// accesses and prefix operators plus its deepest bracket. Unary and binary operators are
/// not told apart: both count on the operators' side.
pub fn check_text(source: &str) -> Result<(), LimitError> {
    if source.len() > MAX_EXPRESSION_BYTES {
        return Err(LimitError {
            offset: MAX_EXPRESSION_BYTES,
            message: format!("the expression is {} bytes long, over the limit of {MAX_EXPRESSION_BYTES}", source.len()),
            hint: "split the rule into simpler rules".to_string(),
        });
    }
    /// One open bracket.
    #[derive(Default)]
    struct Frame {
        /// Operators in the current element.
        operators: usize,
        /// Member accesses in the current operand.
        members: usize,
        /// The deepest closed bracket in the current operand.
        inner: usize,
        /// The deepest finished operand of the current element.
        operand: usize,
        /// The deepest finished element.
        element: usize,
    }
    impl Frame {
        fn operand(&self) -> usize {
            self.members + self.inner
        }
        /// How deep the current element is, as far as it goes.
        fn level(&self) -> usize {
            self.operators + self.operand.max(self.operand())
        }
        fn end_operand(&mut self) {
            self.operand = self.operand.max(self.operand());
            self.members = 0;
            self.inner = 0;
        }
        fn end_element(&mut self) {
            self.end_operand();
            self.element = self.element.max(self.level());
            self.operators = 0;
            self.operand = 0;
        }
    }
    let bytes = source.as_bytes();
    let mut frames = vec![Frame::default()];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let mut next = i + 1;
        match b {
            b'"' | b'\'' => next = skip_string(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                next = bytes[i..].iter().position(|c| *c == b'\n').map_or(bytes.len(), |p| i + p + 1);
            }
            b'(' | b'[' | b'{' => frames.push(Frame::default()),
            b')' | b']' | b'}' if frames.len() > 1 => {
                let mut closed = frames.pop().unwrap_or_default();
                closed.end_element();
                let top = frames.last_mut().expect("the outermost frame is never popped");
                top.inner = top.inner.max(1 + closed.element);
            }
            b',' => frames.last_mut().expect("a frame").end_element(),
            b':' => frames.last_mut().expect("a frame").end_operand(),
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {}
            b'.' => frames.last_mut().expect("a frame").members += 1,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'!' | b'<' | b'>' | b'=' | b'?' | b'&' | b'|' => {
                // A two-character operator counts once.
                if matches!((b, bytes.get(i + 1)), (b'&', Some(b'&')) | (b'|', Some(b'|')) | (_, Some(b'='))) {
                    next = i + 2;
                }
                let top = frames.last_mut().expect("a frame");
                top.end_operand();
                top.operators += 1;
            }
            b'i' if bytes.get(i + 1) == Some(&b'n')
                && !bytes.get(i + 2).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                && !(i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                next = i + 2;
                let top = frames.last_mut().expect("a frame");
                top.end_operand();
                top.operators += 1;
            }
            _ => {}
        }
        // The path from the root to here: the open brackets, each inside an operand of the
        // element around it, and the current element of the innermost.
        let (top, below) = frames.split_last().expect("a frame");
        let depth = below.iter().map(|f| f.operators + f.members + 1).sum::<usize>() + top.level();
        if depth > MAX_NESTING {
            return Err(LimitError {
                offset: i,
                message: format!("the expression nests too deeply (over {MAX_NESTING} levels)"),
                hint: "each bracket, operator and member access in a chain counts as a level: split the \
                       expression into rules, or test a list with `in` instead of chaining `||`"
                    .to_string(),
            });
        }
        i = next;
    }
    Ok(())
}

/// Where the string literal starting at `start` (a quote, possibly tripled) ends.
/// Escapes are skipped whether or not the string is raw: that can only end it later.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let mut i = if triple { start + 3 } else { start + 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == quote && !triple => return i + 1,
            c if c == quote && bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) => return i + 3,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Upper bounds for a value: its length (elements of a list, entries of a map, bytes of a
/// text; 1 for a scalar), the length of anything nested in it, and the steps computing it
/// takes (an element, an entry or a node is a step; bytes are not).
#[derive(Debug, Clone, Copy)]
struct Estimate {
    len: u64,
    item: u64,
    work: u64,
}

impl Estimate {
    const SCALAR: Estimate = Estimate { len: 1, item: 1, work: 1 };

    /// Anything nested in this value, or the value itself, is at most this long.
    fn deepest(&self) -> u64 {
        self.len.max(self.item)
    }
}

/// Functions whose result is a scalar (a boolean, a number, a time): they may read their
/// arguments in full, but give one value.
const SCALAR: &[&str] = &[
    "_==_",
    "_!=_",
    "_<_",
    "_<=_",
    "_>_",
    "_>=_",
    "_&&_",
    "_||_",
    "!_",
    "-_",
    "_-_",
    "_*_",
    "_/_",
    "_%_",
    "@in",
    "@not_strictly_false",
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "bool",
    "type",
    "indexOf",
    "lastIndexOf",
    "timestamp",
    "duration",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    "max",
    "min",
];

/// The estimated cost of evaluating `expr`, or the node where it goes over [`MAX_COST`]
/// (the innermost such node), with a message and a hint.
fn check_cost(expr: &IdedExpr) -> Result<u64, (u64, String, String)> {
    let mut scope = Vec::new();
    let mut over = None;
    let estimate = estimate(expr, &mut scope, &mut over);
    match over {
        Some(found) => Err(found),
        None => Ok(estimate.work),
    }
}

/// A list or map literal of `n` parts.
fn collection(n: usize, parts: &[Estimate]) -> Estimate {
    let n = n as u64;
    Estimate {
        len: n,
        item: parts.iter().map(Estimate::deepest).max().unwrap_or(1),
        work: parts.iter().fold(n.saturating_add(1), |w, p| w.saturating_add(p.work)),
    }
}

/// The variables comprehensions bind: (name, length, nested length).
type Scope = Vec<(String, u64, u64)>;

fn estimate(e: &IdedExpr, scope: &mut Scope, over: &mut Option<(u64, String, String)>) -> Estimate {
    let result = match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Estimate { len: s.inner().len() as u64, ..Estimate::SCALAR },
        Expr::Literal(LiteralValue::Bytes(b)) => Estimate { len: b.inner().len() as u64, ..Estimate::SCALAR },
        Expr::Literal(_) | Expr::Unspecified => Estimate::SCALAR,
        Expr::Ident(name) => match scope.iter().rev().find(|(n, _, _)| n == name) {
            Some((_, len, item)) => Estimate { len: *len, item: *item, work: 1 },
            None => Estimate { len: FACT_ELEMENTS, item: FACT_ELEMENTS, work: 1 },
        },
        Expr::Select(s) => {
            let operand = estimate(&s.operand, scope, over);
            // A field of a map holds no more than the map's largest part.
            let bound = operand.item.max(FACT_ELEMENTS);
            Estimate { len: bound, item: bound, work: operand.work.saturating_add(1) }
        }
        Expr::List(l) => {
            let parts: Vec<Estimate> = l.elements.iter().map(|x| estimate(x, scope, over)).collect();
            collection(l.elements.len(), &parts)
        }
        Expr::Map(m) => {
            let mut parts = Vec::new();
            for entry in &m.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(me) => {
                        parts.push(estimate(&me.key, scope, over));
                        parts.push(estimate(&me.value, scope, over));
                    }
                    EntryExpr::StructField(sf) => parts.push(estimate(&sf.value, scope, over)),
                }
            }
            collection(m.entries.len(), &parts)
        }
        Expr::Struct(s) => {
            let mut parts = Vec::new();
            for entry in &s.entries {
                if let EntryExpr::StructField(sf) = &entry.expr {
                    parts.push(estimate(&sf.value, scope, over));
                }
            }
            collection(s.entries.len(), &parts)
        }
        Expr::Call(call) => {
            let target = call.target.as_ref().map(|t| estimate(t, scope, over));
            let args: Vec<Estimate> = call.args.iter().map(|a| estimate(a, scope, over)).collect();
            let all = || target.iter().chain(&args);
            let work = all().fold(1u64, |w, a| w.saturating_add(a.work));
            let longest = all().map(|a| a.len).max().unwrap_or(1);
            let deepest = all().map(Estimate::deepest).max().unwrap_or(1);
            let namespace = match call.target.as_deref().map(|t| &t.expr) {
                Some(Expr::Ident(ns)) => Some(ns.as_str()),
                _ => None,
            };
            let name = call.func_name.as_str();
            let range = name == "lists.range" || (name == "range" && namespace == Some("lists"));
            let (len, item) = if range {
                let n = match call.args.first().map(|a| &a.expr) {
                    Some(Expr::Literal(LiteralValue::Int(n))) => (*n.inner()).max(0) as u64,
                    Some(Expr::Literal(LiteralValue::UInt(n))) => *n.inner(),
                    _ => {
                        if over.is_none() {
                            *over = Some((
                                e.id,
                                "lists.range with a computed length has no bound on what it costs".to_string(),
                                "write the length as a number, e.g. lists.range(10)".to_string(),
                            ));
                        }
                        u64::MAX
                    }
                };
                (n, 1)
            } else if SCALAR.contains(&name) {
                (1, 1)
            } else {
                match name {
                    // Concatenation: both sides.
                    "_+_" => (all().fold(0u64, |s, a| s.saturating_add(a.len)), deepest),
                    "_?_:_" => (args.iter().skip(1).map(|a| a.len).max().unwrap_or(1), deepest),
                    // Each match may become the replacement; each element gains a separator.
                    "replace" | "join" => {
                        let base = target.map_or(longest, |t| t.len.max(t.item));
                        let grow = args.get(1).or(args.first()).map_or(1, |a| a.len);
                        (base.saturating_mul(grow.saturating_add(1)), 1)
                    }
                    "format" => (all().fold(0u64, |s, a| s.saturating_add(a.len.saturating_mul(a.item))), 1),
                    "flatten" => {
                        let t = target.unwrap_or(Estimate::SCALAR);
                        (t.len.saturating_mul(t.item.max(1)), t.item)
                    }
                    // An element of a list or a value of a map.
                    "_[_]" => (deepest, deepest),
                    // Anything else (a conversion, `split`, `sort`, `substring` …) is no longer
                    // than its longest part, or than a number written out.
                    _ => (deepest.max(32), deepest),
                }
            };
            // Building a list costs its elements; `in` looks through one. Joining values
            // copies them, which is cheaper than a step per element or byte (and their
            // length is bounded on its own); other functions work on texts or numbers, where
            // a byte is not a step.
            let steps = match name {
                _ if range => len,
                "sort" | "sortBy" | "distinct" | "reverse" | "flatten" | "slice" => len,
                "_+_" | "split" | "join" | "format" => len / 8,
                "@in" => args.get(1).map_or(1, |a| a.len),
                _ => 1,
            };
            Estimate { len, item, work: work.saturating_add(steps) }
        }
        Expr::Comprehension(c) => {
            let range = estimate(&c.iter_range, scope, over);
            let init = estimate(&c.accu_init, scope, over);
            let n = scope.len();
            // An element (or a key) of what is iterated over.
            scope.push((c.iter_var.clone(), range.item, range.item));
            if let Some(v) = &c.iter_var2 {
                scope.push((v.clone(), range.item, range.item));
            }
            scope.push((c.accu_var.clone(), init.len, init.item));
            let condition = estimate(&c.loop_cond, scope, over);
            let step = estimate(&c.loop_step, scope, over);
            // What one step adds to the accumulator (`map` and `filter` append an element).
            let growth = step.len.saturating_sub(init.len);
            let accumulated = init.len.saturating_add(range.len.saturating_mul(growth));
            scope.truncate(n);
            scope.push((c.accu_var.clone(), accumulated, init.item.max(step.item)));
            let result = estimate(&c.result, scope, over);
            scope.truncate(n);
            let per_element = condition.work.saturating_add(step.work).saturating_add(1);
            let work = range
                .work
                .saturating_add(init.work)
                .saturating_add(range.len.saturating_mul(per_element))
                .saturating_add(result.work);
            Estimate { work, ..result }
        }
    };
    if (result.work > MAX_COST || result.len > MAX_COST) && over.is_none() {
        *over = Some((
            e.id,
            if result.work == u64::MAX || result.len == u64::MAX {
                "evaluating this could take forever".to_string()
            } else if result.len > MAX_COST {
                format!(
                    "this could build a value of about {} elements or bytes, over the limit of {MAX_COST}",
                    result.len
                )
            } else {
                format!("evaluating this could take about {} steps, over the limit of {MAX_COST}", result.work)
            },
            format!(
                "iterate over shorter lists, or do not nest comprehensions (all, exists, map, filter): \
                 each multiplies the cost of what it contains; a list read from the case counts as \
                 {FACT_ELEMENTS} elements"
            ),
        ));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::eval::cel_env;

    fn nesting(source: &str) -> Result<(), usize> {
        check_text(source).map_err(|e| e.offset)
    }

    fn cost(source: &str) -> Result<u64, String> {
        let env = cel_env();
        match compile(&env, source) {
            Ok(p) => Ok(check_cost(p.expression()).expect("compiled within the budget")),
            Err(CompileError::Limit(l)) => Err(l.message),
            Err(CompileError::Syntax(e)) => panic!("{source}: {e}"),
        }
    }

    #[test]
    fn ordinary_conditions_are_well_within_the_limits() {
        for source in [
            r#"case.category == "billing" && customer.value >= 10000"#,
            r#"case.tags.exists(t, t in ["legal", "press", "regulator"]) || case.n_reopens > 2"#,
            r#"case.subject.lowerAscii().contains("refund") && !("vip" in case.tags)"#,
            r#"case.priority in ["high", "urgent"] ? customer.value > 10 : customer.value > 1000"#,
            "now - timestamp(case.created_at) > duration('4h')",
            "size(case.tags.filter(t, t.startsWith('x-')).map(t, t.substring(2))) > 3",
            "[1, 2, 3].all(x, [4, 5, 6].all(y, x < y))",
            "lists.range(100).exists(i, i == case.number)",
        ] {
            assert!(check_text(source).is_ok(), "{source}");
            assert!(cost(source).is_ok(), "{source}: {:?}", cost(source));
        }
    }

    #[test]
    fn long_chains_are_refused_before_parsing() {
        let sum = vec!["1"; 3000].join("+");
        assert_eq!(nesting(&sum), Err(2 * (MAX_NESTING + 1) - 1));
        let members = format!("case{}", ".a".repeat(3000));
        assert!(nesting(&members).is_err());
        let parens = format!("{}1{}", "(".repeat(3000), ")".repeat(3000));
        assert_eq!(nesting(&parens), Err(MAX_NESTING));
        let lists = format!("{}1{}", "[".repeat(3000), "]".repeat(3000));
        assert!(nesting(&lists).is_err());
        let calls = format!("{}1{}", "int(".repeat(1000), ")".repeat(1000));
        assert!(nesting(&calls).is_err());
        let ors = vec!["case.a == 'x'"; 40].join(" || ");
        assert!(nesting(&ors).is_err());
    }

    #[test]
    fn siblings_do_not_add_up_and_strings_do_not_count() {
        let list = format!("[{}]", vec!["a.b.c + 1"; 500].join(", "));
        assert!(list.len() < MAX_EXPRESSION_BYTES);
        assert_eq!(nesting(&list), Ok(()));
        let text = format!("case.subject == \"{}\"", "((((+.".repeat(200));
        assert_eq!(nesting(&text), Ok(()));
        let escaped = format!("case.subject == 'it\\'s {}'", "(".repeat(200));
        assert_eq!(nesting(&escaped), Ok(()));
        let triple = format!("case.subject == '''{}'''", "('".repeat(200));
        assert_eq!(nesting(&triple), Ok(()));
        assert_eq!(nesting("1.5 + 2.25 > 0.1"), Ok(()));
    }

    #[test]
    fn at_the_limit_nesting_is_accepted_and_parses() {
        let within = format!("{}1{} == 1", "(".repeat(MAX_NESTING - 2), ")".repeat(MAX_NESTING - 2));
        assert_eq!(nesting(&within), Ok(()));
        assert!(cost(&within).is_ok());
    }

    #[test]
    fn long_expressions_are_refused() {
        let long = format!("case.subject == '{}'", "x".repeat(MAX_EXPRESSION_BYTES));
        let e = check_text(&long).unwrap_err();
        assert!(e.message.contains("bytes long"), "{}", e.message);
    }

    #[test]
    fn runaway_comprehensions_are_refused() {
        let big = format!("[{}]", (0..300).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
        let nested = format!("{big}.all(x, {big}.all(y, {big}.exists(z, x + y == z)))");
        assert!(cost(&nested).unwrap_err().contains("steps"));
        let ranges = "lists.range(1000).map(x, lists.range(1000).map(y, x * y)).size() > 0";
        assert!(cost(ranges).unwrap_err().contains("steps"));
        assert!(cost("lists.range(100000000).exists(x, x < 0)").is_err());
        assert!(cost("lists.range(case.number).exists(x, x < 0)").unwrap_err().contains("computed length"));
        let facts = "case.tags.all(a, case.tags.all(b, case.tags.all(c, a + b + c != '')))";
        assert!(cost(facts).is_err());
        let replace = format!("case.subject{} == ''", ".replace('a', 'aaaaaaaaaa')".repeat(8));
        assert!(cost(&replace).is_err());
    }

    #[test]
    fn the_innermost_costly_part_is_pointed_at() {
        let source = "case.n_reopens > 0 && lists.range(2000).all(x, lists.range(2000).all(y, x != y))";
        let env = cel_env();
        let Err(CompileError::Limit(e)) = compile(&env, source) else { panic!("refused") };
        // The outer `all`, not the start of the condition nor the inner `all`.
        let (outer, inner) = (source.find("lists.range").unwrap(), source.rfind("lists.range").unwrap());
        assert!(outer < e.offset && e.offset < inner, "{}", &source[e.offset..]);
    }
}
