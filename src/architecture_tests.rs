//! ARCHITECTURE.md, checked against the tree.
//!
//! - Who may import whom ("Module dependencies"): every `crate::…` path in a module's files must start
//!   with one of the prefixes allowed for that module (the most specific entry of the table applies, so
//!   `s3::error` has its own), and the table itself has no cycle. A new edge between modules is a
//!   decision: make it here and in ARCHITECTURE.md, and never one that closes a cycle.
//! - The code map lists every file under `src/`, and nothing else.

use std::path::Path;

/// Module → the `crate::` path prefixes its files may use, from the bottom up.
const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves: import nothing of the crate.
    ("timefmt", &[]),
    ("ids", &[]),
    ("encoding", &[]),
    ("headers", &[]),
    ("units", &[]),
    // The S3 error type imports nothing, and nothing below `s3` imports it: `lock` says a refusal as a
    // rule and facts (`s3::denial` words it), `checksum` has its own `DigestError`. No cycle remains.
    ("s3::error", &[]),
    ("checksum", &[]),
    ("lock", &["timefmt"]),
    // The policy's table tests also check how each refusal reads on the wire (`s3::denial`).
    ("lock::decide_tests", &["s3::error", "timefmt"]),
    ("s3", &["checksum", "lock", "timefmt", "ids", "encoding", "headers"]),
    ("auth", &["s3", "checksum", "timefmt", "encoding", "headers", "units"]),
    ("config", &["auth", "units"]),
    // The store has its own error type (`store::error`): of `s3` it uses only the request types it
    // stores (content headers, lifecycle rules), never `s3::error`.
    (
        "store",
        &[
            "s3::op",
            "s3::lifecycle",
            "lock",
            "checksum",
            "config",
            "timefmt",
            "ids",
            "encoding",
            "units",
        ],
    ),
    ("metrics", &["lock", "store", "units"]),
    ("audit", &["lock", "metrics", "timefmt", "store", "config", "encoding"]),
    ("keys", &["auth", "store", "config", "timefmt"]),
    ("datadir", &["store"]),
    ("lifecycle", &["s3", "store", "lock", "timefmt"]),
    (
        "evidence",
        &[
            "datadir", "audit", "store", "lock", "checksum", "metrics", "timefmt", "ids", "units",
        ],
    ),
    (
        "gateway",
        &[
            "keys",
            "config",
            "evidence",
            "lifecycle",
            "audit",
            "auth",
            "store",
            "lock",
            "s3",
            "checksum",
            "metrics",
            "timefmt",
            "ids",
            "encoding",
            "headers",
            "units",
        ],
    ),
    ("http", &["gateway"]),
    (
        "daemon",
        &[
            "gateway", "evidence", "datadir", "audit", "config", "store", "metrics", "timefmt",
        ],
    ),
    (
        "serve",
        &[
            "keys", "daemon", "http", "gateway", "datadir", "config", "store", "lock", "s3", "audit", "timefmt",
        ],
    ),
    (
        "cli",
        &[
            "keys",
            "auth",
            "serve",
            "gateway",
            "evidence",
            "lifecycle",
            "datadir",
            "audit",
            "config",
            "store",
            "timefmt",
            "encoding",
            "units",
        ],
    ),
];

/// `crate::a::b…` paths used in `src` (comments skipped), `use crate::{x, y}` groups expanded.
fn crate_paths(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                out.extend(inner.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                out.push(rest[..end].trim_end_matches(':').to_string());
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The most specific entry of [`ALLOWED`] that covers module path `path` (`a::b` is covered by `a::b`
/// and by `a`).
fn entry_of(path: &str) -> Option<&'static (&'static str, &'static [&'static str])> {
    ALLOWED
        .iter()
        .filter(|(m, _)| path == *m || path.starts_with(&format!("{m}::")))
        .max_by_key(|(m, _)| m.len())
}

#[test]
fn modules_import_only_what_the_layers_allow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut breaches = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let segments: Vec<&str> = rel
            .iter()
            .map(|s| s.to_str().unwrap().trim_end_matches(".rs"))
            .filter(|s| *s != "mod")
            .collect();
        if matches!(segments[0], "lib" | "main" | "architecture_tests") {
            continue;
        }
        let Some((module, allowed)) = entry_of(&segments.join("::")) else {
            breaches.push(format!("{}: module `{}` is not in ALLOWED", rel.display(), segments[0]));
            continue;
        };
        for path in crate_paths(&std::fs::read_to_string(f).unwrap()) {
            let own = path == *module || path.starts_with(&format!("{module}::"));
            let ok = own
                || allowed
                    .iter()
                    .any(|a| path == *a || path.starts_with(&format!("{a}::")));
            if !ok {
                breaches.push(format!("{}: crate::{path}", rel.display()));
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "imports outside the layers:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_allowed_imports_have_no_cycle() {
    // Edges of the table: an entry to the entries its prefixes name, and a module to its own
    // sub-module entries (`s3` uses `s3::error`).
    let edges = |m: &str| -> Vec<&'static str> {
        let (_, allowed) = entry_of(m).unwrap();
        let mut out: Vec<&str> = allowed.iter().map(|a| entry_of(a).expect("allowed entry").0).collect();
        out.extend(
            ALLOWED
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| n.starts_with(&format!("{m}::"))),
        );
        out
    };
    fn visit(
        m: &'static str,
        edges: &dyn Fn(&str) -> Vec<&'static str>,
        path: &mut Vec<&'static str>,
        done: &mut Vec<&'static str>,
    ) {
        assert!(!path.contains(&m), "cycle: {} -> {m}", path.join(" -> "));
        if done.contains(&m) {
            return;
        }
        path.push(m);
        for n in edges(m) {
            visit(n, edges, path, done);
        }
        path.pop();
        done.push(m);
    }
    let mut done = Vec::new();
    for (m, _) in ALLOWED {
        visit(m, &edges, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_scanner_sees_paths_and_groups() {
    let src = "use crate::a::b;\n// crate::hidden\nlet x = crate::c::d(1); use crate::{e, f::g};";
    assert_eq!(crate_paths(src), ["a::b", "c::d", "e", "f::g"]);
}

/// The files the code map of ARCHITECTURE.md lists under `src/`: in its first fenced block, the lines
/// below `src/` whose first column (up to two spaces) is a comma-separated list of `*.rs` files or
/// `dir/` folders, nested by two-space indentation.
fn code_map(doc: &str) -> Vec<String> {
    let map = doc.split("## Code map").nth(1).expect("a code map section");
    let block = map.split("```").nth(1).expect("a fenced code map");
    let mut lines = block.lines().skip_while(|l| *l != "src/");
    assert_eq!(lines.next(), Some("src/"), "the code map starts with src/");
    let mut dirs: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            break;
        }
        let first = line.trim_start().split("  ").next().unwrap_or("");
        let entries: Vec<&str> = first.split(", ").collect();
        if !entries.iter().all(|e| e.ends_with(".rs") || e.ends_with('/')) {
            continue; // a wrapped description
        }
        assert_eq!(indent % 2, 0, "odd indentation: {line:?}");
        dirs.truncate(indent / 2 - 1);
        for e in entries {
            let path = dirs.iter().map(String::as_str).chain([e]).collect::<String>();
            if e.ends_with('/') {
                dirs.push(e.to_string());
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn the_code_map_lists_every_file_of_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut listed = code_map(&doc);
    listed.sort();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut actual: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(root.join("src")).unwrap().to_str().unwrap().to_string())
        .collect();
    actual.sort();
    let missing: Vec<&String> = actual.iter().filter(|f| !listed.contains(f)).collect();
    let stale: Vec<&String> = listed.iter().filter(|f| !actual.contains(f)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md code map: not listed {missing:?}; listed but not in src/ {stale:?}"
    );
}

#[test]
fn the_code_map_reader_nests_by_indentation() {
    let doc = "## Code map\n\n```\nsrc/\n  a.rs   x\n  d/\n    b.rs, c.rs  y\n               wrapped.rs, z\n    e/\n      f.rs\n  g.rs\nother/\n```\n";
    assert_eq!(code_map(doc), ["a.rs", "d/b.rs", "d/c.rs", "d/e/f.rs", "g.rs"]);
}

/// The error types of a signature, with generics and spaces removed: `Result<T, String>` → the part
/// after the last top-level comma is `String`.
fn string_error_results(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let code: String = line
            .split("//")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("Result<") {
            rest = &rest[i + "Result<".len()..];
            let (mut depth, mut last_comma, mut end) = (1usize, None, None);
            for (j, c) in rest.char_indices() {
                match c {
                    '<' | '(' => depth += 1,
                    '>' | ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(j);
                            break;
                        }
                    }
                    ',' if depth == 1 => last_comma = Some(j),
                    _ => {}
                }
            }
            if let (Some(c), Some(e)) = (last_comma, end) {
                if &rest[c + 1..e] == "String" {
                    out.push(format!("line {}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    out
}

/// Issue 8: library code returns typed errors (a `thiserror` enum per layer, mapped to S3 in
/// `gateway/errors.rs`), never `Result<_, String>`, which loses the cause and cannot be matched on.
/// Test modules may (a failed fixture is a failed test).
#[test]
fn no_library_function_returns_a_string_error() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with("_tests.rs") || name == "test_support.rs" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        // Only the library part of a file: its `#[cfg(test)] mod tests` comes last.
        let library = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(&text);
        for hit in string_error_results(library) {
            found.push(format!("{}: {hit}", f.strip_prefix(&src).unwrap().display()));
        }
    }
    assert!(
        found.is_empty(),
        "Result<_, String> in library code:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_string_error_finder_reads_nested_generics() {
    let hits = string_error_results("fn a() -> Result<Vec<(u8, String)>, String> {}\nfn b() -> Result<String, E> {}\n");
    assert_eq!(hits.len(), 1);
    assert!(hits[0].starts_with("line 1"));
    assert!(string_error_results("type R = std::result::Result<(), MyError>; // Result<(), String>").is_empty());
}
