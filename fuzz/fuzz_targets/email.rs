//! Any bytes through the email intake's parse and classification (`ladder_core::email`): a
//! message is accepted, declined (auto-reply, bulk, bounce, loop) or refused with a precise
//! reason — never a panic, and what is kept stays within the intake's limits.
#![no_main]

use ladder_core::email::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_REFERENCES, Parsed, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Parsed::Accept(email)) = parse(data, "ladder.invalid") {
        assert!(email.references.len() <= MAX_REFERENCES);
        assert!(email.attachments.len() <= MAX_ATTACHMENTS);
        assert!(email.attachments.iter().all(|a| a.bytes.len() <= MAX_ATTACHMENT_BYTES));
        assert!(email.subject.chars().count() <= 500);
        assert!(email.from.email.as_deref().is_some_and(|e| e.contains('@')));
    }
});
