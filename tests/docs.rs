//! The docs are part of the product: every source path and item they name must exist.
//!
//! References in `docs/*.md` and `README.md` are written as `src/path.rs` (the file must exist),
//! `src/path.rs::function`, `src/path.rs::Type` or `src/path.rs::Type::method`, and the same
//! with `tests/`, `examples/` or `benches/` for test names and example code. Names are matched
//! exactly: `fn spawn` is not satisfied by `fn spawn_named`, and `Type::method` must be a `fn
//! method` inside an `impl … Type` (or `trait Type`) block of that file. This test fails when a
//! rename leaves the course behind.

// Reads files, checks no unsafe code: nothing for Miri here (and its isolation forbids opendir).
#![cfg(not(miri))]

use std::fs;
use std::path::{Path, PathBuf};

/// The folders a reference may point into.
const ROOTS: [&str; 4] = ["src/", "tests/", "examples/", "benches/"];

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

/// One reference: a file, and the path of items inside it (`["Type", "method"]`, or empty).
#[derive(Debug, PartialEq)]
struct Reference {
    /// The file, relative to the crate root.
    path: String,
    /// The item path after the file: `Type::method` → `["Type", "method"]`.
    items: Vec<String>,
}

/// Finds every `src/…rs[::item…]` (and `tests/`, `examples/`, `benches/`) reference in `text`.
fn references(text: &str) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut rest = text;
    while let Some(start) = ROOTS.iter().filter_map(|r| rest.find(r)).min() {
        let preceded = rest[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '/' || c == '_' || c == '.');
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || "/_.:-".contains(c)))
            .unwrap_or(tail.len());
        let token = tail[..end].trim_end_matches(['.', ':']);
        rest = &tail[end.max(1)..];
        if preceded {
            continue; // part of a longer path, e.g. `../shared/bench/…`
        }
        let Some(rs) = token.find(".rs") else {
            continue; // a directory such as `src/executor/`
        };
        let items = token[rs + 3..]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        refs.push(Reference {
            path: token[..rs + 3].to_string(),
            items,
        });
    }
    refs
}

/// True if `text` has `word` as a whole identifier right after `prefix` (`fn spawn(` yes,
/// `fn spawn_named(` no).
fn defines(text: &str, prefix: &str, word: &str) -> bool {
    let needle = format!("{prefix}{word}");
    text.match_indices(&needle).any(|(at, _)| {
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after_ok = text[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        before_ok && after_ok
    })
}

/// The bodies of `impl … Type …` and `trait Type` blocks in `source`.
fn blocks_of<'a>(source: &'a str, ty: &str) -> Vec<&'a str> {
    let mut blocks = Vec::new();
    for (at, line) in line_starts(source) {
        let trimmed = line.trim_start();
        let header = trimmed.split('{').next().unwrap_or("");
        let is_impl = trimmed.starts_with("impl") && impl_target(header) == Some(ty);
        let is_trait = (trimmed.starts_with("trait ")
            || trimmed.starts_with("pub trait ")
            || trimmed.starts_with("pub(crate) trait "))
            && defines(header, "trait ", ty);
        if !(is_impl || is_trait) {
            continue;
        }
        let Some(open) = source[at..].find('{') else {
            continue;
        };
        let body = &source[at + open..];
        let mut depth = 0usize;
        let mut end = body.len();
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        blocks.push(&body[..end]);
    }
    blocks
}

/// The type an `impl` header is for: `impl<T> Trait for Type<T>` → `Type`.
fn impl_target(header: &str) -> Option<&str> {
    let after_impl = header.trim_start().strip_prefix("impl")?;
    // Skip the generic parameters of the impl itself.
    let mut rest = after_impl.trim_start();
    if rest.starts_with('<') {
        let mut depth = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        rest = &rest[i + 1..];
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let target = match rest.find(" for ") {
        Some(at) => &rest[at + 5..],
        None => rest,
    };
    let target = target.trim().trim_start_matches("dyn ");
    let end = target
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(target.len());
    Some(&target[..end])
}

/// Each line of `text` with its byte offset.
fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let at = *offset;
        *offset += line.len();
        Some((at, line))
    })
}

/// Why `reference` does not resolve in `source`, or `None` if it does.
fn unresolved(source: &str, reference: &Reference) -> Option<String> {
    let path = &reference.path;
    match reference.items.as_slice() {
        [] => None,
        [name] => {
            let is_type = name.starts_with(|c: char| c.is_uppercase());
            let found = if is_type {
                ["struct ", "enum ", "trait ", "type ", "union "]
                    .iter()
                    .any(|kw| defines(source, kw, name))
            } else {
                defines(source, "fn ", name)
                    || defines(source, "const ", name)
                    || defines(source, "static ", name)
                    || defines(source, "macro_rules! ", name)
            };
            (!found).then(|| format!("{path} defines no `{name}`"))
        }
        [ty, method] => {
            let blocks = blocks_of(source, ty);
            if blocks.is_empty() {
                return Some(format!("{path} has no `impl {ty}` or `trait {ty}`"));
            }
            let found = blocks.iter().any(|b| defines(b, "fn ", method));
            (!found).then(|| format!("{path}: no `fn {method}` in an impl of `{ty}`"))
        }
        longer => Some(format!("{path}::{}: too deep to check", longer.join("::"))),
    }
}

#[test]
fn every_path_and_item_named_in_the_docs_exists() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in doc_files() {
        let text = fs::read_to_string(&doc).expect("readable doc");
        for reference in references(&text) {
            checked += 1;
            let Ok(source) = fs::read_to_string(Path::new(&reference.path)) else {
                missing.push(format!(
                    "{}: {} does not exist",
                    doc.display(),
                    reference.path
                ));
                continue;
            };
            if let Some(why) = unresolved(&source, &reference) {
                missing.push(format!("{}: {why}", doc.display()));
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
fn the_reference_parser_reads_every_form() {
    let refs = references(
        "see `src/timer.rs::Timers::take_due`, src/executor/ or `src/sys.rs`, \
         tests/docs.rs::a_test and ../shared/bench/src/x.rs.",
    );
    let simple: Vec<(&str, Vec<&str>)> = refs
        .iter()
        .map(|r| {
            (
                r.path.as_str(),
                r.items.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        simple,
        [
            ("src/timer.rs", vec!["Timers", "take_due"]),
            ("src/sys.rs", vec![]),
            ("tests/docs.rs", vec!["a_test"]),
        ]
    );
}

#[test]
fn names_resolve_exactly() {
    let source = "pub fn spawn_named() {}\nimpl<T> Future for JoinHandle<T> {\n    fn poll() {}\n}\n\
                  impl Other {\n    fn abort() {}\n}\npub struct JoinHandle;\n";
    let check = |items: &[&str]| {
        unresolved(
            source,
            &Reference {
                path: "x.rs".into(),
                items: items.iter().map(|s| s.to_string()).collect(),
            },
        )
    };
    assert!(check(&["spawn"]).is_some(), "a prefix of a longer name");
    assert!(check(&["spawn_named"]).is_none());
    assert!(check(&["JoinHandle", "poll"]).is_none());
    assert!(
        check(&["JoinHandle", "abort"]).is_some(),
        "abort is another type's"
    );
    assert!(check(&["JoinHandle"]).is_none());
    assert!(check(&["Missing"]).is_some());
}

/// Lines of a source file without its unit tests (what the README's sizes count).
fn lines_without_tests(source: &str) -> usize {
    let lines: Vec<&str> = source.lines().collect();
    lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod tests {"))
        .unwrap_or(lines.len())
}

/// The README's "first read" table: `(file, lines)` per row, and the total row.
fn first_read_table(readme: &str) -> (Vec<(String, usize)>, usize) {
    let start = readme
        .find("**First read")
        .expect("README has a **First read** table");
    let mut rows = Vec::new();
    let mut total = 0;
    for line in readme[start..].lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(lines) = cells
            .get(2)
            .and_then(|c| c.replace(',', "").parse::<usize>().ok())
        else {
            continue; // the header and its rule
        };
        let file = cells[1].trim_matches('`');
        if file.is_empty() {
            total = lines;
        } else {
            rows.push((file.to_string(), lines));
        }
    }
    (rows, total)
}

#[test]
fn the_readme_first_read_is_short_and_its_sizes_are_true() {
    let readme = fs::read_to_string("README.md").expect("README.md");
    let (rows, total) = first_read_table(&readme);
    assert!(
        rows.len() >= 10,
        "the first-read table lists the path: {rows:?}"
    );
    let mut wrong = Vec::new();
    for (file, listed) in &rows {
        let source = fs::read_to_string(file).unwrap_or_else(|_| panic!("{file} exists"));
        let actual = lines_without_tests(&source);
        // Sizes are a guide, not a contract: within 10 % (or 15 lines) of the truth.
        if actual.abs_diff(*listed) > (listed / 10).max(15) {
            wrong.push(format!(
                "{file}: README says {listed} lines, it has {actual}"
            ));
        }
    }
    let sum: usize = rows.iter().map(|(_, n)| n).sum();
    assert!(wrong.is_empty(), "update the README:\n{}", wrong.join("\n"));
    assert_eq!(total, sum, "the total row is the sum of the rows");
    assert!(
        total <= 3000,
        "the essential path should stay readable in one sitting: {total} lines > 3,000"
    );
}
