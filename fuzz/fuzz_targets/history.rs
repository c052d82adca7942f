#![no_main]
//! The PIPELINE.md reader: never panics; the team's text around the block
//! survives an update byte for byte, and the history it read renders into
//! a block that reads back the same.
use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use render_pilot::{layout, read_history, update, Entry, Layout};

fuzz_target!(|text: &str| {
    let Ok(before) = layout(text) else { return };
    let (entries, _) = read_history(before.ours());
    let entry = Entry {
        at: "9999-01-01T00:00:00Z".into(),
        services: BTreeMap::new(),
        serving: BTreeSet::new(),
    };
    let done = update(text, &[], entry.clone(), usize::MAX, true).expect("the layout was read");
    let page = done.page.expect("always writes");
    let after = layout(&page).expect("a block render-pilot wrote is closed");
    let (mut again, warnings) = read_history(after.ours());
    let ours = again.iter().rposition(|e| *e == entry).expect("the new entry");
    again.remove(ours);
    assert_eq!(again, entries);
    assert!(warnings.is_empty(), "{warnings:?}");
    if let (Layout::Block { before: b1, after: a1, .. }, Layout::Block { before: b2, after: a2, .. }) = (before, after) {
        assert_eq!((b1, a1), (b2, a2));
    }
});
