//! README, action.yml and the command line describe one contract; these
//! tests keep them from drifting apart.

use std::collections::BTreeSet;

use crate::support::laptop;

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path).unwrap()
}

/// The keys of a top-level section of action.yml (`inputs:`, `outputs:`).
fn action_keys(section: &str) -> BTreeSet<String> {
    blocks("action.yml", section).into_keys().collect()
}

/// The text of each `  name:` block of a top-level section of an action.yml.
fn blocks(path: &str, section: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut name: Option<String> = None;
    let mut inside = false;
    for line in read(path).lines().filter(|l| !l.trim().is_empty()) {
        if !line.starts_with(' ') {
            inside = line == format!("{section}:");
            name = None;
            continue;
        }
        if !inside {
            continue;
        }
        match line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            Some(key) if !key.starts_with(' ') => {
                name = Some(key.to_string());
                out.insert(key.to_string(), String::new());
            }
            _ => {
                if let Some(n) = &name {
                    let block = out.get_mut(n).unwrap();
                    block.push_str(line);
                    block.push('\n');
                }
            }
        }
    }
    out
}

/// The first-column names of the table under a README heading.
fn readme_names(heading: &str) -> BTreeSet<String> {
    let text = read("README.md");
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no {heading}"));
    text[start + heading.len() + 2..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            l.split('|')
                .nth(1)?
                .trim()
                .strip_prefix('`')?
                .strip_suffix('`')
                .map(String::from)
        })
        .collect()
}

#[test]
fn readme_and_action_yml_list_the_same_inputs_and_outputs() {
    let inputs = action_keys("inputs");
    assert!(inputs.len() > 25, "{inputs:?}");
    assert_eq!(readme_names("### Inputs"), inputs);
    assert_eq!(readme_names("### Outputs"), action_keys("outputs"));
}

#[test]
fn every_input_is_a_flag_of_some_mode() {
    let help: String = ["deploy", "monitor", "recover"]
        .iter()
        .map(|mode| laptop().args(&[mode, "--help"]).run().stdout)
        .collect();
    for input in action_keys("inputs").iter().filter(|i| *i != "mode") {
        assert!(
            help.contains(&format!("--{input} ")),
            "--{input} is missing from every mode's --help"
        );
    }
}

#[test]
fn every_output_is_set_by_some_mode() {
    let sources = [
        "src/modes/deploy/mod.rs",
        "src/modes/monitor/mod.rs",
        "src/modes/recover/mod.rs",
    ]
    .map(read)
    .join("\n");
    for output in action_keys("outputs") {
        assert!(
            sources.contains(&format!("\"{output}\"")),
            "output {output} is never set"
        );
    }
}

/// The flags of `render-pilot <mode> --help`.
fn mode_flags(mode: &str) -> BTreeSet<String> {
    let help = laptop().args(&[mode, "--help"]).run().stdout;
    help.split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| w.trim_end_matches([',', '.']).to_string())
        .collect()
}

/// deploy/, monitor/ and recover/action.yml (written by scripts/actions)
/// declare exactly their mode's inputs, with the root's text, and outputs
/// that their mode sets.
#[test]
fn each_mode_action_declares_only_its_own_inputs_and_outputs() {
    let root_inputs = blocks("action.yml", "inputs");
    let root_outputs = blocks("action.yml", "outputs");
    for (mode, sources) in [
        ("deploy", "src/modes/deploy/mod.rs"),
        ("monitor", "src/modes/monitor/mod.rs"),
        ("recover", "src/modes/recover/mod.rs"),
    ] {
        let path = format!("{mode}/action.yml");
        let flags = mode_flags(mode);
        let expected: BTreeSet<String> = root_inputs
            .keys()
            .filter(|i| flags.contains(*i))
            .cloned()
            .collect();
        let inputs = blocks(&path, "inputs");
        assert_eq!(
            inputs.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{path}: run scripts/actions"
        );
        for (name, text) in &inputs {
            assert_eq!(
                text, &root_inputs[name],
                "{path}: input {name} differs from action.yml"
            );
        }
        let code = read(sources);
        for (name, text) in blocks(&path, "outputs") {
            assert_eq!(text, root_outputs[&name], "{path}: output {name}");
            assert!(
                code.contains(&format!("\"{name}\"")),
                "{path}: {mode} never sets {name}"
            );
        }
        let action = read(&path);
        assert!(
            action.contains(&format!("  args: [\"{mode}\"]\n")),
            "{path}"
        );
        let image = if mode == "recover" {
            "../Dockerfile"
        } else {
            "../Dockerfile.static"
        };
        assert!(
            action.contains(&format!(
                "\n  image: {image} # zizmor: ignore[unpinned-images] "
            )),
            "{path}: release.yml rewrites this line"
        );
    }
}

/// GitHub builds a Dockerfile's last stage: Dockerfile.static is the
/// Dockerfile without its recover stage and the argument only that stage
/// reads (each with the comment above it), written by scripts/actions.
#[test]
fn dockerfile_static_is_the_dockerfile_without_the_recover_stage() {
    let dockerfile = read("Dockerfile");
    let lines: Vec<&str> = dockerfile.lines().collect();
    let commented_from = |mut at: usize| {
        while at > 0 && lines[at - 1].starts_with('#') {
            at -= 1;
        }
        at
    };
    let recover = lines
        .iter()
        .position(|l| l.starts_with("FROM ") && l.ends_with(" AS recover"))
        .unwrap();
    let node_base = lines
        .iter()
        .position(|l| l.starts_with("ARG NODE_BASE="))
        .unwrap();
    let mut kept = lines[..commented_from(node_base)].to_vec();
    kept.extend(&lines[node_base + 1..commented_from(recover)]);
    while kept.last() == Some(&"") {
        kept.pop();
    }
    kept.splice(
        1..1,
        [
            "# Written by scripts/actions from Dockerfile, without its recover stage:",
            "# edit that file and run the script.",
        ],
    );
    let written = read("Dockerfile.static");
    assert_eq!(written, kept.join("\n") + "\n", "run scripts/actions");
    assert_eq!(
        written.lines().rfind(|l| l.starts_with("FROM ")),
        Some("FROM scratch AS static")
    );
}

/// What the build pulls is pinned by digest with its tag beside it: the
/// syntax line as `name:tag@sha256:…`, every other pin as `name@sha256:…`
/// under a comment that begins with `name:tag`.
#[test]
fn the_dockerfiles_pin_what_they_pull_by_digest() {
    let is_digest = |d: &str| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
    for path in ["Dockerfile", "Dockerfile.static"] {
        let text = read(path);
        let lines: Vec<&str> = text.lines().collect();
        let syntax = lines[0]
            .strip_prefix("# syntax=docker/dockerfile:")
            .and_then(|s| s.split_once("@sha256:"));
        assert!(
            syntax.is_some_and(|(tag, digest)| !tag.is_empty() && is_digest(digest)),
            "{path}: {}",
            lines[0]
        );
        let mut pins = 0;
        for (at, line) in lines.iter().enumerate() {
            let Some(image) = line
                .strip_prefix("FROM ")
                .and_then(|l| l.split_whitespace().next())
                .or_else(|| line.strip_prefix("ARG NODE_BASE="))
            else {
                continue;
            };
            if image == "scratch" || image.starts_with("${") {
                continue;
            }
            let (name, digest) = image
                .split_once("@sha256:")
                .unwrap_or_else(|| panic!("{path}: {line} is not pinned by digest"));
            assert!(is_digest(digest), "{path}: {line}");
            let mut comment = at;
            while lines[comment - 1].starts_with('#') {
                comment -= 1;
            }
            assert!(
                lines[comment].starts_with(&format!("# {name}:")),
                "{path}: {line} needs its tag in the comment above it"
            );
            pins += 1;
        }
        assert_eq!(pins, if path == "Dockerfile" { 2 } else { 1 }, "{path}");
    }
    // The stand-in for the recover image's base runs the pinned image's Node.js.
    let node = read("tests/node-base.sh")
        .lines()
        .find_map(|l| l.strip_prefix("NODE_VERSION=").map(str::to_string))
        .unwrap();
    assert!(
        read("Dockerfile").contains(&format!("# node:22-bookworm-slim (Node.js {node})")),
        "tests/node-base.sh's Node.js {node} is not the pinned image's"
    );
}

/// README and the examples use the tags the release makes from Cargo.toml's
/// version: `@v<major>` and images `:<version>` or `:v<major>`.
#[test]
fn documented_tags_are_the_ones_the_release_makes() {
    let version = read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .to_string();
    let major = version.split('.').next().unwrap();
    assert_ne!(major, "0", "a 0.x version would release @v0");
    let mut texts = vec![("README.md".to_string(), read("README.md"))];
    for example in ["deploy", "monitor", "auto-recovery", "follow", "preview"] {
        let path = format!("examples/workflows/{example}.yaml");
        texts.push((path.clone(), read(&path)));
    }
    let mut seen = 0;
    for (path, text) in &texts {
        for (at, _) in text.match_indices("render-pilot/render-pilot") {
            let rest = &text[at + "render-pilot/render-pilot".len()..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '`' || c == ')')
                .unwrap_or(rest.len());
            let reference = &rest[..end];
            if let Some((_, tag)) = reference.split_once('@') {
                seen += 1;
                assert_eq!(tag, format!("v{major}"), "{path}: {reference}");
            }
            if let Some(tag) = reference.strip_prefix(':') {
                seen += 1;
                let tag = tag.trim_end_matches("-recover");
                assert!(
                    tag == format!("v{major}") || tag == version,
                    "{path}: image tag {tag}"
                );
            }
        }
    }
    assert!(seen >= 4, "{seen} references checked");
    let release = read(".github/workflows/release.yml");
    assert!(release.contains("--tag \"$image:v$major$suffix\""));
    assert!(read("CHANGELOG.md").contains(&format!("## [{version}]")));
}

/// The cells of each row of the table under a README heading, by name.
fn readme_rows(heading: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let text = read("README.md");
    let start = text.find(&format!("\n{heading}\n")).unwrap();
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cells: Vec<String> = l.split('|').map(|c| c.trim().to_string()).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells[2..].to_vec()))
        })
        .collect()
}

/// The settings table (src/settings/table.rs) is the one source of
/// defaults and fallbacks: action.yml, README and `--help` show it.
#[test]
fn action_yml_readme_and_help_show_the_settings_table() {
    use render_pilot::{help_suffix, Mode, WhenUnset, INPUTS};
    let action = blocks("action.yml", "inputs");
    let readme = readme_rows("### Inputs");
    let unbacktick = |t: &str| t.replace('`', "");
    let names: BTreeSet<&str> = INPUTS.iter().map(|i| i.name).collect();
    assert_eq!(
        action
            .keys()
            .filter(|k| *k != "mode")
            .cloned()
            .collect::<BTreeSet<_>>(),
        names.iter().map(|n| n.to_string()).collect(),
        "action.yml and the settings table list other inputs"
    );
    for name in names {
        let rows: Vec<_> = INPUTS.iter().filter(|i| i.name == name).collect();
        let want = match rows[0].default {
            WhenUnset::Value(v) => format!("default: \"{v}\""),
            WhenUnset::Action(v) => format!("default: {v}"),
            _ => "default: \"\"".into(),
        };
        assert!(
            action[name].contains(&format!("    {want}\n")),
            "action.yml {name}: want {want}"
        );
        let cells = &readme[name];
        let fallback = rows[0].fallback.map_or(String::new(), |f| format!("`{f}`"));
        assert_eq!(cells[0], fallback, "README fallback of {name}");
        let shown = |d: WhenUnset| match d {
            WhenUnset::Value(v) | WhenUnset::Action(v) => format!("`{v}`"),
            WhenUnset::Derived(text) => text.to_string(),
            WhenUnset::Nothing => String::new(),
        };
        let default = if rows.len() == 1 {
            shown(rows[0].default)
        } else {
            rows.iter()
                .map(|r| format!("{}: {}", r.modes[0].name(), shown(r.default)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert_eq!(
            unbacktick(&cells[1]),
            unbacktick(&default),
            "README default of {name}"
        );
        let modes: Vec<Mode> = Mode::ALL
            .into_iter()
            .filter(|m| rows.iter().any(|r| r.modes.contains(m)))
            .collect();
        let modes = if modes.len() == 3 {
            "all".to_string()
        } else {
            modes
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(cells[2], modes, "README modes of {name}");
    }
    for mode in Mode::ALL {
        // One line per flag: the text, not the wrapping, is checked here.
        let help = laptop()
            .env("COLUMNS", "1000")
            .args(&[mode.name(), "--help"])
            .run()
            .stdout;
        for row in INPUTS.iter().filter(|i| i.modes.contains(&mode)) {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("--{} ", row.name)))
                .unwrap_or_else(|| panic!("{} --help has no --{}", mode.name(), row.name));
            assert!(
                line.ends_with(&help_suffix(row)),
                "{} --help, --{}: {line}",
                mode.name(),
                row.name
            );
        }
    }
}

/// scripts/test prefetches the product's default pnpm first: the tests
/// cannot download it.
#[test]
fn the_test_setup_prefetches_the_default_pnpm() {
    let script = read("scripts/test");
    let versions = script
        .lines()
        .find_map(|l| l.strip_prefix("PNPM_VERSIONS=("))
        .expect("scripts/test sets PNPM_VERSIONS");
    assert_eq!(
        versions.split_whitespace().next(),
        Some(render_pilot::DEFAULT_PNPM)
    );
}

/// BuildKit sets TARGETARCH from `--platform`; a default in the Dockerfile
/// would win over it and put the amd64 binary into the arm64 image.
#[test]
fn the_dockerfile_takes_the_architecture_from_the_build() {
    let dockerfile = read("Dockerfile");
    let declared: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("ARG TARGETARCH"))
        .collect();
    assert!(!declared.is_empty());
    assert!(
        declared.iter().all(|l| l.trim() == "ARG TARGETARCH"),
        "{declared:?}"
    );
}

/// The README shows each of its charts as GitHub draws it: the N-th
/// ```mermaid block is followed by `docs/images/readme-N.png`, which
/// `scripts/mermaid-images` makes, and no picture is left over.
#[test]
fn every_readme_chart_has_its_picture() {
    let readme = read("README.md");
    let charts = readme.matches("```mermaid\n").count();
    let pictures: Vec<String> = (1..=charts)
        .map(|n| format!("(docs/images/readme-{n}.png)"))
        .collect();
    for (n, picture) in pictures.iter().enumerate() {
        let chart = readme.match_indices("```mermaid\n").nth(n).unwrap().0;
        let next = readme[chart + 1..]
            .find("```mermaid\n")
            .map_or(readme.len(), |i| chart + 1 + i);
        assert!(
            readme[chart..next].contains(picture.as_str()),
            "README's chart {} has no {picture}",
            n + 1
        );
        let file = picture.trim_matches(['(', ')']);
        assert!(
            read_bytes(file).starts_with(b"\x89PNG"),
            "{file} is not a PNG"
        );
    }
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/images")).unwrap();
    assert_eq!(
        files.count(),
        charts,
        "docs/images holds one picture per chart"
    );
}

fn read_bytes(path: &str) -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path).unwrap()
}
