//! The layers of ARCHITECTURE.md, held by the source: what each layer may
//! import, no mode importing another, no import cycle between modules, and
//! ARCHITECTURE.md naming every source file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Each top-level module of src/ and the top-level modules it may import.
const LAYERS: &[(&str, &[&str])] = &[
    ("inputs", &[]),
    ("cli", &[]),
    ("output", &["inputs"]),
    ("clients", &["inputs", "output"]),
    ("ops", &["clients", "inputs", "output"]),
    ("report", &["ops", "clients", "inputs", "output"]),
    ("settings", &["cli", "clients", "inputs", "output"]),
    (
        "modes",
        &["settings", "report", "ops", "clients", "inputs", "output"],
    ),
];

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

/// `clients::git` for src/clients/git/mod.rs.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The `crate::…` paths a file's production code names (its test module
/// and comments left out), with `crate::{a, b::c}` groups expanded.
fn imports(text: &str) -> BTreeSet<String> {
    // An inline test module ends the production code; `#[cfg(test)] mod
    // fixtures;` (a file of its own) does not.
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].contains("mod ") && w[1].ends_with('{'))
        .unwrap_or(lines.len());
    let code = lines[..end].join("\n");
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let path_char = |c: &char| c.is_ascii_lowercase() || *c == '_' || *c == ':';
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let path: String = item.trim().chars().take_while(path_char).collect();
                found.insert(path.trim_end_matches(':').to_string());
            }
        } else {
            let path: String = rest.chars().take_while(path_char).collect();
            found.insert(path.trim_end_matches(':').to_string());
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

/// Every module and the modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("src"), &mut files);
    let modules: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_of(f), std::fs::read_to_string(f).unwrap()))
        .collect();
    let known: BTreeSet<&String> = modules.keys().collect();
    modules
        .iter()
        .map(|(module, text)| {
            let targets = imports(text)
                .into_iter()
                .filter_map(|path| {
                    let parts: Vec<&str> = path.split("::").collect();
                    (1..=parts.len())
                        .rev()
                        .map(|n| parts[..n].join("::"))
                        .find(|m| known.contains(m))
                })
                .filter(|m| m != module)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    for (module, targets) in graph() {
        if ["lib", "main"].contains(&module.as_str()) {
            continue;
        }
        let allowed = layers.get(top(&module)).unwrap_or_else(|| {
            panic!("src/{module}: a top-level module ARCHITECTURE.md does not name")
        });
        for target in targets.iter().filter(|t| top(t) != top(&module)) {
            assert!(
                allowed.contains(&top(target)),
                "{module} imports {target}: {} may import only {allowed:?}",
                top(&module)
            );
        }
        if let Some(mode) = module.strip_prefix("modes::") {
            let own = mode.split("::").next().unwrap();
            for target in targets.iter().filter_map(|t| t.strip_prefix("modes::")) {
                assert_eq!(
                    target.split("::").next().unwrap(),
                    own,
                    "{module} imports modes::{target}: no mode imports another"
                );
            }
        }
    }
}

#[test]
fn no_two_modules_import_each_other() {
    let graph = graph();
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for next in graph.get(&m).into_iter().flatten() {
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
    for (module, targets) in &graph {
        // A module may use its own submodules' items and they its own.
        for target in targets.iter().filter(|t| {
            !t.starts_with(&format!("{module}::")) && !module.starts_with(&format!("{t}::"))
        }) {
            assert!(
                !reaches(target, module),
                "import cycle: {module} imports {target}, which leads back to {module}"
            );
        }
    }
}

#[test]
fn architecture_md_names_every_source_file() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
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
