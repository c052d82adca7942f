#![no_main]
//! The workflow_run payload reader: never panics on any bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(Some(run)) = render_pilot::read_event(text) {
        let _ = (
            run.distrust("acme/shop"),
            run.workflow_name(),
            run.workflow_ref(),
            run.head_repository_name(),
            run.workflow_key(),
            run.attempt(),
        );
    }
});
