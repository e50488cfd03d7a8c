//! `ladder matrix …`: check, explain and diff escalation-matrix files, and print their JSON
//! Schema. Works on files alone; nothing here opens the store.

use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::Timestamp;
use ladder_core::directory::LevelId;
use ladder_core::matrix::{self, CompiledMatrix, Diagnostic, Directory, Facts, Matrix, Trigger};

#[derive(clap::Subcommand)]
pub enum MatrixCommand {
    /// Report every problem of one or more matrix files; exit 1 on any error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A team that exists, as SLUG=LEVEL (repeatable); with teams, unknown team slugs
        /// are errors.
        #[arg(long = "team", value_name = "SLUG=LEVEL")]
        teams: Vec<String>,
        /// Check team slugs against the teams `serve --demo` creates.
        #[arg(long)]
        demo_teams: bool,
    },
    /// Show which rules fire on a case, and why the others do not.
    Explain {
        file: PathBuf,
        /// JSON with "case", "customer", "contact", "event" objects and a "trigger".
        #[arg(long = "case", value_name = "CASE_JSON")]
        case: PathBuf,
        /// Overrides the file's "trigger".
        #[arg(long)]
        trigger: Option<String>,
    },
    /// Print what changed between two versions of a matrix.
    Diff { old: PathBuf, new: PathBuf },
    /// Print the JSON Schema of the matrix format, for editor completion.
    Schema,
}

pub fn run(command: MatrixCommand) -> anyhow::Result<()> {
    match command {
        MatrixCommand::Check { files, teams, demo_teams } => {
            let directory = directory(&teams, demo_teams)?;
            let (errors, warnings) = check(&files, directory.as_ref())?;
            println!("{errors} error{}, {warnings} warning{}", plural(errors), plural(warnings));
            if errors > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        MatrixCommand::Explain { file, case, trigger } => explain(&file, &case, trigger.as_deref()),
        MatrixCommand::Diff { old, new } => {
            let (old, new) = (load(&old)?, load(&new)?);
            let changes = matrix::diff(&old, &new);
            if changes.is_empty() {
                println!("no changes");
            }
            for c in changes {
                println!("{c}");
            }
            Ok(())
        }
        MatrixCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(&matrix::json_schema())?);
            Ok(())
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn directory(teams: &[String], demo: bool) -> anyhow::Result<Option<Directory>> {
    let mut dir = Directory::default();
    if demo {
        dir.teams.extend(crate::demo::team_levels().map(|(s, l)| (s.to_string(), LevelId::new(l))));
    }
    for t in teams {
        let (slug, level) =
            t.split_once('=').with_context(|| format!("--team {t}: write SLUG=LEVEL, e.g. billing=L2"))?;
        dir.teams.push((slug.to_string(), LevelId::new(level)));
    }
    Ok((demo || !teams.is_empty()).then_some(dir))
}

pub(crate) fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Prints every diagnostic of every file with the line it points at; returns the counts.
fn check(files: &[PathBuf], directory: Option<&Directory>) -> anyhow::Result<(usize, usize)> {
    let (mut errors, mut warnings) = (0, 0);
    for path in files {
        let source = read(path)?;
        let diagnostics = matrix::check(&source, &path.display().to_string(), directory);
        for d in &diagnostics {
            print_diagnostic(d, &source);
            if d.is_error() {
                errors += 1;
            } else {
                warnings += 1;
            }
        }
    }
    Ok((errors, warnings))
}

pub(crate) fn print_diagnostic(d: &Diagnostic, source: &str) {
    println!("{d}");
    if d.line == 0 {
        return;
    }
    if let Some(line) = source.lines().nth(d.line - 1) {
        let number = d.line.to_string();
        println!("  {number} | {line}");
        let pad: String =
            line.chars().take(d.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        println!("  {} | {pad}^", " ".repeat(number.len()));
    }
}

/// Parses a file, printing its diagnostics and failing when it has errors.
pub(crate) fn load(path: &Path) -> anyhow::Result<Matrix> {
    let source = read(path)?;
    match matrix::parse(&source, &path.display().to_string()) {
        Ok((m, _)) => Ok(m),
        Err(diagnostics) => {
            for d in &diagnostics {
                print_diagnostic(d, &source);
            }
            anyhow::bail!("{} does not parse: run `ladder matrix check` on it", path.display())
        }
    }
}

fn explain(file: &Path, case_file: &Path, trigger: Option<&str>) -> anyhow::Result<()> {
    let source = read(file)?;
    let name = file.display().to_string();
    let diagnostics = matrix::check(&source, &name, None);
    if diagnostics.iter().any(Diagnostic::is_error) {
        for d in &diagnostics {
            print_diagnostic(d, &source);
        }
        anyhow::bail!("{name} has errors; fix them first");
    }
    let (parsed, map) = matrix::parse(&source, &name).map_err(|_| anyhow::anyhow!("{name} does not parse"))?;
    let input: serde_json::Value =
        serde_json::from_str(&read(case_file)?).with_context(|| format!("{} is not JSON", case_file.display()))?;
    let trigger_name = trigger
        .map(str::to_string)
        .or_else(|| input.get("trigger").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "case_opened".to_string());
    let trigger = Trigger::parse(&trigger_name).with_context(|| {
        format!("unknown trigger '{trigger_name}'; use one of {}", Trigger::ALL.map(Trigger::as_str).join(", "))
    })?;
    let now = match input.get("now").and_then(|n| n.as_str()) {
        Some(n) => n.parse::<Timestamp>().with_context(|| format!("\"now\": '{n}' is not an RFC 3339 time"))?,
        None => Timestamp::now(),
    };
    let object = |key: &str| input.get(key).cloned().unwrap_or_else(|| serde_json::json!({}));
    let facts = Facts {
        case: object("case"),
        customer: object("customer"),
        contact: object("contact"),
        event: object("event"),
        now,
    };
    let compiled = CompiledMatrix::compile(parsed, 0).map_err(|e| anyhow::anyhow!("{} does not compile", e.len()))?;
    let evaluation = compiled.evaluate_unindexed(trigger, &facts);
    let rules = &compiled.matrix().rules;
    let on_trigger: Vec<_> = rules.iter().filter(|r| r.trigger == trigger).collect();
    println!("{name}: trigger {trigger}, {} of {} rules on this trigger, now {now}", on_trigger.len(), rules.len());
    let mut stopped_by: Option<&str> = None;
    for rule in on_trigger {
        let line = map.position(&format!("rules[{}]", rule.order)).0;
        let title = format!("\"{}\" (line {line})", rule.name);
        if let Some(stopper) = stopped_by {
            println!("  -  not evaluated  {title}: \"{stopper}\" fired first and stops");
            continue;
        }
        if let Some((_, error)) = evaluation.errors.iter().find(|(r, _)| r == &rule.name) {
            println!("  !  error          {title}: {error}");
            continue;
        }
        let fired = evaluation.fired.iter().any(|f| f.rule == rule.name);
        if fired {
            println!("  ✓  fired          {title}");
            match &rule.when {
                Some(w) => println!("         because      {w}"),
                None => println!("         because      it has no condition"),
            }
            for a in &rule.actions {
                println!("         then         {a}");
            }
            if rule.stop {
                stopped_by = Some(&rule.name);
            }
        } else {
            println!("  ✗  did not fire   {title}");
            if let Some(w) = &rule.when {
                // Say which part of the condition is false.
                let parts = conjuncts(w);
                for part in &parts {
                    let verdict = match matrix::eval::evaluate_condition(part, &facts) {
                        Ok(true) => "true ",
                        Ok(false) => "FALSE",
                        Err(_) => "error",
                    };
                    println!("         {verdict}        {part}");
                }
            }
        }
    }
    println!(
        "{} fired, {} errors{}",
        evaluation.fired.len(),
        evaluation.errors.len(),
        stopped_by.map(|s| format!(", stopped by \"{s}\"")).unwrap_or_default()
    );
    Ok(())
}

/// Splits a condition at its top-level `&&` (outside brackets and strings).
fn conjuncts(source: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut current = String::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            current.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                current.push(c);
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
            }
            '&' if depth == 0 && chars.peek() == Some(&'&') => {
                chars.next();
                parts.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    parts.push(current.trim().to_string());
    parts.retain(|p| !p.is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::conjuncts;

    #[test]
    fn splits_top_level_conjunctions_only() {
        assert_eq!(
            conjuncts(r#"case.a == "x && y" && (b || c && d) && e"#),
            vec![r#"case.a == "x && y""#, "(b || c && d)", "e"]
        );
    }
}
