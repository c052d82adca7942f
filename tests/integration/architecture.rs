//! The layers of ARCHITECTURE.md, held by the source: what each layer may
//! import (the table is read from ARCHITECTURE.md), no mode importing
//! another, no import cycle between modules, and ARCHITECTURE.md naming
//! every source file. The source is parsed (`syn`), so every path counts:
//! `use` trees however nested, `super::super::`, and paths in code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The crate root's own items (`crate::X` where `X` is no module) belong to
/// this layer.
const LIB: &str = "lib";

/// Each layer and the layers it may import, from ARCHITECTURE.md's table:
/// rows `` | `layer` | a, b, c; prose | ``.
fn layers(markdown: &str) -> BTreeMap<String, BTreeSet<String>> {
    markdown
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [layer, allowed] = cells.as_slice() else {
                return None;
            };
            let layer = layer.trim().strip_prefix('`')?.strip_suffix('`')?;
            let allowed = allowed.split(';').next().unwrap_or_default();
            let allowed = allowed
                .split(',')
                .map(str::trim)
                .filter(|a| a.chars().all(|c| c.is_ascii_lowercase()) && !a.is_empty())
                .filter(|a| *a != "nothing")
                .map(String::from)
                .collect();
            Some((layer.to_string(), allowed))
        })
        .collect()
}

/// `clients::git` for clients/git/mod.rs; "" for lib.rs.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// The layer of a module: its first segment, or [`LIB`] for the root.
fn layer(module: &str) -> &str {
    match module.split("::").next() {
        Some("") | None => LIB,
        Some(top) => top,
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Path>()
                .is_ok_and(|p| p.is_ident("test"))
    })
}

/// Collects the `crate`, `self` and `super` paths of production code, each
/// with the module it is written in.
#[derive(Default)]
struct Paths {
    module: Vec<String>,
    found: Vec<(Vec<String>, Vec<String>)>,
}

impl Paths {
    /// Every path is kept: one that starts with a child module's name is
    /// relative (`use model::Deploy;`), and [`graph`] tells those from
    /// other crates' paths.
    fn record(&mut self, segments: Vec<String>) {
        if !segments.is_empty() {
            self.found.push((self.module.clone(), segments));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                self.record(path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                path.push(r.ident.to_string());
                self.record(path);
            }
            syn::UseTree::Glob(_) => self.record(prefix.clone()),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_test_only(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // An inline module's items are written one level down.
        self.module.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.module.pop();
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    /// `pub(crate)` names the crate, but imports nothing.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.record(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

/// Where `segments`, written in `module`, lead: `crate` is the root,
/// `self` this module, each `super` one up.
fn absolute(module: &[String], segments: &[String]) -> Option<Vec<String>> {
    let mut at: Vec<String> = module.to_vec();
    let mut rest = segments;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {}
    }
    while rest.first().map(String::as_str) == Some("super") {
        at.pop()?;
        rest = &rest[1..];
    }
    at.extend(rest.iter().cloned());
    Some(at)
}

/// Every module (by its path) and the modules it imports, from the
/// sources given as (path under src/, text).
fn graph(files: &[(PathBuf, String)]) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let known: BTreeSet<String> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut parsed = Vec::new();
    for (path, text) in files {
        let file = syn::parse_file(text).map_err(|e| format!("{}: {e}", path.display()))?;
        parsed.push((path, module_of(path), file));
    }
    // A file declared with `#[cfg(test)] mod name;` is test code.
    let test_only: BTreeSet<String> = parsed
        .iter()
        .flat_map(|(_, module, file)| {
            file.items.iter().filter_map(move |item| match item {
                syn::Item::Mod(m) if m.content.is_none() && is_test_only(&m.attrs) => Some(
                    format!("{module}::{}", m.ident)
                        .trim_start_matches("::")
                        .to_string(),
                ),
                _ => None,
            })
        })
        .collect();
    let mut graph = BTreeMap::new();
    for (path, module, file) in parsed {
        let under_test = |t: &String| module == *t || module.starts_with(&format!("{t}::"));
        if test_only.iter().any(under_test) {
            continue;
        }
        let mut paths = Paths {
            module: module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            ..Paths::default()
        };
        paths.visit_file(&file);
        let mut targets = BTreeSet::new();
        for (written_in, segments) in paths.found {
            let anchored = ["crate", "self", "super"].contains(&segments[0].as_str());
            let mut child = written_in.clone();
            child.push(segments[0].clone());
            if !anchored && !known.contains(&child.join("::")) {
                // Another crate's path, a local name, or a type's.
                continue;
            }
            let Some(target) = absolute(&written_in, &segments) else {
                return Err(format!(
                    "{}: a path leaves the crate: {segments:?}",
                    path.display()
                ));
            };
            // The longest prefix that is a module; none is the crate root.
            let target = (0..=target.len())
                .rev()
                .map(|n| target[..n].join("::"))
                .find(|m| known.contains(m))
                .unwrap_or_default();
            if target != module {
                targets.insert(target);
            }
        }
        graph.insert(module, targets);
    }
    Ok(graph)
}

/// What breaks the layers: each import a layer may not make, a mode
/// importing another, and import cycles.
fn violations(
    graph: &BTreeMap<String, BTreeSet<String>>,
    layers: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (module, targets) in graph {
        let Some(allowed) = layers.get(layer(module)) else {
            found.push(format!(
                "src/{module}: layer {} is not in ARCHITECTURE.md's table",
                layer(module)
            ));
            continue;
        };
        for target in targets.iter().filter(|t| layer(t) != layer(module)) {
            if !allowed.contains(layer(target)) {
                let target = if target.is_empty() {
                    "the crate root (lib.rs)"
                } else {
                    target
                };
                let name = if module.is_empty() { LIB } else { module };
                found.push(format!(
                    "{name} imports {target}: {} may import only {allowed:?}",
                    layer(module)
                ));
            }
        }
        let mode_of = |m: &str| {
            m.strip_prefix("modes::")
                .map(|m| m.split("::").next().unwrap_or_default().to_string())
        };
        if let Some(own) = mode_of(module) {
            for other in targets
                .iter()
                .filter_map(|t| mode_of(t))
                .filter(|t| *t != own)
            {
                found.push(format!(
                    "{module} imports modes::{other}: no mode imports another"
                ));
            }
        }
    }
    found.extend(cycles(graph));
    found
}

fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            // A module's own ancestors are facades that re-export their
            // children's items: going up to one is no step of a cycle.
            let facades = |next: &&String| next.is_empty() || m.starts_with(&format!("{next}::"));
            for next in graph.get(&m).into_iter().flatten().filter(|n| !facades(n)) {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let mut found = Vec::new();
    for (module, targets) in graph {
        // A module may use its own submodules' items and they its own.
        let related = |t: &String| {
            t.starts_with(&format!("{module}::"))
                || module.starts_with(&format!("{t}::"))
                || t.is_empty()
                || module.is_empty()
        };
        for target in targets.iter().filter(|t| !related(t)) {
            if reaches(target, module) {
                found.push(format!(
                    "import cycle: {module} imports {target}, which leads back to {module}"
                ));
            }
        }
    }
    found
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's sources, main.rs left out (a binary of its own that uses
/// the library by name).
fn crate_files() -> Vec<(PathBuf, String)> {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files
        .into_iter()
        .filter(|f| !f.ends_with("src/main.rs"))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f.strip_prefix(&src).unwrap().to_path_buf(), text)
        })
        .collect()
}

fn architecture_md() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap()
}

#[test]
fn the_source_keeps_the_layers_of_architecture_md() {
    let layers = layers(&architecture_md());
    assert!(layers.len() >= 10, "the table was not read: {layers:?}");
    let graph = graph(&crate_files()).unwrap();
    let found = violations(&graph, &layers);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn architecture_md_names_every_source_file() {
    let text = architecture_md();
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("src"), &mut files);
    for file in &files {
        let relative = file
            .strip_prefix(ROOT)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            text.contains(&format!("`{relative}`")),
            "ARCHITECTURE.md does not name {relative}"
        );
    }
    for (at, _) in text.match_indices("`src/") {
        let path: String = text[at + 1..].chars().take_while(|c| *c != '`').collect();
        assert!(
            Path::new(ROOT).join(&path).exists(),
            "ARCHITECTURE.md names {path}, which does not exist"
        );
    }
}

/// A small crate of the real shape, with one file changed: the checker
/// must name the violation it carries.
mod the_checker_catches {
    use super::*;

    const TABLE: &str = "| `lib` | nothing |\n| `verdict` | nothing |\n| `inputs` | nothing |\n| `output` | inputs |\n| `clients` | inputs, output |\n| `ops` | clients, inputs, output |\n| `modes` | verdict, ops, clients, inputs, output; never another mode |\n| `app` | verdict, modes, inputs, output |\n";

    const LIB: (&str, &str) = ("lib.rs", "pub mod app; pub mod clients; pub mod inputs; pub mod modes; pub mod ops; pub mod output; pub mod verdict;");

    /// The violations of the small crate with `changes` (path, text) made.
    fn crate_with(changes: &[(&str, &str)]) -> Vec<String> {
        let mut files: Vec<(PathBuf, String)> = [
            LIB,
            ("verdict.rs", "pub enum Verdict { Done }"),
            ("inputs.rs", "pub struct InputError;"),
            (
                "output/mod.rs",
                "pub mod runner; use crate::inputs::InputError;",
            ),
            ("output/runner.rs", "pub struct Runner;"),
            (
                "clients/mod.rs",
                "pub mod render; use crate::output::runner::Runner;",
            ),
            ("clients/render.rs", "pub struct Render;"),
            (
                "ops/mod.rs",
                "pub mod rollout; use crate::clients::render::Render;",
            ),
            (
                "ops/rollout.rs",
                "use super::super::clients::render::Render;",
            ),
            ("modes/mod.rs", "pub mod deploy; pub mod monitor;"),
            (
                "modes/deploy/mod.rs",
                "mod watch; use crate::{ops::rollout, verdict::Verdict};",
            ),
            (
                "modes/deploy/watch.rs",
                "use super::super::super::ops::rollout;",
            ),
            (
                "modes/monitor/mod.rs",
                "use crate::output::{runner::{Runner}};",
            ),
            ("app.rs", "use crate::{modes::deploy, verdict::Verdict};"),
        ]
        .into_iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
        for (path, text) in changes {
            match files.iter_mut().find(|(p, _)| p == Path::new(path)) {
                Some(file) => file.1 = text.to_string(),
                None => files.push((PathBuf::from(path), text.to_string())),
            }
        }
        match graph(&files) {
            Ok(graph) => violations(&graph, &layers(TABLE)),
            Err(e) => vec![e],
        }
    }

    fn caught(changes: &[(&str, &str)], what: &str) {
        let found = crate_with(changes);
        assert!(
            found.iter().any(|f| f.contains(what)),
            "{changes:?}\nexpected {what:?} in {found:#?}"
        );
    }

    #[test]
    fn nothing_in_the_clean_crate() {
        assert_eq!(crate_with(&[]), Vec::<String>::new());
    }

    #[test]
    fn an_upward_import() {
        caught(
            &[("clients/render.rs", "use crate::ops::rollout;")],
            "clients::render imports ops::rollout",
        );
    }

    #[test]
    fn an_upward_import_through_super_super() {
        caught(
            &[("clients/render.rs", "use super::super::ops::rollout;")],
            "clients::render imports ops::rollout",
        );
        caught(
            &[(
                "clients/render.rs",
                "fn f() { super::super::modes::deploy::run(); }",
            )],
            "clients::render imports modes::deploy",
        );
    }

    #[test]
    fn a_forbidden_path_inside_nested_groups() {
        caught(
            &[(
                "output/runner.rs",
                "use crate::{inputs::InputError, clients::{render::{Render}}};",
            )],
            "output::runner imports clients::render",
        );
        caught(
            &[("ops/rollout.rs", "use crate::{modes::{self}};")],
            "ops::rollout imports modes",
        );
        caught(
            &[("inputs.rs", "use crate::output::*;")],
            "inputs imports output",
        );
    }

    #[test]
    fn an_import_of_the_crate_root() {
        let lib = ("lib.rs", "pub mod app; pub mod clients; pub mod inputs; pub mod modes; pub mod ops; pub mod output; pub mod verdict; pub enum Verdict { Done }");
        caught(
            &[lib, ("modes/deploy/mod.rs", "use crate::Verdict;")],
            "modes::deploy imports the crate root (lib.rs)",
        );
        caught(
            &[
                lib,
                ("ops/mod.rs", "pub fn f() -> crate::Verdict { todo!() }"),
            ],
            "ops imports the crate root (lib.rs)",
        );
        caught(
            &[("lib.rs", "pub mod app; use crate::ops::rollout;")],
            "lib imports ops::rollout",
        );
    }

    #[test]
    fn a_path_in_code_not_in_a_use() {
        caught(
            &[(
                "output/runner.rs",
                "fn f() { let _ = crate::ops::rollout::X; }",
            )],
            "output::runner imports ops::rollout",
        );
        caught(
            &[(
                "clients/render.rs",
                "struct S { r: crate::modes::deploy::Deployer }",
            )],
            "clients::render imports modes::deploy",
        );
    }

    #[test]
    fn a_mode_importing_another() {
        caught(
            &[("modes/deploy/watch.rs", "use crate::modes::monitor;")],
            "no mode imports another",
        );
        caught(
            &[("modes/deploy/watch.rs", "use super::super::monitor::Thing;")],
            "no mode imports another",
        );
        caught(
            &[(
                "modes/deploy/watch.rs",
                "use crate::{modes::{monitor::{self}}};",
            )],
            "no mode imports another",
        );
    }

    #[test]
    fn an_inline_module_s_super() {
        caught(
            &[(
                "ops/rollout.rs",
                "mod inner { use super::super::super::modes::deploy; }",
            )],
            "ops::rollout imports modes::deploy",
        );
        caught(
            &[(
                "ops/rollout.rs",
                "mod inner { use super::super::super::super::x; }",
            )],
            "a path leaves the crate",
        );
    }

    #[test]
    fn a_path_relative_to_a_child_module_and_not_a_visibility() {
        caught(
            &[
                (
                    "clients/mod.rs",
                    "pub mod render; pub mod deep; use crate::output::runner::Runner;",
                ),
                ("clients/deep.rs", "use crate::ops::rollout;"),
            ],
            "clients::deep imports ops::rollout",
        );
        caught(
            &[("lib.rs", "pub mod app; pub mod clients; pub mod inputs; pub mod modes; pub mod ops; pub mod output; pub mod verdict; pub use ops::rollout::X;")],
            "lib imports ops::rollout",
        );
        assert!(crate_with(&[(
            "clients/render.rs",
            "pub(crate) struct Render; pub(in crate::clients) fn f() {} use serde_json::json;"
        )])
        .is_empty());
    }

    #[test]
    fn a_cycle() {
        caught(
            &[
                (
                    "ops/mod.rs",
                    "pub mod rollout; use crate::clients::render::Render; pub fn f() {}",
                ),
                ("clients/render.rs", "use crate::ops::f;"),
            ],
            "import cycle: clients::render imports ops, which leads back to clients::render",
        );
    }

    #[test]
    fn a_layer_the_table_does_not_name() {
        caught(
            &[("report.rs", "use crate::ops::rollout;")],
            "layer report is not in ARCHITECTURE.md's table",
        );
    }

    #[test]
    fn test_code_is_left_out_and_only_test_code() {
        assert!(crate_with(&[(
            "clients/render.rs",
            "#[cfg(test)] mod tests { use crate::modes::deploy; }"
        )])
        .is_empty());
        assert!(crate_with(&[(
            "clients/render.rs",
            "#[cfg(test)] fn helper() { crate::modes::deploy::x(); }"
        )])
        .is_empty());
        assert!(crate_with(&[
            (
                "clients/mod.rs",
                "pub mod render; #[cfg(test)] mod fixtures;"
            ),
            ("clients/fixtures.rs", "use crate::modes::deploy;"),
        ])
        .is_empty());
        caught(
            &[(
                "clients/render.rs",
                "#[cfg(test)] mod tests {} use crate::modes::deploy;",
            )],
            "clients::render imports modes::deploy",
        );
        caught(
            &[(
                "clients/render.rs",
                "#[cfg(not(test))] fn f() { crate::modes::deploy::x(); }",
            )],
            "clients::render imports modes::deploy",
        );
    }

    #[test]
    fn the_table_as_architecture_md_writes_it() {
        let layers = layers("| Layer | May import |\n|---|---|\n| `modes` | settings, ops; never another mode |\n| `lib` | nothing: it only declares the layers |\n");
        assert_eq!(
            layers["modes"],
            BTreeSet::from(["settings".to_string(), "ops".to_string()])
        );
        assert!(layers["lib"].is_empty());
        assert_eq!(layers.len(), 2);
    }
}
