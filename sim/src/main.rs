//! `render-sim`: serves the simulator with a demo fleet on loopback and
//! prints how to reach it, for the README's end-to-end command and the
//! benchmarks. Stops on Ctrl-C or when stdin closes with `--until-stdin-closes`.
//! With `--git-root DIR`, serves the bare repository `DIR/shop.git` and
//! Render auto-deploys pushes to its `main` on the first service.

use std::path::PathBuf;
use std::time::Duration;

use render_sim::{
    git_auth_header, Fault, Outcome, Plan, RateLimit, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut address = "127.0.0.1:0".to_string();
    let mut latency = Duration::ZERO;
    let mut extra = 0usize;
    let mut rate: Option<u32> = None;
    let mut deploy_secs = 3u64;
    let mut build_ms: Option<u64> = None;
    let mut update_ms: Option<u64> = None;
    let mut outcome = Outcome::Live;
    let mut queued = false;
    let mut history_ms: Option<u64> = None;
    let mut poll_429: Option<u64> = None;
    let mut git_root: Option<PathBuf> = None;
    let mut auto_deploy_ms: Option<u64> = None;
    let mut until_stdin = false;
    let mut shell = false;
    let mut demo = true;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => address = value(),
            "--latency-ms" => latency = Duration::from_millis(number(&value())),
            "--services" => extra = number(&value()) as usize,
            "--rate-limit" => rate = Some(number(&value()) as u32),
            "--deploy-secs" => deploy_secs = number(&value()),
            "--build-ms" => build_ms = Some(number(&value())),
            "--update-ms" => update_ms = Some(number(&value())),
            "--outcome" => {
                outcome = match value().as_str() {
                    "live" => Outcome::Live,
                    "build_failed" => Outcome::BuildFailed,
                    "update_failed" => Outcome::UpdateFailed,
                    other => usage(&format!("unknown outcome {other}")),
                }
            }
            "--queued" => queued = true,
            "--history-ms" => history_ms = Some(number(&value())),
            "--poll-429" => poll_429 = Some(number(&value())),
            "--git-root" => git_root = Some(PathBuf::from(value())),
            "--auto-deploy-ms" => auto_deploy_ms = Some(number(&value())),
            "--until-stdin-closes" => until_stdin = true,
            "--shell" => shell = true,
            "--no-demo" => demo = false,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let sim = Sim::start_on(&address).unwrap_or_else(|e| {
        eprintln!("render-sim: cannot listen on {address}: {e}");
        std::process::exit(2)
    });
    let mut fleet = if demo { sim.demo_fleet() } else { Vec::new() };
    for i in 0..extra {
        let id = sim.add_service(ServiceSpec::web(&format!("svc-{i:04}")));
        sim.add_history(&id, "live", Duration::from_secs(3600));
        fleet.push(id);
    }
    let default = Plan::live(Duration::from_secs(deploy_secs));
    let plan = Plan {
        build: build_ms.map_or(default.build, Duration::from_millis),
        update: update_ms.map_or(default.update, Duration::from_millis),
        outcome,
        queued,
        ..default
    };
    for id in &fleet {
        sim.set_plan(id, plan.clone());
        // Recent deploys that took about as long (the poller reads them).
        if let Some(took) = history_ms {
            for hours in 1..=3 {
                let ago = Duration::from_secs(3600 * hours);
                sim.add_finished(id, "deactivated", ago, Duration::from_millis(took));
            }
        }
        if let Some(retry_after) = poll_429 {
            let polls = format!("/v1/services/{id}/deploys/");
            sim.fault(Fault::rate_limited("GET", &polls, 1, retry_after));
        }
    }
    if let Some(root) = &git_root {
        sim.serve_git(root.clone());
        if let Some(first) = fleet.first() {
            sim.set_repo(first, REPO);
        }
    }
    if let Some(ms) = auto_deploy_ms {
        sim.set_auto_deploy_delay(Duration::from_millis(ms));
    }
    sim.set_latency(latency);
    if let Some(limit) = rate {
        sim.set_rate_limit(Some(RateLimit {
            limit,
            window: Duration::from_secs(60),
        }));
    }
    let info = serde_json::json!({
        "url": sim.url,
        "render_api_url": sim.api_url(),
        "render_api_key": API_KEY,
        "github_api_url": sim.url,
        "github_token": GITHUB_TOKEN,
        "services": fleet,
        "deploy_hook": fleet.first().map(|id| sim.hook_url(id)),
    });
    if shell {
        // For scripts: one `export` per value, then a blank line.
        println!("export RENDER_API_URL='{}'", sim.api_url());
        println!("export RENDER_API_KEY='{API_KEY}'");
        if let Some(first) = fleet.first() {
            println!("export RENDER_DEPLOY_HOOK='{}'", sim.hook_url(first));
        }
        println!("export GITHUB_API_URL='{}'", sim.url);
        println!("export SIM_SERVICES='{}'", fleet.join(","));
        if git_root.is_some() {
            // Pushes send this header (git -c http.extraHeader=...), so no
            // credential is stored anywhere.
            println!("export SIM_GIT_URL='{}'", sim.git_url(REPO));
            println!("export SIM_GIT_AUTH='Authorization: {}'", git_auth_header());
        }
        println!();
    } else {
        println!("{info}");
    }
    if until_stdin {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    } else {
        loop {
            std::thread::park();
        }
    }
}

/// The repository under `--git-root` whose pushes the first service deploys.
const REPO: &str = "shop.git";

fn number(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| usage(&format!("'{text}' is not a number")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("render-sim: {problem}");
    }
    eprintln!("usage: render-sim [--listen ADDR] [--latency-ms N] [--services N] [--rate-limit GETS_PER_MIN] [--deploy-secs N] [--build-ms N] [--update-ms N] [--outcome live|build_failed|update_failed] [--queued] [--history-ms N] [--poll-429 RETRY_AFTER] [--git-root DIR] [--auto-deploy-ms N] [--until-stdin-closes] [--shell] [--no-demo]");
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}
