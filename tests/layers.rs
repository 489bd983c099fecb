//! The layers of `src/` stay true: no module imports one above it.
//!
//! `src/lib.rs` and `docs/architecture.md` draw the crate as layers, each using only the layers
//! under it, so that a reader can read the files in the README's order and meet nothing they
//! have not read yet. This test reads every `crate::…` path in the code of `src/` (comments and
//! unit tests excluded: a test may drive a lower layer through the whole runtime) and fails on
//! one that points upward, or sideways into another module of the same layer.

// Reads files: nothing for Miri here (and its isolation forbids opendir).
#![cfg(not(miri))]

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use its own files and any module of a lower layer.
const LAYERS: &[&[&str]] = &[
    &["sys", "json"],
    &["clock", "stats", "trace"],
    &["reactor", "timer", "sandbox"],
    &["executor"],
    &["worker"],
    &["runtime"],
    &["task", "time", "sync", "io", "macros"],
    &["net", "signal", "test"],
];

/// Names `lib.rs` re-exports at the crate root, and the module each comes from.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("Runtime", "runtime"),
    ("Builder", "runtime"),
    ("stats", "runtime"),
    ("RuntimeStats", "stats"),
    ("LagHistogram", "stats"),
    ("LatencyHistogram", "stats"),
    ("StatsDelta", "stats"),
    ("spawn", "executor"),
    ("spawn_named", "executor"),
    ("JoinHandle", "executor"),
    ("JoinError", "executor"),
    ("spawn_blocking", "worker"),
];

/// The layer of a top-level module, or `None` if the table does not know it.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable src/ directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/net/tcp_stream.rs` → `net`.
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix("src").expect("under src/");
    let first = relative.components().next().expect("a file name");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The code of a file without comments and without its unit tests.
fn code_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut all = text.lines().peekable();
    while let Some(line) = all.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && all
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests {"))
        {
            break; // the unit tests sit at the end of the file
        }
        if trimmed.starts_with("//") {
            continue;
        }
        lines.push(line);
    }
    lines
}

/// The top-level modules a line names through `crate::…` (root re-exports resolved).
fn targets(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        let tail = &rest[at + "crate::".len()..];
        rest = tail;
        if preceded_by_ident {
            continue; // `$crate::` in a macro, or a longer name
        }
        if let Some(group) = tail.strip_prefix('{') {
            // `use crate::{a::B, c};`: every item of the group (one level is enough here).
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                found.extend(first_segment(item.trim()));
            }
        } else {
            found.extend(first_segment(tail));
        }
    }
    found
}

/// `net::TcpStream` → `net`; a root re-export → the module it comes from.
fn first_segment(path: &str) -> Option<String> {
    let end = path
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(path.len());
    let name = &path[..end];
    if name.is_empty() {
        return None;
    }
    let is_module = path[end..].starts_with("::") || layer_of(name).is_some();
    if !is_module {
        let (_, module) = ROOT_NAMES
            .iter()
            .find(|(root, _)| *root == name)
            .unwrap_or_else(|| panic!("crate::{name}: add this root name to ROOT_NAMES"));
        return Some(module.to_string());
    }
    Some(name.to_string())
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let module = module_of(file);
        if module == "lib" {
            continue; // the crate map re-exports from every layer
        }
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue; // a sibling file of unit tests
        }
        let Some(layer) = layer_of(&module) else {
            wrong.push(format!(
                "{}: module `{module}` is not in LAYERS",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).expect("readable source");
        for (number, line) in code_lines(&text).iter().enumerate() {
            for target in targets(line) {
                checked += 1;
                if target == module {
                    continue;
                }
                match layer_of(&target) {
                    Some(l) if l < layer => {}
                    Some(l) => wrong.push(format!(
                        "{}: `{module}` (layer {layer}) uses `{target}` (layer {l}): `{}`",
                        file.display(),
                        line.trim()
                    )),
                    None => wrong.push(format!(
                        "{}:{}: `{target}` is not in LAYERS",
                        file.display(),
                        number + 1
                    )),
                }
            }
        }
    }
    assert!(
        checked > 30,
        "only {checked} crate:: paths found: is the parser broken?"
    );
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_parser_finds_paths_groups_and_root_names() {
    assert_eq!(
        targets("use crate::reactor::{Direction, Registration};"),
        ["reactor"]
    );
    assert_eq!(
        targets("use crate::{Runtime, net::TcpStream, spawn};"),
        ["runtime", "net", "executor"]
    );
    assert_eq!(targets("let c = crate::sys::listen(fd, 5);"), ["sys"]);
    assert!(targets("$crate::select!").is_empty());
    assert_eq!(
        code_lines(
            "use crate::a::b;\n// crate::c::d\n#[cfg(test)]\nmod tests {\nuse crate::e::f;\n}"
        ),
        ["use crate::a::b;"]
    );
}
