#![no_main]
//! The log diagnoser and the failed-step reader: never panic, always name
//! at least one cause, and keep their evidence bounded.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let findings = render_pilot::diagnose(text);
    assert!(!findings.is_empty());
    for f in findings {
        assert!(f.evidence.len() <= 12);
        assert!(f.evidence.iter().all(|l| l.len() <= 1200));
    }
    let mut reader = render_pilot::StepReader::default();
    text.lines().for_each(|l| reader.feed(l));
    if let Some(step) = reader.finish("job") {
        assert!(step.lines.len() <= 40);
        assert!(step.lines.iter().all(|l| l.len() <= 1200));
    }
});
