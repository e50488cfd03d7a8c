//! The matrix parser and linter on any text: every outcome is a list of diagnostics (never a
//! panic, a stack overflow or a stall), each with a position inside the text; a matrix that
//! lints clean compiles.
#![no_main]

use ladder_core::matrix::{self, CompiledMatrix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let diagnostics = matrix::check(source, "fuzz.toml", None);
    let lines = source.split('\n').count();
    for d in &diagnostics {
        assert!(d.line <= lines, "line {} of a {lines}-line text: {d:?}", d.line);
        if d.line > 0 {
            let line = source.split('\n').nth(d.line - 1).unwrap_or_default();
            assert!(d.column >= 1 && d.column <= line.chars().count() + 1, "column {} of {line:?}: {d:?}", d.column);
        }
    }
    if diagnostics.iter().all(|d| !d.is_error()) {
        let (parsed, _) = matrix::parse(source, "fuzz.toml").expect("a matrix without errors parses");
        if let Err(errors) = CompiledMatrix::compile(parsed, 1) {
            panic!("a matrix that lints clean does not compile: {errors:?}");
        }
    }
});
