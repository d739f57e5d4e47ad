//! The repository's shape, checked: the top level is the product's design card, the
//! host's code never names the guest's crate, and no two modules of a crate import each
//! other, directly or in a ring.
//!
//! The import check reads the sources, not the compiler: every `crate::…`, `super::…`
//! and `self::…` path (and each item of a `use …::{…}` group) is resolved to the longest
//! module it names, test modules left out. A path to a module's own ancestor is not an
//! edge (a child may use what its parent declares). Run it alone with
//! `cargo test -p whatsapp-tests -- layout::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

#[test]
fn the_top_level_is_the_design_cards() {
    let allowed = [
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        "README.md",
        "wit",
        "guest",
        "host",
        "tests",
        "examples",
        ".ci",
        ".git",
        ".gitignore",
        "target",
    ];
    let mut extra = Vec::new();
    for e in std::fs::read_dir(root()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !allowed.contains(&name.as_str()) {
            extra.push(name);
        }
    }
    assert!(extra.is_empty(), "not on the design card: {extra:?}");
}

/// The WIT is the only contract between the host and the component: the host's code
/// never names the guest's crate (the bench's native baseline is a crate of its own,
/// `host/bench/native`). `grep -rn whatsapp_guest host/src` says the same.
#[test]
fn the_host_does_not_link_the_guests_core() {
    let mut found = Vec::new();
    let mut stack = vec![root().join("host/src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read_to_string(&p).is_ok_and(|t| t.contains("whatsapp_guest")) {
                found.push(p.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    assert!(
        found.is_empty(),
        "host/src names whatsapp_guest in {found:?}"
    );
    let manifest = std::fs::read_to_string(root().join("host/Cargo.toml")).unwrap();
    let deps = manifest
        .split("\n[")
        .find(|s| s.starts_with("dependencies]"))
        .unwrap();
    assert!(
        !deps.contains("whatsapp-guest"),
        "the host library depends on the guest's crate"
    );
}

type Module = Vec<String>;

/// Every module of the crate whose root is `src`: its path and its file.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                parts.clear();
            }
            out.insert(parts, p);
        }
    }
    out
}

/// The longest module `path` names.
fn resolve(mods: &BTreeMap<Module, PathBuf>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| mods.contains_key(m))
}

/// The text of a module without its `#[cfg(test)] mod tests { … }` (tests may import
/// anything) and without comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The module paths `text` refers to from module `m`: `crate::a::b`, `super::a`,
/// `self::a`, and the items of `…::{a, b::c}` groups.
fn references(m: &[String], text: &str) -> Vec<Vec<String>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for head in ["crate::", "super::", "self::"] {
        let mut at = 0;
        while let Some(i) = text[at..].find(head) {
            let start = at + i;
            at = start + head.len();
            if start > 0 && (ident(bytes[start - 1]) || bytes[start - 1] == b':') {
                continue;
            }
            let mut base: Vec<String> = match head {
                "crate::" => vec![],
                "super::" => m[..m.len().saturating_sub(1)].to_vec(),
                _ => m.to_vec(),
            };
            // The path's segments, then an optional `{…}` group.
            let mut j = at;
            loop {
                let s = j;
                while j < bytes.len() && ident(bytes[j]) {
                    j += 1;
                }
                match &text[s..j] {
                    "" => {}
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    seg => base.push(seg.to_string()),
                }
                if text[j..].starts_with("::") {
                    j += 2;
                    if text[j..].starts_with('{') {
                        let end = text[j..].find('}').map_or(text.len(), |e| j + e);
                        for item in text[j + 1..end].split(',') {
                            let item = item.split(" as ").next().unwrap_or("").trim();
                            let mut p = base.clone();
                            p.extend(
                                item.split("::")
                                    .map(str::trim)
                                    .filter(|s| !s.is_empty() && *s != "self")
                                    .map(str::to_string),
                            );
                            out.push(p);
                        }
                        break;
                    }
                    continue;
                }
                break;
            }
            out.push(base);
        }
    }
    out
}

/// Module → the modules it imports (not itself, not its ancestors).
fn imports(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mods = modules(src);
    let mut graph = BTreeMap::new();
    for (m, file) in &mods {
        let deps: BTreeSet<Module> = references(m, &code(file))
            .iter()
            .filter_map(|p| resolve(&mods, p))
            .filter(|r| r != m && !(r.len() < m.len() && m.starts_with(r)))
            .collect();
        graph.insert(m.clone(), deps);
    }
    graph
}

/// The strongly connected components of more than one module (Tarjan).
fn rings(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Module) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in &t.g[v] {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut ring = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                ring.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if ring.len() > 1 {
                ring.sort();
                t.out.push(ring);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_two_modules_import_each_other_directly_or_in_a_ring() {
    let crates = [
        "guest/src",
        "guest/cli-provider/src",
        "guest/ingress/src",
        "host/src",
        "host/net/src",
        "host/storage/src",
        "host/sandbox/src",
    ];
    let mut found = Vec::new();
    for c in crates {
        for ring in rings(&imports(&root().join(c))) {
            found.push(format!("{c}: {}", ring.join(" ↔ ")));
        }
    }
    assert!(found.is_empty(), "import rings:\n{}", found.join("\n"));
}

#[test]
fn the_ring_check_finds_a_ring() {
    // Two modules that name each other, and a third that only names one of them.
    let dir = std::env::temp_dir().join(format!("wa-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\nmod c;\n").unwrap();
    std::fs::write(
        dir.join("a/mod.rs"),
        "use crate::b::{X, Y as Z};\npub mod inner;\n",
    )
    .unwrap();
    std::fs::write(dir.join("a/inner.rs"), "use super::super::c;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "fn f() { crate::a::inner::g(); }\n").unwrap();
    std::fs::write(
        dir.join("c.rs"),
        "use crate::b;\n// crate::a in a comment\n",
    )
    .unwrap();
    let g = imports(&dir);
    assert_eq!(
        rings(&g),
        [vec!["a::inner", "b", "c"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()]
    );
    std::fs::write(dir.join("b.rs"), "fn f() {}\n").unwrap();
    assert!(rings(&imports(&dir)).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
