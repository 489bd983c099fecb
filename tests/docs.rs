//! The docs are part of the product: every source path and function they name must exist.
//!
//! References in `docs/*.md` and `README.md` are written as `src/path.rs` (the file must exist)
//! or `src/path.rs::function` / `src/path.rs::Type::method` (the file must also define
//! `fn function` / `fn method`). This test fails when a rename leaves the course behind.

// Reads files, checks no unsafe code: nothing for Miri here (and its isolation forbids opendir).
#![cfg(not(miri))]

use std::fs;
use std::path::{Path, PathBuf};

/// Every markdown file the learner reads.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    for entry in fs::read_dir("docs").expect("docs/ exists") {
        let path = entry.expect("readable docs/ entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

/// Splits the text into `(path, Some(function))` or `(path, None)` references.
fn references(text: &str) -> Vec<(String, Option<String>)> {
    let mut refs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("src/") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || "/_.:".contains(c)))
            .unwrap_or(tail.len());
        let token = tail[..end].trim_end_matches(['.', ':']);
        rest = &tail[end..];
        let Some(rs) = token.find(".rs") else {
            continue; // a directory such as `src/task/`
        };
        let path = token[..rs + 3].to_string();
        let function = token[rs + 3..]
            .rsplit("::")
            .next()
            .filter(|f| !f.is_empty())
            .map(str::to_string);
        refs.push((path, function));
    }
    refs
}

#[test]
fn every_source_path_and_function_named_in_the_docs_exists() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in doc_files() {
        let text = fs::read_to_string(&doc).expect("readable doc");
        for (path, function) in references(&text) {
            checked += 1;
            let Ok(source) = fs::read_to_string(Path::new(&path)) else {
                missing.push(format!("{}: {path} does not exist", doc.display()));
                continue;
            };
            if let Some(f) = function
                && !source.contains(&format!("fn {f}"))
            {
                missing.push(format!("{}: {path} has no `fn {f}`", doc.display()));
            }
        }
    }
    assert!(
        checked > 20,
        "the docs should point into the source ({checked} references)"
    );
    assert!(
        missing.is_empty(),
        "stale references:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_reference_parser_reads_both_forms() {
    let refs = references("see `src/timer.rs::Timers::take_due`, and src/task/ or `src/waker.rs`.");
    assert_eq!(
        refs,
        [
            ("src/timer.rs".to_string(), Some("take_due".to_string())),
            ("src/waker.rs".to_string(), None)
        ]
    );
}
