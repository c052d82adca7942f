#![no_main]
//! The log diagnoser: never panics, always names at least one cause, and
//! keeps its evidence bounded.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let findings = render_pilot::diagnose::diagnose(text);
    assert!(!findings.is_empty());
    for f in findings {
        assert!(f.evidence.len() <= 12);
        assert!(f.evidence.iter().all(|l| l.len() <= 1200));
    }
});
