//! `ladder bench email`: inbound email through the intake — parse (mail-parser, on the
//! blocking threads), classify, thread and write — on a real store. One message in five
//! starts a thread from a new sender (a new customer and case); the others reply to the
//! thread's previous message (threaded by In-Reply-To onto its case).

use std::time::Instant;

use jiff::Timestamp;
use ladder_engine::MailIntake;
use ladder_engine::credentials::principal_of;
use ladder_engine::intake::Intake;

use super::measure::report;
use super::pg_schema;
use super::world::{BenchWorld, bench_world_at};

/// Messages per thread: the opening one and its replies.
const THREAD: usize = 5;

/// A raw message: message `i` of thread `t` (from its own sender), replying to the one before.
fn message(t: usize, i: usize) -> Vec<u8> {
    let reply = if i == 0 {
        String::new()
    } else {
        format!("In-Reply-To: <t{t}-m{}@bench.example>\r\nReferences: <t{t}-m0@bench.example>\r\n", i - 1)
    };
    format!(
        "From: Customer {t} <customer{t}@bench.example>\r\nTo: support@help.example\r\n\
         Subject: Order {t} has not arrived\r\nMessage-ID: <t{t}-m{i}@bench.example>\r\n{reply}\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMessage {i}: my order {t} is late.\r\n\r\n\
         On Mon, Support wrote:\r\n> We are looking into it.\r\n\
         --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Message {i}: my order {t} is late.</p>\r\n--b--\r\n"
    )
    .into_bytes()
}

pub(super) async fn bench_email(messages: usize, concurrency: usize, database: Option<String>) -> anyhow::Result<()> {
    // On PostgreSQL, a schema of this run's own; both it and the directory go when it is dropped.
    let storage = pg_schema::BenchStorage::new("email", database.as_deref())?;
    let location = &storage.location;
    let BenchWorld { engine, admin, .. } = bench_world_at(location).await?;
    let principal = principal_of(&admin);
    let threads = messages.div_ceil(THREAD).max(concurrency);
    println!(
        "email bench: {} messages ({threads} threads of {THREAD}: a new sender, then replies by In-Reply-To), \
         {concurrency} concurrent senders, parse + classify + thread + write, data in {}",
        threads * THREAD,
        location.redacted()
    );
    let intake = std::sync::Arc::new(MailIntake::default());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (engine, principal, intake) = (engine.clone(), principal.clone(), intake.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let (mut opened, mut threaded) = (0usize, 0usize);
            for t in (w..threads).step_by(concurrency) {
                for i in 0..THREAD {
                    let raw = message(t, i);
                    let at = Instant::now();
                    match engine.take_in_email(&principal, raw, &intake, Timestamp::now()).await? {
                        Intake::Opened(_) => opened += 1,
                        Intake::Threaded(_) => threaded += 1,
                        other => anyhow::bail!("message {i} of thread {t}: {other:?}"),
                    }
                    samples.push(at.elapsed());
                }
            }
            anyhow::Ok((samples, opened, threaded))
        }));
    }
    let (mut samples, mut opened, mut threaded) = (Vec::new(), 0, 0);
    for t in tasks {
        let (s, o, th) = t.await??;
        samples.extend(s);
        opened += o;
        threaded += th;
    }
    let elapsed = started.elapsed();
    report("inbound email (parse + thread + write)", samples, elapsed);
    println!("opened {opened} cases, threaded {threaded} replies in {:.2}s", elapsed.as_secs_f64());
    Ok(())
}
