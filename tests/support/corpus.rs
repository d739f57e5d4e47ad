//! The payload corpora every test layer reads: the guest's native tests, the host's
//! process tests and the integration tests include this one file.
//!
//! - **Ours**, always: `tests/data/webhooks/*.json` (webhook bodies) and
//!   `tests/data/templates/*.json` (template definitions), written from Meta's documented
//!   shapes. Each file maps a name to one payload.
//! - **pywa's**, an extra: `../shared/fixtures/pywa/{updates,templates}` beside the
//!   repository (or the directory `WA_PYWA_FIXTURES` names), in the same shape. Its tests
//!   run when it is there and say they skipped it when it is not; `WA_REQUIRE_PYWA=1`
//!   (as CI sets) makes a missing corpus a failure.
//!
//! A payload is handed over as the exact bytes of its file (`RawValue`), so that a body
//! written with `\u` escapes reaches the parser, and its signature, escaped.

#![allow(dead_code)] // each including crate uses a part

use std::path::{Path, PathBuf};

/// One payload: which file of which corpus, its name there, and its bytes.
#[derive(Debug, Clone)]
pub struct Payload {
    /// `ours` or `pywa`.
    pub corpus: &'static str,
    /// The file's name, `messages.json`.
    pub file: String,
    /// The payload's name in that file.
    pub name: String,
    /// The payload, byte for byte as the file has it.
    pub body: Vec<u8>,
}

impl Payload {
    /// `corpus:file/name`, for assertion messages.
    pub fn label(&self) -> String {
        format!("{}:{}/{}", self.corpus, self.file, self.name)
    }

    /// The payload as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{}: {e}", self.label()))
    }
}

/// The repository's root (every crate that includes this file sits one level below it).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Our webhook bodies.
pub fn webhooks_dir() -> PathBuf {
    root().join("tests/data/webhooks")
}

/// Our template definitions.
pub fn templates_dir() -> PathBuf {
    root().join("tests/data/templates")
}

/// pywa's corpus, when it is there. Panics when it is not and `WA_REQUIRE_PYWA=1`;
/// otherwise says on stderr that the caller skips it.
pub fn pywa_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("WA_PYWA_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/fixtures/pywa"));
    if dir.join("updates").is_dir() {
        return Some(dir);
    }
    if std::env::var("WA_REQUIRE_PYWA").is_ok_and(|v| v == "1") {
        panic!(
            "WA_REQUIRE_PYWA=1 but pywa's corpus is not at {} (set WA_PYWA_FIXTURES)",
            dir.display()
        );
    }
    eprintln!(
        "skipped: pywa's corpus is not at {} (an extra; WA_REQUIRE_PYWA=1 requires it)",
        dir.display()
    );
    None
}

/// Every payload of one file, in name order.
pub fn load_file(corpus: &'static str, path: &Path) -> Vec<Payload> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let named: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    named
        .into_iter()
        .map(|(name, raw)| Payload {
            corpus,
            file: file.clone(),
            name,
            body: raw.get().as_bytes().to_vec(),
        })
        .collect()
}

/// Every payload of every `*.json` file of `dir`, files in name order.
pub fn load_dir(corpus: &'static str, dir: &Path) -> Vec<Payload> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| load_file(corpus, f)).collect()
}

/// Our webhook bodies, every one.
pub fn webhooks() -> Vec<Payload> {
    load_dir("ours", &webhooks_dir())
}

/// pywa's webhook bodies, when the corpus is there.
pub fn pywa_webhooks() -> Option<Vec<Payload>> {
    pywa_dir().map(|d| load_dir("pywa", &d.join("updates")))
}

/// One of our webhook bodies by file and name.
pub fn webhook(file: &str, name: &str) -> Vec<u8> {
    load_file("ours", &webhooks_dir().join(file))
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("tests/data/webhooks/{file} has no {name}"))
        .body
}

/// Our template definitions, then pywa's when that corpus is there: (label, JSON).
pub fn templates() -> Vec<(String, serde_json::Value)> {
    let mut all = load_dir("ours", &templates_dir());
    if let Some(d) = pywa_dir() {
        all.extend(load_dir("pywa", &d.join("templates")));
    }
    all.iter().map(|p| (p.label(), p.json())).collect()
}
