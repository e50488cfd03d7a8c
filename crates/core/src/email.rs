//! Inbound email, parsed and classified without I/O: a raw RFC 5322 message (bytes, as an
//! MTA hands it over) becomes an [`InboundEmail`] — who sent it, what it threads onto, its
//! text with the quoted reply trimmed, its attachments — or a [`Declined`] reason
//! (auto-replies, bounces, loops), or a precise [`EmailRefusal`]. MIME, encodings and
//! charsets are `mail-parser`'s; this module decides what they mean for a case.
//! The engine runs [`parse`] off the async workers and threads the result.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

use crate::directory::{Requester, normalise_email};

/// The largest raw message taken in (HTTP body and SMTP `DATA` alike): 10 MiB.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// The largest attachment kept: 5 MiB. A larger one is left out and named in the message.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// The most attachments kept from one message.
pub const MAX_ATTACHMENTS: usize = 20;
/// The most Message-IDs of `In-Reply-To` and `References` looked up for threading.
pub const MAX_REFERENCES: usize = 50;
/// The longest subject kept (characters); a case's subject is at most 500.
const MAX_SUBJECT_CHARS: usize = 500;
/// The longest text kept of one message (characters), as a case's message allows.
const MAX_TEXT_CHARS: usize = crate::cmd::MAX_TEXT;

/// One attachment kept with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A message worth a case: from a person, not from a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// Without angle brackets; made from the content's hash when the message had none.
    pub message_id: String,
    /// `In-Reply-To` then `References` (newest first), without angle brackets, at most
    /// [`MAX_REFERENCES`].
    pub references: Vec<String>,
    /// The case number named in the subject as `[#1234]`, if any.
    pub case_number: Option<u64>,
    pub from: Requester,
    pub subject: String,
    /// The text (from the HTML part when there is no text part), the quoted reply trimmed.
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// Attachments left out, with why (too large, too many).
    pub left_out: Vec<String>,
}

/// Why a message is taken in but turns into no case (answered 202 with the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Declined {
    /// `Auto-Submitted` other than `no`, `X-Autoreply`, `X-Autorespond`, `Precedence: auto_reply`.
    AutoReply,
    /// `Precedence: bulk`, `junk` or `list`, or a `List-Id`.
    Bulk,
    /// A delivery status notification (`multipart/report`) or a mailer daemon's message.
    Bounce,
    /// A message of our own coming back (its Message-ID is in our domain).
    Loop,
}

impl Declined {
    pub fn as_str(self) -> &'static str {
        match self {
            Declined::AutoReply => "auto_reply",
            Declined::Bulk => "bulk",
            Declined::Bounce => "bounce",
            Declined::Loop => "loop",
        }
    }
}

/// Why a message cannot be taken in at all: each maps to one HTTP status and SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailRefusal {
    /// No bytes (400).
    #[error("the message is empty")]
    Empty,
    /// Larger than [`MAX_MESSAGE_BYTES`] (413).
    #[error("the message has {0} bytes; the limit is {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// Not a message: no header section, or nothing MIME can read (422), naming what is wrong.
    #[error("{0}")]
    Malformed(String),
}

/// What the intake makes of a raw message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Accept(Box<InboundEmail>),
    Decline(Declined),
}

/// Parses and classifies `raw`. `own_domain` is the domain of the Message-IDs Ladder writes
/// (a message carrying one is our own, come back: a loop). Bounded: the size is checked
/// before MIME is read, and what is kept is cut to the limits above.
pub fn parse(raw: &[u8], own_domain: &str) -> Result<Parsed, EmailRefusal> {
    if raw.is_empty() {
        return Err(EmailRefusal::Empty);
    }
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(EmailRefusal::TooLarge(raw.len()));
    }
    if !has_header_section(raw) {
        return Err(EmailRefusal::Malformed(
            "no header section: the message must start with header fields (Name: value) and a blank line".into(),
        ));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| EmailRefusal::Malformed("the message could not be read as RFC 5322 / MIME".into()))?;

    if let Some(declined) = declined(&message, own_domain) {
        return Ok(Parsed::Decline(declined));
    }
    let sender = message.from().and_then(|a| a.first());
    let address = sender.and_then(|a| a.address()).map(str::trim).filter(|a| !a.is_empty());
    let Some(address) = address else {
        return Err(EmailRefusal::Malformed("the message has no From address".into()));
    };
    let email = normalise_email("From", address).map_err(|_| {
        EmailRefusal::Malformed(format!("the From address '{}' is not an email address", clip(address, 100)))
    })?;
    let name = sender.and_then(|a| a.name()).map(|n| clip(n.trim(), 200)).filter(|n| !n.is_empty());

    let message_id = match message.message_id() {
        Some(id) if !id.trim().is_empty() => clip(id.trim(), 250),
        _ => format!("{}@no-message-id.invalid", content_hash(raw)),
    };
    let mut references = ids(message.in_reply_to());
    for r in ids(message.references()).into_iter().rev() {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    references.truncate(MAX_REFERENCES);

    let subject = message.subject().map(|s| clip(s.trim(), MAX_SUBJECT_CHARS)).unwrap_or_default();
    let case_number = case_reference(&subject);
    let body = message.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let text = clip(trim_quoted_reply(&body).trim(), MAX_TEXT_CHARS);

    let mut attachments = Vec::new();
    let mut left_out = Vec::new();
    for (i, part) in message.attachments().enumerate() {
        let filename = part.attachment_name().map(|n| clip(n, 200)).unwrap_or_else(|| format!("attachment-{}", i + 1));
        let content_type = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(sub) => format!("{}/{}", c.ctype(), sub),
                None => c.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        let bytes = part.contents();
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            left_out.push(format!("{filename}: {} bytes, over the {MAX_ATTACHMENT_BYTES}-byte limit", bytes.len()));
        } else if attachments.len() >= MAX_ATTACHMENTS {
            left_out.push(format!("{filename}: more than {MAX_ATTACHMENTS} attachments"));
        } else {
            attachments.push(Attachment { filename, content_type: clip(&content_type, 100), bytes: bytes.to_vec() });
        }
    }
    let from = Requester { name, email: Some(email), phone: None, handle: None };
    Ok(Parsed::Accept(Box::new(InboundEmail {
        message_id,
        references,
        case_number,
        from,
        subject,
        text,
        attachments,
        left_out,
    })))
}

/// Whether the message starts with a header field and has a blank line after its headers
/// (a message cut inside its header section has none).
fn has_header_section(raw: &[u8]) -> bool {
    let first_line = raw.split(|b| *b == b'\n').next().unwrap_or_default();
    let named = first_line
        .iter()
        .position(|b| *b == b':')
        .is_some_and(|colon| colon > 0 && first_line[..colon].iter().all(|b| b.is_ascii_graphic() && *b != b':'));
    named && (raw.windows(2).any(|w| w == b"\n\n") || raw.windows(4).any(|w| w == b"\r\n\r\n"))
}

/// Why a message is declined, if it is.
fn declined(message: &mail_parser::Message, own_domain: &str) -> Option<Declined> {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if message.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart") && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    }) {
        return Some(Declined::Bounce);
    }
    let sender =
        message.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_ascii_lowercase();
    if sender.starts_with("mailer-daemon@") || sender.starts_with("postmaster@") {
        return Some(Declined::Bounce);
    }
    let own = format!("@{}", own_domain.to_ascii_lowercase());
    let ours = |id: &str| id.to_ascii_lowercase().ends_with(&own);
    if message.message_id().is_some_and(ours) {
        return Some(Declined::Loop);
    }
    if header("Auto-Submitted").is_some_and(|v| !v.starts_with("no"))
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || header("X-Auto-Response-Suppress").is_some_and(|v| v.contains("all") || v.contains("autoreply"))
    {
        return Some(Declined::AutoReply);
    }
    match header("Precedence").as_deref() {
        Some("auto_reply") => return Some(Declined::AutoReply),
        Some("bulk" | "junk" | "list") => return Some(Declined::Bulk),
        _ => {}
    }
    if header("List-Id").is_some() {
        return Some(Declined::Bulk);
    }
    None
}

/// The Message-IDs of a header (`In-Reply-To`, `References`), without angle brackets.
fn ids(value: &HeaderValue) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![clip(t.trim(), 250)],
        HeaderValue::TextList(list) => list.iter().map(|t| clip(t.trim(), 250)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

/// The case number a subject names as `[#1234]` (the first such reference).
pub fn case_reference(subject: &str) -> Option<u64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') && digits.len() <= 18 {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// The text above the quoted reply: cut at the first line that introduces a quote (`On …
/// wrote:`, `-----Original Message-----`, an Outlook separator, `From:` after a blank line)
/// or at a trailing block of `>` lines, and before a `-- ` signature.
pub fn trim_quoted_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let introduces = (t.starts_with("On ") && t.ends_with("wrote:"))
            || t.starts_with("-----Original Message-----")
            || t.starts_with("________________________________")
            || (*line == "-- ")
            || (t.starts_with("From:") && i > 0 && lines[i - 1].trim().is_empty());
        if introduces {
            end = i;
            break;
        }
    }
    // A trailing block of quoted lines (and the blank lines around it) goes too.
    while end > 0 && (lines[end - 1].trim_start().starts_with('>') || lines[end - 1].trim().is_empty()) {
        end -= 1;
    }
    let kept = lines[..end].join("\n");
    // A reply that is nothing but a quote keeps its text rather than becoming empty.
    if kept.trim().is_empty() { text.trim().to_string() } else { kept }
}

/// At most `max` characters of `s`.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A short hex digest of the message, for a Message-ID when it had none (FNV-1a, 64 bits:
/// stable across builds, not a security measure).
fn content_hash(raw: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_replies_are_trimmed() {
        let reply = "Thanks, that worked.\n\nOn Mon, 7 Dec 2026 at 10:00, Support <help@x.com> wrote:\n> Try again\n";
        assert_eq!(trim_quoted_reply(reply).trim(), "Thanks, that worked.");
        assert_eq!(trim_quoted_reply("Yes\n\n> old\n> older\n").trim(), "Yes");
        assert_eq!(trim_quoted_reply("Yes\n-- \nJane\n").trim(), "Yes");
        assert_eq!(trim_quoted_reply("> only a quote").trim(), "> only a quote");
    }

    #[test]
    fn a_subject_names_a_case_as_bracketed_number() {
        assert_eq!(case_reference("Re: [#1234] Refund"), Some(1234));
        assert_eq!(case_reference("[#] [#12a] [#77]"), Some(77));
        assert_eq!(case_reference("#1234"), None);
    }

    #[test]
    fn refusals_are_precise() {
        assert_eq!(parse(b"", "x.test"), Err(EmailRefusal::Empty));
        assert!(matches!(parse(&vec![b'a'; MAX_MESSAGE_BYTES + 1], "x.test"), Err(EmailRefusal::TooLarge(_))));
        assert!(matches!(parse(b"just some words\n\nand more", "x.test"), Err(EmailRefusal::Malformed(_))));
        assert!(matches!(parse(b"Subject: cut in the head", "x.test"), Err(EmailRefusal::Malformed(_))));
        let no_from = b"Subject: hi\r\n\r\nbody\r\n";
        assert!(matches!(parse(no_from, "x.test"), Err(EmailRefusal::Malformed(m)) if m.contains("From")));
    }
}
