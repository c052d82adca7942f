//! Diagnosis of a 50 MB job log: a build log of ordinary lines, generated
//! from a fixed seed, with a pnpm lockfile error near the start and a git
//! push rejection near the end. Prints one JSON line per run: the
//! diagnosis, and the failed-step reader recover runs beside it.

use std::time::Instant;

fn log(bytes: usize) -> String {
    let mut seed: u64 = 0x5eed_1234_abcd_ef01;
    let words = [
        "compiling",
        "resolving",
        "module",
        "ok",
        "warning:",
        "node_modules/.pnpm",
        "src/index.ts",
        "built in",
        "chunk",
        "\u{1b}[32mdone\u{1b}[0m",
    ];
    let mut out = String::with_capacity(bytes + 200);
    out.push_str("2026-11-29T10:00:00.0000000Z  ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\"\n");
    let mut n = 0u64;
    while out.len() < bytes {
        n += 1;
        out.push_str(&format!(
            "2026-11-29T10:{:02}:{:02}.{:07}Z ",
            (n / 60) % 60,
            n % 60,
            n % 10_000_000
        ));
        for _ in 0..8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            out.push_str(words[(seed % words.len() as u64) as usize]);
            out.push(' ');
        }
        out.push('\n');
    }
    out.push_str(" ! [rejected]        main -> main (fetch first)\n##[error]Process completed with exit code 1.\n");
    out
}

fn main() {
    let size = 50 * 1024 * 1024;
    let text = log(size);
    for _ in 0..5 {
        let started = Instant::now();
        let findings = render_pilot::diagnose(&text);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let causes: Vec<&str> = findings.iter().map(|f| f.cause.name()).collect();
        assert_eq!(causes, ["lockfile", "push-race"]);
        let started = Instant::now();
        let mut reader = render_pilot::StepReader::default();
        text.lines().for_each(|l| reader.feed(l));
        assert!(reader.finish("build").is_some());
        let step_ms = started.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{{\"bytes\":{},\"ms\":{ms:.1},\"step_ms\":{step_ms:.1}}}",
            text.len()
        );
    }
}
