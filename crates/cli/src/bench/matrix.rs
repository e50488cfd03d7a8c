//! `ladder bench matrix`: evaluating a generated many-rule matrix against a case (with and
//! without the rule index), and `matrix check` on a large generated file.

use std::time::Instant;

use jiff::Timestamp;
use serde_json::json;

use super::measure::{ms, percentile, slowest, us};

/// A matrix of `n` rules shaped like a large contact center's: most rules test the case's
/// category (25 of them), channel or priority first, some only the customer. With
/// `functions`, every condition also calls a function, which only CEL can decide.
fn generated_matrix(n: usize, functions: bool) -> String {
    let mut s = String::from(
        "[calendars.support]\ntimezone = \"America/New_York\"\nhours = { \"mon-fri\" = \"08:00-20:00\" }\n\n\
         [[levels]]\nid = \"L1\"\nrespond = \"0m\"\n\n[[levels]]\nid = \"L2\"\nrespond = \"1h\"\ncalendar = \"support\"\n\n\
         [[levels]]\nid = \"L3\"\nrespond = \"24h\"\ncalendar = \"support\"\n\n",
    );
    let channels = ["phone", "email", "chat", "sms", "social", "web"];
    let priorities = ["low", "normal", "high", "urgent"];
    for i in 0..n {
        let category = format!("category-{}", i % 25);
        let when = match i % 10 {
            // Distinct thresholds keep every condition distinct (20,011 is prime).
            0..=5 => format!("case.category == \"{category}\" && customer.value >= {}", (i * 37) % 20_011),
            6 => format!(
                "case.channel == \"{}\" && \"tag-{}\" in case.tags && case.n_messages < {i}",
                channels[i % 6],
                i % 7
            ),
            7 => format!(
                "case.priority == \"{}\" && case.n_reopens > {} && case.n_messages < {i}",
                priorities[i % 4],
                i % 3
            ),
            8 => format!(
                "case.category == \"{category}\" && case.channel == \"{}\" && customer.value >= {i}",
                channels[i % 6]
            ),
            _ => format!("customer.value >= {} && customer.segment == \"segment-{}\"", 1000 + i, i % 5),
        };
        let when = if functions { format!("{when} && !case.subject.startsWith(\"spam-{}\")", i % 13) } else { when };
        let then = match i % 4 {
            0 => "{ escalate = \"L2\", priority = \"high\" }".to_string(),
            1 => format!("{{ tags = [\"rule-{i}\"] }}"),
            2 => "{ priority = \"urgent\" }".to_string(),
            _ => "{ notify = { who = \"assignee\", channel = \"chat\" } }".to_string(),
        };
        s.push_str(&format!("[[rules]]\nname = \"rule {i}\"\nwhen = '{when}'\nthen = {then}\n\n"));
    }
    s
}

pub(super) fn bench_matrix(n_rules: usize, evaluations: usize, check_rules: usize) -> anyhow::Result<()> {
    use ladder_core::matrix::{self, CompiledMatrix, Facts, Trigger};

    let facts = Facts {
        case: json!({
            "id": "0193a0c2-7a51-7c3e-9b1e-1f2d3c4b5a69", "number": 1042, "subject": "Charged twice",
            "description": "My card was charged twice for the November invoice.", "category": "category-3",
            "channel": "email", "priority": "normal", "status": "new", "level": "L1", "team": "frontline",
            "assigned": false, "tags": ["tag-1", "tag-4"], "custom_fields": {"order": "A-1001"},
            "n_messages": 1, "n_escalations": 0, "n_reopens": 0, "created_at": "2026-11-23T14:55:00Z",
        }),
        customer: json!({"id": "c1", "name": "Wei", "value": 12_500.0, "segment": "vip", "language": "en", "time_zone": "", "custom_fields": {}}),
        contact: json!({"channel": "email", "body": "Charged twice", "from_customer": true}),
        event: json!({"type": "opened", "version": 1}),
        now: Timestamp::now(),
    };
    for (label, functions) in [("simple tests", false), ("every condition also calls a function", true)] {
        let source = generated_matrix(n_rules, functions);
        let (parsed, _) = matrix::parse(&source, "bench.toml").map_err(|e| anyhow::anyhow!("{}", e[0]))?;
        let compiled = CompiledMatrix::compile(parsed, 1).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
        let mut fired = 0;
        let mut judged = 0;
        let mut samples = Vec::with_capacity(evaluations);
        for i in 0..evaluations + evaluations / 10 {
            let started = Instant::now();
            let e = std::hint::black_box(compiled.evaluate(Trigger::CaseOpened, std::hint::black_box(&facts)));
            let took = started.elapsed();
            // The first tenth warms caches up and is not counted.
            if i >= evaluations / 10 {
                samples.push(took);
            }
            (fired, judged) = (e.fired.len(), e.considered.len());
        }
        samples.sort();
        println!(
            "matrix evaluate ({label}): {n_rules} rules, {judged} left after the index and the JSON tests, {fired} fired; n={} p50={:.1}µs p99={:.1}µs max={:.1}µs",
            samples.len(),
            us(percentile(&samples, 0.50)),
            us(percentile(&samples, 0.99)),
            us(slowest(&samples)),
        );
        let mut unindexed = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let started = Instant::now();
            std::hint::black_box(compiled.evaluate_unindexed(Trigger::CaseOpened, std::hint::black_box(&facts)));
            unindexed.push(started.elapsed());
        }
        unindexed.sort();
        println!(
            "  every condition through CEL (no index), for comparison: n=1000 p50={:.1}µs p99={:.1}µs",
            us(percentile(&unindexed, 0.50)),
            us(percentile(&unindexed, 0.99)),
        );
    }

    let big = generated_matrix(check_rules, true);
    let mut runs = Vec::new();
    let mut n_diagnostics = 0;
    for _ in 0..5 {
        let started = Instant::now();
        n_diagnostics = matrix::check(std::hint::black_box(&big), "big.toml", None).len();
        runs.push(started.elapsed());
    }
    runs.sort();
    println!(
        "matrix check: {check_rules} rules, {} KiB, {n_diagnostics} diagnostics; 5 runs, best {:.0}ms median {:.0}ms worst {:.0}ms",
        big.len() / 1024,
        ms(runs[0]),
        ms(runs[2]),
        ms(runs[4]),
    );
    Ok(())
}
