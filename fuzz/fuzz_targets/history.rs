#![no_main]
//! The PIPELINE.md history reader: never panics, and what it reads renders
//! into a page that reads back the same.
use libfuzzer_sys::fuzz_target;
use render_pilot::pipeline::{read_history, render};

fuzz_target!(|text: &str| {
    let (entries, _) = read_history(text);
    let page = render(&[], &entries);
    let (again, warnings) = read_history(&page);
    assert_eq!(again, entries);
    assert!(warnings.is_empty(), "{warnings:?}");
});
