//! No import cycle between the crate's modules. A module that names `crate::b::…` (or, from a
//! file of a directory module, `super::b::…`) depends on `b`; arrows are drawn between the
//! top-level modules (a directory module counts as one) and between the files of one directory
//! module, and no module may reach itself by following them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's path below the crate root: `["socket", "conn"]`; `[]` for `lib.rs`.
type Module = Vec<String>;

/// Every source file of the crate, as its module and its text.
fn sources(dir: &Path, parent: &[String], out: &mut Vec<(Module, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let mut module = parent.to_vec();
        if path.is_dir() {
            module.push(name.to_owned());
            sources(&path, &module, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        if !(name == "mod" || (parent.is_empty() && name == "lib")) {
            module.push(name.to_owned());
        }
        let text = std::fs::read_to_string(&path).expect("reading a source file");
        out.push((module, text));
    }
}

/// The length of the identifier `s` starts with.
fn ident(s: &str) -> usize {
    s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// The paths a `use` tree starting at `s` names, each as its segments (groups expanded).
fn paths(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let mut out = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.extend(paths(&group[start..i]));
                    return out;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(paths(&group[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        return out;
    }
    let n = ident(s);
    if n == 0 {
        return vec![Vec::new()];
    }
    let head = s[..n].to_owned();
    match s[n..].strip_prefix("::") {
        Some(rest) => paths(rest)
            .into_iter()
            .map(|tail| std::iter::once(head.clone()).chain(tail).collect())
            .collect(),
        None => vec![vec![head]],
    }
}

/// The modules `text` (the source of `module`) names through `crate::` and `super::` paths.
fn named(module: &[String], text: &str) -> Vec<Module> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        // `super` is the parent module: `a` for `a/b.rs`, the root for `a/mod.rs`.
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for path in paths(&code[at + prefix.len()..]) {
                out.push(base.iter().cloned().chain(path).collect());
            }
        }
    }
    out
}

/// The arrows between sibling modules, from the sources.
fn arrows(files: &[(Module, String)]) -> BTreeMap<Module, BTreeSet<Module>> {
    let known: BTreeSet<Module> = files
        .iter()
        .flat_map(|(m, _)| (0..=m.len()).map(|n| m[..n].to_vec()))
        .collect();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in files {
        for path in named(module, text) {
            // The module a path reaches is its longest prefix that is a module.
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| known.contains(p))
                .unwrap_or_default();
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            // A parent and its child name each other as a matter of course; siblings may not.
            if common < module.len() && common < target.len() {
                graph
                    .entry(module[..=common].to_vec())
                    .or_default()
                    .insert(target[..=common].to_vec());
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<Module>,
        path: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(i) = path.iter().position(|m| m == node) {
            let mut found = path[i..].to_vec();
            found.push(node.clone());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

fn show(cycle: &[Module]) -> String {
    cycle
        .iter()
        .map(|m| m.join("::"))
        .collect::<Vec<_>>()
        .join(" → ")
}

#[test]
fn the_modules_import_each_other_in_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &[], &mut files);
    assert!(files.len() > 10, "read the crate's sources");
    let graph = arrows(&files);
    assert!(
        graph.contains_key(&vec!["socket".to_owned()]),
        "found the arrows: {graph:?}"
    );
    if let Some(found) = cycle(&graph) {
        panic!("the modules import each other in a cycle: {}", show(&found));
    }
}

#[test]
fn a_cycle_is_found() {
    let file = |m: &[&str], text: &str| (m.iter().map(|s| s.to_string()).collect(), text.into());
    let files = vec![
        file(
            &["hub"],
            "use crate::bridge::Bridge;\nuse crate::peer::Peer;",
        ),
        file(&["bridge"], "use crate::{peer, hub::{Hub, Topic}};"),
        file(&["peer"], "// use crate::hub;\nfn f() {}"),
        file(&["socket"], "mod conn;"),
        file(&["socket", "conn"], "use super::relay::X;"),
        file(
            &["socket", "relay"],
            "use super::Failure; use crate::socket::conn::Conn;",
        ),
    ];
    let graph = arrows(&files);
    let found = cycle(&graph).expect("a cycle");
    assert_eq!(show(&found), "bridge → hub → bridge");
    // The files of a directory module: `conn` ↔ `relay`.
    let files: Vec<_> = files
        .into_iter()
        .filter(|(m, _)| m[0] == "socket")
        .collect();
    let found = cycle(&arrows(&files)).expect("a cycle");
    assert_eq!(show(&found), "socket::conn → socket::relay → socket::conn");
    // `peer` names `hub` only in a comment.
    let files = vec![
        file(&["hub"], "use crate::peer;"),
        file(&["peer"], "// crate::hub"),
    ];
    assert_eq!(cycle(&arrows(&files)), None);
}
