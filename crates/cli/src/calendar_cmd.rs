//! `ladder calendar …`: check the business calendars of a matrix file and compute a
//! deadline by hand, the way SLA clocks will (`ladder_core::sla`). Works on files alone;
//! nothing here opens the store.

use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};
use ladder_core::matrix::model::{format_duration, parse_duration};
use ladder_core::matrix::{self, Calendar, Diagnostic};
use ladder_core::sla::BusinessCalendar;

use crate::matrix_cmd::{load, print_diagnostic, read};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(clap::Subcommand)]
pub enum CalendarCommand {
    /// Check the calendars of a matrix file and show each one's weekly open hours, next
    /// holidays and overrides; exit 1 on any calendar error.
    Check {
        file: PathBuf,
        /// List holidays and overrides from this date on (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<Date>,
        /// How many holidays and overrides to list.
        #[arg(long, default_value_t = 5)]
        next: usize,
    },
    /// Compute a deadline: FROM plus DURATION of the calendar's business time.
    Add {
        /// The matrix file that defines the calendar.
        #[arg(long)]
        matrix: PathBuf,
        #[arg(long)]
        calendar: String,
        /// An RFC 3339 instant (`2026-11-27T17:00:00-05:00`), or a local date-time in the
        /// calendar's time zone (`2026-11-27T17:00`).
        #[arg(long)]
        from: String,
        /// Business time to add, written like the matrix's targets: `8h`, `1h30m`, `5d`.
        #[arg(long)]
        duration: String,
    },
}

pub fn run(command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Check { file, since, next } => {
            let since = since.unwrap_or_else(|| Timestamp::now().to_zoned(TimeZone::UTC).date());
            let errors = check(&file, since, next)?;
            if errors > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        CalendarCommand::Add { matrix, calendar, from, duration } => add(&matrix, &calendar, &from, &duration),
    }
}

/// Whether a diagnostic is about a calendar or a level's reference to one.
fn about_calendars(d: &Diagnostic) -> bool {
    d.path.starts_with("calendars") || d.path.ends_with(".calendar")
}

fn check(file: &Path, since: Date, next: usize) -> anyhow::Result<usize> {
    let source = read(file)?;
    let name = file.display().to_string();
    let (m, _) = match matrix::parse(&source, &name) {
        Ok(parsed) => parsed,
        Err(diagnostics) => {
            for d in &diagnostics {
                print_diagnostic(d, &source);
            }
            anyhow::bail!("{name} does not parse: run `ladder matrix check` on it");
        }
    };
    let diagnostics: Vec<Diagnostic> =
        matrix::check(&source, &name, None).into_iter().filter(about_calendars).collect();
    for d in &diagnostics {
        print_diagnostic(d, &source);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if m.calendars.is_empty() {
        println!("{name}: no calendars (every hour counts)");
    }
    for (cal_name, cal) in &m.calendars {
        describe(cal_name, cal, since, next);
    }
    let warnings = diagnostics.len() - errors;
    println!(
        "{} calendar{}: {errors} error{}, {warnings} warning{}",
        m.calendars.len(),
        plural(m.calendars.len()),
        plural(errors),
        plural(warnings)
    );
    Ok(errors)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn describe(name: &str, cal: &Calendar, since: Date, next: usize) {
    let weekly: SignedDuration = cal.hours.days.iter().flatten().map(|w| w.length).sum();
    println!("calendar {name} ({}): {} open a week", cal.timezone, format_duration(weekly));
    for (day, windows) in DAYS.iter().zip(&cal.hours.days) {
        let text = if windows.is_empty() {
            "closed".to_string()
        } else {
            windows.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        };
        println!("  {day}  {text}");
    }
    let mut holidays: Vec<Date> = cal.holidays.iter().copied().filter(|d| *d >= since).collect();
    holidays.sort_unstable();
    holidays.dedup();
    let shown: Vec<String> = holidays.iter().take(next).map(|d| d.strftime("%a %Y-%m-%d").to_string()).collect();
    println!(
        "  next holidays from {since}: {}{}",
        if shown.is_empty() { "none".to_string() } else { shown.join(", ") },
        if holidays.len() > next { format!(" (+{} more)", holidays.len() - next) } else { String::new() }
    );
    let overrides: Vec<String> = cal
        .overrides
        .range(since..)
        .take(next)
        .map(|(d, w)| {
            let hours = if w.is_empty() {
                "closed".to_string()
            } else {
                w.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            format!("{} {hours}", d.strftime("%a %Y-%m-%d"))
        })
        .collect();
    if !overrides.is_empty() {
        println!("  next overrides: {}", overrides.join("; "));
    }
}

fn add(file: &Path, name: &str, from: &str, duration: &str) -> anyhow::Result<()> {
    let m = load(file)?;
    let Some(cal) = m.calendars.get(name) else {
        let names: Vec<&str> = m.calendars.keys().map(String::as_str).collect();
        anyhow::bail!("no calendar '{name}' in {}; the calendars are: {}", file.display(), names.join(", "));
    };
    let business = BusinessCalendar::new(cal)?;
    let tz = business.time_zone().clone();
    let from = match from.parse::<Timestamp>() {
        Ok(t) => t,
        Err(_) => {
            let local: DateTime = from.parse().with_context(|| {
                format!("--from {from}: write an RFC 3339 instant (2026-11-27T17:00:00-05:00) or a local date-time (2026-11-27T17:00)")
            })?;
            tz.to_ambiguous_timestamp(local).compatible()?
        }
    };
    let d = parse_duration(duration)
        .with_context(|| format!("--duration {duration}: write units in descending order, e.g. 8h, 1h30m, 5d"))?;
    let due = business.add(from, d)?;
    let zoned = |t: Timestamp| -> Zoned { t.to_zoned(tz.clone()) };
    println!("calendar {name} ({}): {} of business time from {}", cal.timezone, format_duration(d), zoned(from));
    println!("deadline  {}", zoned(due).strftime("%a %Y-%m-%d %H:%M:%S %:z (%Q)"));
    println!("          {}", due.strftime("%a %Y-%m-%d %H:%M:%S UTC"));
    println!("windows crossed:");
    if d.is_zero() {
        println!("  none: a zero target falls due when the calendar is next open");
    }
    for iv in business.intervals_from(from) {
        if iv.start >= due {
            break;
        }
        if iv.end <= from {
            continue;
        }
        let (start, end) = (zoned(iv.start.max(from)), zoned(iv.end.min(due)));
        let end_text = if end.date() == start.date() {
            end.strftime("%H:%M:%S").to_string()
        } else {
            end.strftime("%a %Y-%m-%d %H:%M:%S").to_string()
        };
        println!(
            "  {} – {end_text}  {}",
            start.strftime("%a %Y-%m-%d %H:%M:%S %:z"),
            format_duration(end.timestamp().duration_since(start.timestamp()))
        );
        if iv.end >= due {
            break;
        }
    }
    Ok(())
}
