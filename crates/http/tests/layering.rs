//! The layering rules of ARCHITECTURE.md that the compiler does not check: the HTTP layer
//! does not depend on the store, and no handler decides a permission itself.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_http_crate_does_not_depend_on_the_store() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("ladder-store"), "crates/http/Cargo.toml names ladder-store");
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("ladder_store"), "{} names ladder_store", file.display());
    }
}

#[test]
fn no_handler_compares_roles_or_checks_scope_itself() {
    // A permission is `core::access`'s: handlers ask the engine (`Engine::check`, or a query
    // or command that checks), and the console asks through `web::allow`.
    let forbidden =
        [".role >", ".role <", ".role ==", "role >= Role", "role < Role", "can_view(", "case_scope()", ".may("];
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 20, "the sources were found");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for pattern in forbidden {
                assert!(
                    !code.contains(pattern),
                    "{}:{}: `{pattern}` decides a permission: {line}",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}
