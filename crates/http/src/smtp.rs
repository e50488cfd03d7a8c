//! The built-in SMTP listener (`ladder serve --smtp-listen 127.0.0.1:2525`): a small,
//! bounded RFC 5321 server that receives mail for the support inbox and hands each message
//! to the engine's intake — the same as `POST /api/v1/inbound/email`. It answers `250` to
//! `DATA` only once the intake's write is committed, so an MTA that got `250` may drop its
//! copy; on a temporary failure it answers `451` and the MTA retries.
//!
//! Commands: HELO, EHLO (advertising SIZE and 8BITMIME), MAIL (with `SIZE=`), RCPT, DATA,
//! RSET, NOOP, VRFY (252), QUIT. Bounds: at most [`SmtpLimits::connections`] sessions (one
//! more is answered `421` and closed); a command line of at most 512 bytes and a text line of
//! at most [`SmtpLimits::line`] bytes; a message of at most [`SmtpLimits::message`] bytes
//! (announced by `SIZE`, refused early when `MAIL FROM` declares more, and cut off with `552`
//! when the data runs over); [`SmtpLimits::recipients`] recipients; every read within
//! [`SmtpLimits::timeout`]; a session ends after [`MAX_ERRORS`] refused commands. No TLS and
//! no authentication: it is meant for loopback or a private network behind the MTA.

use std::sync::Arc;
use std::time::Duration;

use ladder_core::access::Principal;
use ladder_core::directory::Role;
use ladder_core::email::{EmailRefusal, MAX_MESSAGE_BYTES};
use ladder_core::ids::UserId;
use ladder_engine::intake::{Intake, IntakeError, MailIntake};
use ladder_engine::{Engine, StoreError};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Refused commands after which a session is closed.
pub const MAX_ERRORS: u32 = 10;
/// The longest command line (RFC 5321 §4.5.3.1.4: 512 octets with CRLF).
const COMMAND_LINE: usize = 512;

/// The listener's bounds.
#[derive(Debug, Clone)]
pub struct SmtpLimits {
    /// The largest message (bytes, after dot-unstuffing).
    pub message: usize,
    /// The longest text line in `DATA` (bytes, with CRLF). RFC 5321 asks for 1,000; mail
    /// with long 8-bit lines is common, so more is taken.
    pub line: usize,
    pub recipients: usize,
    /// Sessions at once.
    pub connections: usize,
    /// How long the listener waits for the client's next line.
    pub timeout: Duration,
    /// The name in the greeting.
    pub hostname: String,
}

impl Default for SmtpLimits {
    fn default() -> Self {
        SmtpLimits {
            message: MAX_MESSAGE_BYTES,
            line: 10_000,
            recipients: 100,
            connections: 32,
            timeout: Duration::from_secs(60),
            hostname: "ladder".into(),
        }
    }
}

/// Whom mail over SMTP is taken in as: the listener itself, with an integration's rights.
fn listener_principal() -> Principal {
    Principal { user_id: UserId(uuid::Uuid::nil()), name: "smtp listener".into(), role: Role::Admin, teams: Vec::new() }
}

/// Accepts sessions until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    mail: Arc<MailIntake>,
    limits: SmtpLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let sessions = Arc::new(Semaphore::new(limits.connections));
    let limits = Arc::new(limits);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (mut stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "smtp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = sessions.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let _ = stream.write_all(b"421 4.3.2 Too many connections, try again later\r\n").await;
            });
            continue;
        };
        let (engine, mail, limits) = (engine.clone(), mail.clone(), limits.clone());
        tokio::spawn(async move {
            let (read, write) = stream.split();
            if let Err(e) = session(read, write, &engine, &mail, &limits).await {
                tracing::debug!(%peer, error = %e, "smtp session ended");
            }
            drop(permit);
        });
    }
}

/// One transaction's state.
#[derive(Default)]
struct Envelope {
    greeted: bool,
    from: bool,
    recipients: usize,
}

/// What reading one line gave.
enum Line {
    Text(Vec<u8>),
    TooLong,
    Closed,
}

/// Reads a line of at most `max` bytes (with its end); a longer one is read to its end and
/// reported as too long, so the session stays in step.
async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>, max: usize, timeout: Duration) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = tokio::time::timeout(timeout, r.fill_buf())
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout"))??;
        if chunk.is_empty() {
            return Ok(if line.is_empty() && !too_long { Line::Closed } else { Line::Text(line) });
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if line.len() + take > max {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(take);
        if done {
            return Ok(if too_long { Line::TooLong } else { Line::Text(line) });
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// The `SIZE=` a `MAIL FROM` declares, if any.
fn declared_size(args: &str) -> Option<usize> {
    args.split_ascii_whitespace()
        .find_map(|p| p.get(..5).filter(|k| k.eq_ignore_ascii_case("SIZE=")).map(|_| &p[5..]))
        .and_then(|n| n.parse().ok())
}

async fn session<R, W>(
    read: R,
    mut w: W,
    engine: &Engine,
    mail: &MailIntake,
    limits: &SmtpLimits,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(read);
    let mut env = Envelope::default();
    let mut errors = 0;
    reply(&mut w, &format!("220 {} Ladder ESMTP ready", limits.hostname)).await?;
    loop {
        if errors >= MAX_ERRORS {
            return reply(&mut w, "421 4.7.0 Too many errors, closing").await;
        }
        let line = match read_line(&mut r, COMMAND_LINE, limits.timeout).await {
            Ok(Line::Text(l)) => l,
            Ok(Line::TooLong) => {
                errors += 1;
                reply(&mut w, "500 5.5.2 Line too long").await?;
                continue;
            }
            Ok(Line::Closed) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return reply(&mut w, "421 4.4.2 Timeout, closing").await;
            }
            Err(e) => return Err(e),
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, args) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "HELO" | "EHLO" if args.trim().is_empty() => {
                errors += 1;
                reply(&mut w, "501 5.5.4 Say who you are").await?;
            }
            "HELO" => {
                env = Envelope { greeted: true, ..Default::default() };
                reply(&mut w, &format!("250 {}", limits.hostname)).await?;
            }
            "EHLO" => {
                env = Envelope { greeted: true, ..Default::default() };
                let lines = format!(
                    "250-{}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES",
                    limits.hostname, limits.message
                );
                reply(&mut w, &lines).await?;
            }
            "MAIL" if !env.greeted => {
                errors += 1;
                reply(&mut w, "503 5.5.1 Say HELO or EHLO first").await?;
            }
            "MAIL" if env.from => {
                errors += 1;
                reply(&mut w, "503 5.5.1 Sender already given").await?;
            }
            "MAIL" if !args.to_ascii_uppercase().starts_with("FROM:") => {
                errors += 1;
                reply(&mut w, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
            }
            "MAIL" => {
                if declared_size(args).is_some_and(|n| n > limits.message) {
                    reply(&mut w, &format!("552 5.3.4 Message size exceeds the limit of {} bytes", limits.message))
                        .await?;
                } else {
                    env.from = true;
                    env.recipients = 0;
                    reply(&mut w, "250 2.1.0 OK").await?;
                }
            }
            "RCPT" if !env.from => {
                errors += 1;
                reply(&mut w, "503 5.5.1 Need MAIL before RCPT").await?;
            }
            "RCPT" if !args.to_ascii_uppercase().starts_with("TO:") => {
                errors += 1;
                reply(&mut w, "501 5.5.4 Syntax: RCPT TO:<address>").await?;
            }
            "RCPT" if env.recipients >= limits.recipients => {
                reply(&mut w, "452 4.5.3 Too many recipients").await?;
            }
            "RCPT" => {
                env.recipients += 1;
                reply(&mut w, "250 2.1.5 OK").await?;
            }
            "DATA" if env.recipients == 0 => {
                errors += 1;
                reply(&mut w, "503 5.5.1 Need RCPT before DATA").await?;
            }
            "DATA" => {
                reply(&mut w, "354 End data with <CR><LF>.<CR><LF>").await?;
                let answer = match read_data(&mut r, limits).await {
                    Ok(Data::Message(raw)) => take_in(engine, mail, raw).await,
                    Ok(Data::TooLarge) => {
                        format!("552 5.3.4 Message size exceeds the limit of {} bytes", limits.message)
                    }
                    Ok(Data::LineTooLong) => format!("500 5.5.2 A line is longer than {} bytes", limits.line),
                    Ok(Data::Closed) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                        return reply(&mut w, "421 4.4.2 Timeout, closing").await;
                    }
                    Err(e) => return Err(e),
                };
                env.from = false;
                env.recipients = 0;
                reply(&mut w, &answer).await?;
            }
            "RSET" => {
                env.from = false;
                env.recipients = 0;
                reply(&mut w, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 OK").await?,
            "VRFY" => reply(&mut w, "252 2.1.5 Cannot VRFY; send some mail").await?,
            "QUIT" => return reply(&mut w, "221 2.0.0 Bye").await,
            _ => {
                errors += 1;
                reply(&mut w, "502 5.5.2 Command not recognized").await?;
            }
        }
    }
}

enum Data {
    Message(Vec<u8>),
    TooLarge,
    LineTooLong,
    Closed,
}

/// Reads `DATA` to its lone `.` line, undoing dot-stuffing; a message over the limit or a
/// line over the limit is read to its end and reported as such (nothing kept).
async fn read_data<R: AsyncRead + Unpin>(r: &mut BufReader<R>, limits: &SmtpLimits) -> std::io::Result<Data> {
    let mut message = Vec::new();
    let (mut too_large, mut too_long) = (false, false);
    loop {
        let line = match read_line(r, limits.line, limits.timeout).await? {
            Line::Text(l) => l,
            Line::TooLong => {
                too_long = true;
                message.clear();
                continue;
            }
            Line::Closed => return Ok(Data::Closed),
        };
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        if too_large || too_long {
            continue;
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if message.len() + line.len() > limits.message {
            too_large = true;
            message = Vec::new();
            continue;
        }
        message.extend_from_slice(line);
    }
    Ok(if too_long {
        Data::LineTooLong
    } else if too_large {
        Data::TooLarge
    } else {
        Data::Message(message)
    })
}

/// Hands a message to the intake and words its answer as SMTP.
async fn take_in(engine: &Engine, mail: &MailIntake, raw: Vec<u8>) -> String {
    match engine.take_in_email(&listener_principal(), raw, mail, engine.now()).await {
        Ok(Intake::Opened(case)) => format!("250 2.0.0 OK: opened case #{}", case.number),
        Ok(Intake::Threaded(case)) => format!("250 2.0.0 OK: added to case #{}", case.number),
        Ok(Intake::Declined(reason)) => format!("250 2.0.0 OK: accepted, no case ({})", reason.as_str()),
        Ok(Intake::Duplicate(_)) => "250 2.0.0 OK: already taken in".into(),
        Err(IntakeError::Refused(EmailRefusal::TooLarge(_))) => "552 5.3.4 Message too large".into(),
        Err(IntakeError::Refused(refusal)) => format!("554 5.6.0 {}", refusal.to_string().replace(['\r', '\n'], " ")),
        Err(IntakeError::Store(StoreError::Domain(e))) => {
            format!("554 5.6.0 {}", e.to_string().replace(['\r', '\n'], " "))
        }
        Err(IntakeError::Store(e)) => {
            tracing::warn!(error = %e, "smtp: could not take in a message");
            "451 4.3.0 Could not store the message now; try again later".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_from_declares_its_size() {
        assert_eq!(declared_size("FROM:<a@b.c> SIZE=1234"), Some(1234));
        assert_eq!(declared_size("FROM:<a@b.c> size=9 BODY=8BITMIME"), Some(9));
        assert_eq!(declared_size("FROM:<a@b.c>"), None);
    }

    #[tokio::test]
    async fn long_lines_are_read_to_their_end_and_refused() {
        let input = format!("{}\r\nNOOP\r\n", "x".repeat(2000));
        let mut r = BufReader::with_capacity(64, input.as_bytes());
        assert!(matches!(read_line(&mut r, 512, Duration::from_secs(1)).await.unwrap(), Line::TooLong));
        assert!(
            matches!(read_line(&mut r, 512, Duration::from_secs(1)).await.unwrap(), Line::Text(l) if l == b"NOOP\r\n")
        );
        assert!(matches!(read_line(&mut r, 512, Duration::from_secs(1)).await.unwrap(), Line::Closed));
    }

    #[tokio::test]
    async fn data_is_unstuffed_and_bounded() {
        let limits = SmtpLimits { message: 20, ..Default::default() };
        let mut r = BufReader::new(&b"..dot\r\nline\r\n.\r\n"[..]);
        assert!(matches!(read_data(&mut r, &limits).await.unwrap(), Data::Message(m) if m == b".dot\r\nline\r\n"));
        let mut r = BufReader::new(&b"0123456789\r\n0123456789\r\n.\r\nQUIT\r\n"[..]);
        assert!(matches!(read_data(&mut r, &limits).await.unwrap(), Data::TooLarge));
        assert!(
            matches!(read_line(&mut r, 512, Duration::from_secs(1)).await.unwrap(), Line::Text(l) if l == b"QUIT\r\n")
        );
    }
}
