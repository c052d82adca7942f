#![no_main]
//! The log diagnoser, the failed-step reader and a failure's explanation:
//! never panic, always name at least one cause, keep their evidence
//! bounded, and quote no terminal escape.
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
    let why = render_pilot::explain(text.lines());
    assert!(why.lines.len() <= 30);
    assert!(why
        .lines
        .iter()
        .all(|l| l.len() <= 1200 && !l.contains('\u{1b}') && !l.contains('\u{9b}')));
});
