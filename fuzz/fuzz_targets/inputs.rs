#![no_main]
//! Duration, boolean and number parsers: never panic; durations round-trip
//! through plain seconds.
use libfuzzer_sys::fuzz_target;
use render_pilot::{parse_bool, parse_duration, parse_number};

fuzz_target!(|text: &str| {
    let _ = parse_bool("wait", text);
    let _ = parse_number("history", text, 1, 10_000);
    if let Ok(d) = parse_duration("timeout", text) {
        if d.subsec_nanos() == 0 {
            assert_eq!(
                parse_duration("timeout", &d.as_secs().to_string()).unwrap(),
                d
            );
        }
    }
});
