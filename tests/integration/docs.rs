//! README, action.yml and the command line describe one contract; these
//! tests keep them from drifting apart.

use std::collections::BTreeSet;

use crate::support::laptop;

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path).unwrap()
}

/// The keys of a top-level section of action.yml (`inputs:`, `outputs:`).
fn action_keys(section: &str) -> BTreeSet<String> {
    let text = read("action.yml");
    let mut keys = BTreeSet::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line == format!("{section}:");
            continue;
        }
        if inside {
            if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                if !key.starts_with(' ') {
                    keys.insert(key.to_string());
                }
            }
        }
    }
    keys
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
    let sources = ["src/deploy/mod.rs", "src/monitor.rs", "src/recover/mod.rs"]
        .map(read)
        .join("\n");
    for output in action_keys("outputs") {
        assert!(
            sources.contains(&format!("\"{output}\"")),
            "output {output} is never set"
        );
    }
}
