//! Small field validators shared by commands and directory entities.

use crate::error::DomainError;

/// A required free-text field: not blank, at most `max` characters.
pub fn non_empty(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(field, "is required and must not be blank"));
    }
    let n = value.chars().count();
    if n > max {
        return Err(DomainError::invalid(field, format!("is {n} characters long; the limit is {max}")));
    }
    Ok(())
}

/// A short machine handle: 1–64 of `a-z 0-9 - _ .`.
pub fn handle(field: &str, value: &str) -> Result<(), DomainError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            format!("'{value}' is not a valid handle; use 1–64 characters from a-z, 0-9, '-', '_' and '.'"),
        ))
    }
}
