//! The module graph has no cycle: each pipeline stage depends only on the stages
//! before it (issue #13).
//!
//! Reads every `src/**/*.rs` file of the library, takes the module paths it names
//! in code (`crate::a::b`, `super::x`; comments and doc links are not
//! dependencies) and checks two graphs for cycles:
//!
//! * the top-level modules of the library (`crate::scan` → `crate::index`, ...);
//! * within each folder module, its sibling files (`scan/stream.rs` →
//!   `scan/lines.rs`, ...). A folder's `mod.rs` declares its children, so edges to
//!   and from `mod.rs` itself are not counted.
//!
//! A failure prints the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a library file: `src/scan/lines.rs` → `["scan", "lines"]`,
/// `src/scan/mod.rs` → `["scan"]`, `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file, without comments (line comments, doc comments, block
/// comments) and string literals: only what the compiler resolves.
fn code_of(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x', '\n'); lifetimes ('a) are left alone.
            let end = b[i + 1..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(b.len(), |p| i + 2 + p);
            i = end;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The module paths `code` refers to, resolved against the file's own module
/// `here`: `crate::x::y` and `super::z` (with `use crate::x::{a, b}` expanded to its
/// first segment, which is all the graphs need).
fn references(code: &str, here: &[String], is_mod_rs: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // The path segments at the start of `s`: identifiers joined by `::`.
    let ident = |mut s: &str| -> Vec<String> {
        let mut parts = Vec::new();
        loop {
            let n = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            if n == 0 {
                break;
            }
            parts.push(s[..n].to_string());
            match s[n..].strip_prefix("::") {
                Some(rest) => s = rest,
                None => break,
            }
        }
        parts
    };
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `my_crate::`
        }
        out.push(ident(&code[at + "crate::".len()..]));
    }
    for (at, _) in code.match_indices("super::") {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `super::super::` is counted from its first `super::`
        }
        let mut rest = &code[at..];
        // In `a/b.rs` (module a::b), `super::` is `a`; in `a/mod.rs` (module a),
        // `super::` is the crate root.
        let mut base: Vec<String> = here.to_vec();
        if !is_mod_rs || !here.is_empty() {
            base.pop();
        }
        rest = &rest["super::".len()..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        base.extend(ident(rest));
        out.push(base);
    }
    out
}

/// A cycle in `graph`, if there is one, as the list of its nodes.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Every module of the library with the module paths its code refers to.
fn library_references() -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let bin = ["main", "cli", "progress", "exit"];
    files
        .iter()
        .filter(|f| {
            let m = module_of(&src, f);
            !(m.len() == 1 && bin.contains(&m[0].as_str()))
        })
        .map(|f| {
            let here = module_of(&src, f);
            let is_mod = f
                .file_name()
                .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
            let code = code_of(&std::fs::read_to_string(f).unwrap());
            let refs = references(&code, &here, is_mod);
            (here, refs)
        })
        .collect()
}

#[test]
fn top_level_modules_have_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let modules: BTreeSet<String> = library_references()
        .iter()
        .filter_map(|(m, _)| m.first().cloned())
        .collect();
    for (here, refs) in library_references() {
        let Some(from) = here.first() else { continue };
        let node = graph.entry(from.clone()).or_default();
        for r in refs {
            if let Some(to) = r.first().filter(|t| *t != from && modules.contains(*t)) {
                node.insert(to.clone());
            }
        }
    }
    assert!(graph.len() > 10, "found too few modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn sibling_files_of_each_folder_have_no_cycle() {
    let all = library_references();
    let mut folders: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (here, _) in &all {
        if here.len() >= 2 {
            let (parent, name) = here.split_at(here.len() - 1);
            folders
                .entry(parent.to_vec())
                .or_default()
                .entry(name[0].clone())
                .or_default();
        }
    }
    for (here, refs) in &all {
        if here.len() < 2 {
            continue;
        }
        let (parent, name) = here.split_at(here.len() - 1);
        let siblings: BTreeSet<String> = folders[parent].keys().cloned().collect();
        let edges: Vec<String> = refs
            .iter()
            .filter(|r| r.len() > parent.len() && r[..parent.len()] == *parent)
            .map(|r| r[parent.len()].clone())
            .filter(|to| to != &name[0] && siblings.contains(to))
            .collect();
        folders
            .get_mut(parent)
            .unwrap()
            .get_mut(&name[0])
            .unwrap()
            .extend(edges);
    }
    assert!(
        folders.len() >= 4,
        "found too few folders: {:?}",
        folders.keys()
    );
    for (folder, graph) in &folders {
        if let Some(cycle) = find_cycle(graph) {
            panic!(
                "cycle among the files of src/{}/: {}",
                folder.join("/"),
                cycle.join(" -> ")
            );
        }
    }
}

/// The checker itself: it sees a cycle where there is one, and reads `super::`
/// and comments the way the compiler does.
#[test]
fn the_checker_finds_cycles_and_ignores_comments() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(find_cycle(&g).unwrap().len(), 4);

    let here = vec!["scan".to_string(), "lines".to_string()];
    let code = code_of("use super::x; // crate::nope\n/// [`crate::doc`]\nlet s = \"crate::str\"; crate::index::view::y();");
    assert_eq!(
        references(&code, &here, false),
        vec![
            vec!["index".to_string(), "view".to_string(), "y".to_string()],
            vec!["scan".to_string(), "x".to_string()],
        ]
    );
    let here = vec!["scan".to_string()];
    assert_eq!(
        references("super::chunk::f()", &here, true),
        vec![vec!["chunk".to_string(), "f".to_string()]]
    );
}
