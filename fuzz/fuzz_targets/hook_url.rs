#![no_main]
//! The hook parser: never panics, and neither its warnings nor its errors
//! echo the `key=` value. The echo check uses keys shaped like real ones
//! (letters with upper case and digits): shorter or plainer fuzzed keys can be
//! pieces of the fixed explanations.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let key = text
        .split_once("key=")
        .map(|(_, rest)| rest.split(['&', ' ', '\n', '\t', '#']).next().unwrap_or(""))
        .unwrap_or("");
    match render_pilot::parse_hook(text) {
        Ok((hook, warnings)) => {
            assert!(hook.id.starts_with("srv-") || hook.id.starts_with("exs-"));
            for w in warnings {
                assert!(key.is_empty() || !w.contains(&format!("key={key}")), "{w}");
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("deploy-hook-url:"));
            let key_like = key.len() >= 6
                && key.chars().all(|c| c.is_ascii_alphanumeric())
                && key.chars().any(|c| c.is_ascii_digit())
                && key.chars().any(|c| c.is_ascii_uppercase());
            assert!(!key_like || !message.contains(key), "{message}");
        }
    }
});
