//! The crate's layers (docs/architecture.md): reads the `crate::` paths of
//! every file under `src/` and fails on a path that runs back up a layer,
//! on an import cycle between top-level modules, on an application
//! analyzer that reaches into the engine, and on a cycle between the files
//! of the analyzers or of the engine. Test modules (`#[cfg(test)] mod tests`) and comments are not
//! read: a test may build whatever it needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// From the wire up: a module may use the modules of lower layers only,
/// never one of its own layer or above. `runtime` (threads) and `deckies`
/// (state loading and watching) are listed for the modules the engine's
/// non-core parts move to.
const LAYERS: &[&[&str]] = &[
    &["util"],
    &["event", "capture"],
    &["decode", "output"],
    &["stats", "limits"],
    &["flow"],
    &["fingerprint", "bus", "deckies"],
    &["analyzers"],
    &["engine"],
    &["runtime"],
    &["cli"],
];

/// Modules whose files must not import each other in a cycle: an analyzer
/// file, or a step of the engine's packet path, builds on the ones below
/// it.
const SIBLINGS_ACYCLIC: &[&str] = &["analyzers", "engine"];

/// The source text of one file: its path under `src/`, its text.
type Sources = Vec<(PathBuf, String)>;

fn read_sources(dir: &Path, base: &Path, out: &mut Sources) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(base).unwrap().to_path_buf(), text));
        }
    }
}

/// The code of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            let next = lines.peek().map(|l| l.trim_start()).unwrap_or_default();
            if next.starts_with("mod tests") {
                break;
            }
        }
        if t.starts_with("//") {
            continue;
        }
        // A trailing comment.
        let line = match line.find(" //") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The module path of a file: `engine/stream.rs` is `[engine, stream]`,
/// `analyzers/mod.rs` is `[analyzers]`.
fn module_of(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = path
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The names a path continues with after `::`: one identifier, or each
/// item of a `{a, b::c, self}` group.
fn names_after(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect();
    };
    let mut names = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                start = false;
                let name = ident(&group[i..]);
                if !name.is_empty() {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    names
}

/// Every `crate::a::b` path in `code`, as `[a, b]` (`[a]` when nothing
/// follows; one path per item of a group after `a::`).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        // `decnet_crate::` or `my_crate::` are other names.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        for first in names_after(rest) {
            let tail = rest
                .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
                .strip_prefix("::");
            let seconds = match tail {
                Some(t) if !rest.starts_with('{') => names_after(t),
                _ => Vec::new(),
            };
            if seconds.is_empty() {
                found.push(vec![first.clone()]);
            }
            for second in seconds {
                found.push(vec![first.clone(), second]);
            }
        }
    }
    found
}

/// The sibling modules a file of `parent` names through `super::x` (from
/// a file directly under `parent/`) or `crate::parent::x`.
fn sibling_uses(module: &[String], code: &str, parent: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in crate_paths(code) {
        if p[0] == parent && p.len() > 1 {
            out.insert(p[1].clone());
        }
    }
    // `super::` one level down is `parent`; deeper it is a sibling's own
    // module, which the sibling may use freely.
    if module.len() == 2 {
        let mut rest = code;
        while let Some(i) = rest.find("super::") {
            rest = &rest[i + "super::".len()..];
            out.extend(names_after(rest));
        }
    }
    out
}

/// A cycle in `graph`, if there is one, as the nodes along it.
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
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Everything wrong with the layering of `sources`, one line each.
fn violations(sources: &Sources) -> Vec<String> {
    let mut problems = Vec::new();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // The files of the modules whose files must not import each other in
    // a cycle: sibling name -> siblings (or their items) it names.
    let mut files: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = SIBLINGS_ACYCLIC
        .iter()
        .map(|m| (*m, BTreeMap::new()))
        .collect();
    for (path, text) in sources {
        let module = module_of(path);
        // The crate roots: `lib.rs` declares the modules, `main.rs` is
        // the binary.
        let Some(own) = module.first().filter(|_| !module.is_empty()) else {
            continue;
        };
        if own == "lib" || own == "main" {
            continue;
        }
        let code = code_of(text);
        let Some(own_layer) = layer_of(own) else {
            problems.push(format!(
                "{}: top-level module `{own}` is in no layer of tests/layers.rs",
                path.display()
            ));
            continue;
        };
        for used in crate_paths(&code) {
            let used = &used[0];
            if used == own {
                continue;
            }
            top.entry(own.clone()).or_default().insert(used.clone());
            match layer_of(used) {
                None => problems.push(format!(
                    "{}: uses `crate::{used}`, which is in no layer",
                    path.display()
                )),
                Some(l) if l >= own_layer => problems.push(format!(
                    "{}: `{own}` uses `crate::{used}`, which is not below it",
                    path.display()
                )),
                Some(_) => {}
            }
        }
        if let (Some(graph), Some(file)) = (files.get_mut(own.as_str()), module.get(1)) {
            let uses = sibling_uses(&module, &code, own);
            graph.entry(file.clone()).or_default().extend(uses);
        }
    }
    if let Some(c) = find_cycle(&top) {
        problems.push(format!("import cycle between modules: {}", c.join(" -> ")));
    }
    for (parent, mut graph) in files {
        // Only sibling files count (the rest are items of the parent,
        // which declares them all).
        let names: BTreeSet<String> = graph.keys().cloned().collect();
        for (file, uses) in graph.iter_mut() {
            uses.retain(|u| names.contains(u) && u != file);
        }
        if let Some(c) = find_cycle(&graph) {
            problems.push(format!(
                "import cycle between the files of `{parent}`: {}",
                c.join(" -> ")
            ));
        }
    }
    problems
}

#[test]
fn no_module_uses_a_layer_above_it_and_no_imports_run_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    read_sources(&src, &src, &mut sources);
    assert!(
        sources.iter().any(|(p, _)| p.starts_with("analyzers")),
        "no analyzer files read"
    );
    let problems = violations(&sources);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The checks above find what they look for.
#[test]
fn the_checks_find_violations_and_cycles() {
    let file = |p: &str, text: &str| (PathBuf::from(p), text.to_string());
    let fine = vec![
        file("analyzers/tls.rs", "use crate::fingerprint::tls;\n"),
        file("engine/mod.rs", "use crate::analyzers::tls;\n"),
    ];
    assert!(violations(&fine).is_empty(), "{:?}", violations(&fine));

    let upward = vec![file(
        "analyzers/tls.rs",
        "use super::Emitter;\nfn f() { crate::engine::stream::go(); }\n",
    )];
    let found = violations(&upward);
    assert!(
        found
            .iter()
            .any(|p| p.contains("`analyzers` uses `crate::engine`")),
        "{found:?}"
    );

    // Each direction alone is in order; the cycle is what fails.
    let cycle = vec![
        file("util/a.rs", "use crate::event::Event;\n"),
        file("event.rs", "use crate::util::a;\n"),
    ];
    let found = violations(&cycle);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("import cycle between modules")),
        "{found:?}"
    );

    let siblings = vec![
        file("analyzers/a.rs", "use super::b::X;\n"),
        file("analyzers/b.rs", "use crate::analyzers::a::Y;\n"),
        file("analyzers/mod.rs", "pub mod a;\npub mod b;\n"),
    ];
    let found = violations(&siblings);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("import cycle between the files of `analyzers`")),
        "{found:?}"
    );

    // Comments and test modules are not code.
    let quiet = vec![file(
        "analyzers/tls.rs",
        "/// See [`crate::engine::Engine`].\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::engine::Engine;\n}\n",
    )];
    assert!(violations(&quiet).is_empty(), "{:?}", violations(&quiet));

    // Groups are read item by item, at either level.
    let grouped = vec![
        file("engine/tcp.rs", "use super::{stream, Context};\n"),
        file(
            "engine/stream.rs",
            "use crate::engine::{self, tcp::FlowApp};\n",
        ),
    ];
    let found = violations(&grouped);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("import cycle between the files of `engine`")),
        "{found:?}"
    );
    let grouped_up = vec![file("flow/table.rs", "use crate::{util::lru, engine};\n")];
    let found = violations(&grouped_up);
    assert!(
        found.iter().any(|p| p.contains("uses `crate::engine`")),
        "{found:?}"
    );

    let unknown = vec![file("newthing/mod.rs", "fn f() {}\n")];
    assert!(violations(&unknown)[0].contains("in no layer"));
}
