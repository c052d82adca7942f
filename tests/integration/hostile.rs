//! Bad input: one table, every mode. Each case must exit 2 (bad input or
//! configuration) with one message that names the input and the fix, never
//! panic, and change nothing: no request that changes state, no output.

use render_sim::{BuildError, Outcome, Plan, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{git, remote};
use crate::support::rp;

const HOOK: &str = "https://api.render.com/deploy/srv-abc123?key=GoodKey123";

struct Case {
    name: &'static str,
    inputs: Vec<(&'static str, String)>,
    env: Vec<(&'static str, String)>,
    /// The input the message must name, and a word of the fix.
    says: &'static str,
}

fn case(name: &'static str, inputs: Vec<(&'static str, String)>, says: &'static str) -> Case {
    Case {
        name,
        inputs,
        env: Vec::new(),
        says,
    }
}

fn o(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

impl Case {
    fn env(mut self, name: &'static str, value: &str) -> Case {
        self.env.push((name, value.to_string()));
        self
    }
}

#[test]
fn bad_input_matrix() {
    let sim = Sim::start();
    let service = sim.add_service(ServiceSpec::web("web"));
    let api = sim.api_url();
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let detached = tempfile::tempdir().unwrap();
    let detached_clone = remote.clone_into(detached.path());
    git(&detached_clone, &["checkout", "-q", "--detach"]);
    let not_a_repo = tempfile::tempdir().unwrap();
    let event = not_a_repo.path().join("event.json");
    std::fs::write(&event, "{not json").unwrap();
    let push_event = not_a_repo.path().join("push.json");
    std::fs::write(&push_event, r#"{"ref":"refs/heads/main","commits":[]}"#).unwrap();
    let huge = format!(
        "https://api.render.com/deploy/srv-abc?key={}",
        "k".repeat(100_000)
    );

    let d = |extra: &[(&'static str, &str)]| {
        let mut inputs = o(&[("mode", "deploy"), ("deploy-hook-url", HOOK)]);
        inputs.extend(o(extra));
        inputs
    };
    let with_api = |extra: &[(&'static str, &str)]| {
        let mut inputs = d(&[
            ("render-api-key", API_KEY),
            ("render-api-url", api.as_str()),
        ]);
        inputs.extend(o(extra));
        inputs
    };
    let m = |extra: &[(&'static str, &str)]| {
        let mut inputs = o(&[
            ("mode", "monitor"),
            ("render-api-key", API_KEY),
            ("render-api-url", api.as_str()),
            ("github-token", GITHUB_TOKEN),
            ("services", service.as_str()),
        ]);
        inputs.extend(o(extra));
        inputs
    };
    let r = |extra: &[(&'static str, &str)]| {
        let mut inputs = o(&[
            ("mode", "recover"),
            ("github-token", GITHUB_TOKEN),
            ("run-id", "1"),
        ]);
        inputs.extend(o(extra));
        inputs
    };
    let ws = |c: Case, path: &std::path::Path| c.env("GITHUB_WORKSPACE", path.to_str().unwrap());

    let cases = vec![
        // deploy: the hook
        case(
            "malformed hook",
            o(&[("mode", "deploy"), ("deploy-hook-url", "not a url")]),
            "deploy-hook-url: contains a space",
        ),
        case(
            "scheme-less hook",
            o(&[
                ("mode", "deploy"),
                ("deploy-hook-url", "api.render.com/deploy/srv-a?key=k"),
            ]),
            "deploy-hook-url: is not an absolute URL",
        ),
        case(
            "relative hook",
            o(&[
                ("mode", "deploy"),
                ("deploy-hook-url", "/deploy/srv-a?key=k"),
            ]),
            "deploy-hook-url: is not an absolute URL",
        ),
        case(
            "http hook on a public host",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "http://api.render.com/deploy/srv-a?key=k",
                ),
            ]),
            "deploy-hook-url: uses plain http://",
        ),
        case(
            "wrong host",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://api.render.com.evil.example/deploy/srv-a?key=k",
                ),
            ]),
            "deploy-hook-url: points at another host",
        ),
        case(
            "wrong path",
            o(&[
                ("mode", "deploy"),
                ("deploy-hook-url", "https://api.render.com/v1/deploy?key=k"),
            ]),
            "deploy-hook-url: has a path other than",
        ),
        case(
            "missing key",
            o(&[
                ("mode", "deploy"),
                ("deploy-hook-url", "https://api.render.com/deploy/srv-a"),
            ]),
            "deploy-hook-url: has no key=",
        ),
        case(
            "key with a space",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://api.render.com/deploy/srv-a?key=ab cd",
                ),
            ]),
            "deploy-hook-url: contains a space inside the key",
        ),
        case(
            "key with a newline",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://api.render.com/deploy/srv-a?key=ab\ncd",
                ),
            ]),
            "deploy-hook-url: contains a newline inside the key",
        ),
        case(
            "non-ASCII key",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://api.render.com/deploy/srv-a?key=käy",
                ),
            ]),
            "deploy-hook-url: contains non-ASCII",
        ),
        case(
            "invalid srv id in the hook",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://api.render.com/deploy/srv-ABC?key=k",
                ),
            ]),
            "deploy-hook-url: names no service id",
        ),
        case(
            "Blueprint hook with wait",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://api.render.com/deploy/exs-abc?key=k",
                ),
                ("render-api-key", API_KEY),
                ("render-api-url", &api),
            ]),
            "wait: a Blueprint hook",
        ),
        case(
            "huge hook",
            o(&[
                ("mode", "deploy"),
                ("deploy-hook-url", &huge),
                ("clear-cache", "yes"),
            ]),
            "clear-cache: works only with the API trigger",
        ),
        // deploy: other inputs
        case(
            "invalid service-id",
            d(&[("service-id", "srv_123")]),
            "service-id: 'srv_123' is not a Render service id",
        ),
        case(
            "unknown mode",
            o(&[("mode", "destroy")]),
            "mode: 'destroy' is not a mode",
        ),
        case(
            "bad boolean",
            with_api(&[("wait", "maybe")]),
            "wait: 'maybe' is not a boolean",
        ),
        case(
            "bad duration",
            with_api(&[("timeout", "5x")]),
            "timeout: '5x' is not a duration",
        ),
        case(
            "zero timeout",
            with_api(&[("timeout", "0")]),
            "timeout: '0' is not more than zero",
        ),
        case(
            "timeout past a job's life",
            with_api(&[("timeout", "7h")]),
            "timeout: must be at most 6h",
        ),
        case(
            "huge number",
            with_api(&[("timeout", "99999999999999999999")]),
            "timeout: '99999999999999999999' is not a duration",
        ),
        case(
            "unknown build-log",
            with_api(&[("build-log", "sometimes")]),
            "build-log: 'sometimes' is not a choice; choose auto, always or never",
        ),
        case(
            "commit not a SHA",
            d(&[("commit", "main")]),
            "commit: 'main' is not a commit SHA",
        ),
        case(
            "commit and image",
            d(&[("commit", "abcdef1"), ("image", "docker.io/a/b:1")]),
            "commit: and image were both given",
        ),
        case(
            "image with spaces",
            d(&[("image", "docker.io/a b")]),
            "image: 'docker.io/a b' is not an image reference",
        ),
        case(
            "image with a registry login and a space",
            d(&[(
                "image",
                "deployer:S3cretPassw0rd@registry.example.com/org/my app",
            )]),
            "image: 'registry.example.com/org/my app' is not an image reference",
        ),
        case(
            "clear-cache with a hook",
            d(&[("clear-cache", "true")]),
            "clear-cache: works only with the API trigger",
        ),
        case(
            "wait without an API key",
            d(&[("wait", "true")]),
            "wait: needs render-api-key",
        ),
        case(
            "health-path without a slash",
            with_api(&[("health-path", "healthz")]),
            "health-path: 'healthz' is not a URL path",
        ),
        case(
            "health-path without waiting",
            with_api(&[("health-path", "/healthz"), ("wait", "false")]),
            "health-path: needs wait: true",
        ),
        case(
            "bad health-timeout",
            with_api(&[("health-path", "/healthz"), ("health-timeout", "soon")]),
            "health-timeout: 'soon' is not a duration",
        ),
        case(
            "render-api-url not a URL",
            d(&[
                ("render-api-key", API_KEY),
                ("render-api-url", "api.render.com"),
            ]),
            "render-api-url: 'api.render.com' is not a URL",
        ),
        case(
            "render-api-url over http",
            d(&[
                ("render-api-key", API_KEY),
                ("render-api-url", "http://api.render.com/v1"),
            ]),
            "render-api-url: uses plain http://",
        ),
        case(
            "render-api-url with credentials",
            d(&[
                ("render-api-key", API_KEY),
                (
                    "render-api-url",
                    "https://me:Passw0rdInUrl@api.render.com/v1",
                ),
            ]),
            "render-api-url: carries credentials",
        ),
        case(
            "hook with credentials",
            o(&[
                ("mode", "deploy"),
                (
                    "deploy-hook-url",
                    "https://me:Passw0rdInUrl@api.render.com/deploy/srv-abc123?key=GoodKey123",
                ),
            ]),
            "deploy-hook-url",
        ),
        case(
            "issue-label with a comma (monitor)",
            m(&[("issue-label", "render-pilot,ops")]),
            "issue-label: must be one label",
        ),
        case(
            "issue-label with a newline (recover)",
            r(&[("issue-label", "ops\nurgent")]),
            "issue-label: must be one label",
        ),
        case(
            "commit-author over two lines (monitor)",
            m(&[(
                "commit-author",
                "Bot <bot@example.com>\nCo-authored-by: x <x@y>",
            )]),
            "commit-author",
        ),
        case(
            "commit-author with a newline in the name (recover)",
            r(&[("commit-author", "Bot\nEvil <bot@example.com>")]),
            "commit-author",
        ),
        case(
            "API key with a space",
            d(&[("render-api-key", "rnd_abc def")]),
            "render-api-key: contains whitespace",
        ),
        case(
            "no hook and no key",
            o(&[("mode", "deploy")]),
            "deploy-hook-url: is not set",
        ),
        case(
            "dry-run not a boolean",
            d(&[("dry-run", "perhaps")]),
            "dry-run: 'perhaps' is not a boolean",
        ),
        case(
            "service-id of another service than the hook's",
            d(&[("service-id", "srv-other")]),
            "service-id: is srv-other, but deploy-hook-url deploys srv-",
        ),
        case(
            "trigger none without an API key",
            d(&[("trigger", "none")]),
            "trigger: is none: render-pilot follows the deploy Render starts",
        ),
        case(
            "unknown trigger",
            d(&[("trigger", "webhook")]),
            "trigger: 'webhook' is not a trigger; choose auto, hook, api or none",
        ),
        case(
            "trigger none without waiting",
            with_api(&[
                ("trigger", "none"),
                ("wait", "false"),
                ("commit", "0123456789abcdef"),
            ]),
            "wait: is false, but trigger: none only follows Render's deploy",
        ),
        case(
            "pr-comment outside a pull request",
            with_api(&[("pr-comment", "true")]),
            "pr-comment: comments on a pull request's preview",
        ),
        case(
            "unwritable GITHUB_OUTPUT",
            d(&[]),
            "GITHUB_OUTPUT: cannot write",
        )
        .env("GITHUB_OUTPUT", "/proc/nope/output"),
        case(
            "unwritable GITHUB_STEP_SUMMARY",
            d(&[]),
            "GITHUB_STEP_SUMMARY or --summary-file: cannot write",
        )
        .env("GITHUB_STEP_SUMMARY", "/proc/nope/summary"),
        // monitor
        case(
            "monitor without an API key",
            o(&[("mode", "monitor"), ("services", "srv-abc")]),
            "render-api-key: is not set",
        ),
        case(
            "invalid service in services",
            m(&[("services", "srv-abc, web")]),
            "services: 'web' is not a service id",
        ),
        case(
            "empty service list",
            m(&[("services", ", ,")]),
            "services: lists no service",
        ),
        case(
            "status-file names a folder",
            m(&[("status-file", "docs/")]),
            "status-file: 'docs/' names a folder or has an empty or '.' part",
        ),
        case(
            "status-file with an empty part",
            m(&[("status-file", "docs//PIPELINE.md")]),
            "status-file: 'docs//PIPELINE.md' names a folder",
        ),
        case(
            "history zero",
            m(&[("keep", "0")]),
            "keep: '0' is not a whole number from 1 to 10000",
        ),
        case(
            "history not a number",
            m(&[("keep", "lots")]),
            "keep: 'lots' is not a whole number",
        ),
        case(
            "concurrency too high",
            m(&[("concurrency", "1000")]),
            "concurrency: '1000' is not a whole number from 1 to 64",
        ),
        case(
            "unknown commit-mode",
            m(&[("commit-mode", "sometimes")]),
            "commit-mode: 'sometimes' is not a commit mode",
        ),
        case(
            "status-file outside the repository",
            m(&[("status-file", "../../etc/passwd")]),
            "status-file: '../../etc/passwd' must be a relative path",
        ),
        case(
            "absolute status-file",
            m(&[("status-file", "/tmp/PIPELINE.md")]),
            "status-file: '/tmp/PIPELINE.md' must be a relative path",
        ),
        case(
            "status-file in .git",
            m(&[("status-file", ".git/config")]),
            "status-file: '.git/config' is inside .git",
        ),
        case(
            "health-retries too high",
            m(&[("health-retries", "50")]),
            "health-retries: '50' is not a whole number from 0 to 10",
        ),
        case(
            "health-retries not a number",
            m(&[("health-retries", "-1")]),
            "health-retries: '-1' is not a whole number",
        ),
        case(
            "monitor health-timeout not a duration",
            m(&[("health-timeout", "soon")]),
            "health-timeout",
        ),
        case(
            "issues without a token",
            o(&[
                ("mode", "monitor"),
                ("render-api-key", API_KEY),
                ("render-api-url", &api),
                ("services", &service),
            ]),
            "github-token: is not set",
        ),
        case(
            "bad commit-author",
            m(&[("commit-author", "bot")]),
            "commit-author: 'bot' is not like `Name <email>`",
        ),
        case(
            "bad fail-on-unhealthy",
            m(&[("fail-on-unhealthy", "perhaps")]),
            "fail-on-unhealthy: 'perhaps' is not a boolean",
        ),
        ws(
            case("workspace not a git repository", m(&[]), "workspace: "),
            not_a_repo.path(),
        ),
        ws(
            case(
                "detached HEAD and no branch",
                m(&[]),
                "branch: is not known",
            ),
            &detached_clone,
        )
        .env("GITHUB_REF", "refs/tags/v1"),
        ws(
            case(
                "invalid branch name",
                m(&[("branch", "a..b")]),
                "branch: 'a..b' is not a valid branch name",
            ),
            &clone,
        ),
        case(
            "GITHUB_REPOSITORY missing",
            m(&[("commit-mode", "never")]),
            "GITHUB_REPOSITORY: is not set",
        )
        .env("GITHUB_REPOSITORY", ""),
        case(
            "GITHUB_API_URL over http",
            m(&[("commit-mode", "never")]),
            "GITHUB_API_URL: uses plain http://",
        )
        .env("GITHUB_API_URL", "http://api.github.com"),
        // recover
        case(
            "recover without a token",
            o(&[("mode", "recover"), ("run-id", "1")]),
            "github-token: is not set",
        ),
        case(
            "recover with no event",
            o(&[("mode", "recover"), ("github-token", GITHUB_TOKEN)]),
            "run-id: is not set and there is no GITHUB_EVENT_PATH",
        ),
        case(
            "malformed event",
            o(&[("mode", "recover"), ("github-token", GITHUB_TOKEN)]),
            "GITHUB_EVENT_PATH: does not hold valid JSON",
        )
        .env("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        case(
            "not a workflow_run event",
            o(&[("mode", "recover"), ("github-token", GITHUB_TOKEN)]),
            "run-id: is not set and the event is not workflow_run",
        )
        .env("GITHUB_EVENT_PATH", push_event.to_str().unwrap()),
        case(
            "missing event file",
            o(&[("mode", "recover"), ("github-token", GITHUB_TOKEN)]),
            "GITHUB_EVENT_PATH: cannot read",
        )
        .env("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
        case(
            "run-id not a number",
            r(&[("run-id", "latest")]),
            "run-id: 'latest' is not a whole number",
        ),
        case(
            "unknown fix",
            r(&[("fixes", "lockfile,magic")]),
            "fixes: 'magic' is not a fix",
        ),
        case(
            "max-attempts zero",
            r(&[("max-attempts", "0")]),
            "max-attempts: '0' is not a whole number from 1 to 10",
        ),
        // every input empty
        case(
            "everything empty",
            o(&[
                ("mode", ""),
                ("deploy-hook-url", ""),
                ("render-api-key", ""),
                ("wait", ""),
                ("timeout", ""),
            ]),
            "mode: is not set",
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());

    // Every case runs and reports; the messages are one snapshot.
    let mut failures = Vec::new();
    let mut messages = String::new();
    for c in &cases {
        match run_case(&sim, &clone, c) {
            Ok(message) => {
                let message = message
                    .replace(&sim.url, "<sim>")
                    .replace(&*dir.path().to_string_lossy(), "<tmp>")
                    .replace(&*detached.path().to_string_lossy(), "<tmp>")
                    .replace(&*not_a_repo.path().to_string_lossy(), "<tmp>");
                messages.push_str(&format!("{}\n  {message}\n", c.name));
            }
            Err(failure) => failures.push(format!("{}: {failure}", c.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    insta::assert_snapshot!("bad_input_messages", messages);
    assert_eq!(remote.log().len(), 1, "no commit");
    assert!(sim.issues().is_empty());
}

/// Runs one case; returns its one error message, or what went wrong.
fn run_case(sim: &Sim, clone: &std::path::Path, c: &Case) -> Result<String, String> {
    sim.clear_requests();
    let mut run = rp()
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_REF_NAME", "main");
    if !c.env.iter().any(|(k, _)| *k == "GITHUB_WORKSPACE") {
        run = run.env("GITHUB_WORKSPACE", clone.to_str().unwrap());
    }
    for (k, v) in &c.inputs {
        run = run.input(k, v);
    }
    for (k, v) in &c.env {
        run = run.env(k, v);
    }
    let out = run.run();
    if out.code != Some(2) {
        return Err(format!("exit code {:?}\n{}", out.code, out.log()));
    }
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .chain(out.stderr.lines())
        .filter(|l| l.contains("::error") || l.starts_with("error:"))
        .collect();
    let [message] = errors[..] else {
        return Err(format!("{} messages, not one\n{}", errors.len(), out.log()));
    };
    if !message.contains(c.says) {
        return Err(format!("expected {:?} in {message:?}", c.says));
    }
    if message.len() >= 600 {
        return Err(format!("the message is {} bytes long", message.len()));
    }
    if !out.outputs.is_empty() {
        return Err(format!("outputs were set: {:?}", out.outputs));
    }
    let changed: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| r.path)
        .collect();
    if !changed.is_empty() {
        return Err(format!("nothing may change, yet {changed:?}"));
    }
    Ok(message.to_string())
}

/// Hostile lines in Render's build log, each with what must still show of
/// it: streamed into the job log, quoted in the summary and in monitor's
/// issue, none may become a runner command (every run's output is read with
/// the runner's rules), a terminal escape, a link, markup outside its fence,
/// or a leaked secret.
const HOSTILE_LINES: [(&str, &str, &str); 12] = [
    (
        "runner commands",
        "::error::forged\n::add-mask::forged",
        "⟫ ::error::forged",
    ),
    (
        "stop-commands after spaces",
        "  ::stop-commands::pause",
        "⟫   ::stop-commands::pause",
    ),
    (
        "legacy command mid-line",
        "built ##[set-output name=x;]forged",
        "built ##⟫[set-output name=x;]forged",
    ),
    (
        "OSC-8 hyperlink",
        "see \u{1b}]8;;https://evil.example\u{1b}\\the docs\u{1b}]8;;\u{1b}\\ now",
        "see the docs now",
    ),
    (
        "colours, clear screen, cursor",
        "\u{1b}[31mred\u{1b}[0m \u{1b}[2J\u{1b}[Hcleared",
        "red cleared",
    ),
    (
        "window title and clipboard",
        "\u{1b}]0;pwned\u{7}\u{1b}]52;c;cGF5bG9hZA==\u{7}after",
        "after",
    ),
    (
        "8-bit controls",
        "c1\u{9b}31m \u{9d}8;;u\u{9c}text",
        "c1 text",
    ),
    (
        "bidirectional override",
        "invoice\u{202E}fdp.exe",
        "invoicefdp.exe",
    ),
    (
        "the API key",
        "RENDER_API_KEY=rnd_SimulatorKey0123456789abcdef",
        "RENDER_API_KEY=",
    ),
    (
        "a token's shape",
        "token ghp_0123456789abcdefghijABCDEFGHIJabcdef12 used",
        "token ",
    ),
    (
        "a hook key",
        "POST https://api.render.com/deploy/srv-x?key=LeakedHookKey99",
        "POST https://api.render.com/deploy/srv-x",
    ),
    (
        "a fence and a comment",
        "````` </details> <!-- hidden --> [x](https://evil.example)",
        "</details> <!-- hidden -->",
    ),
];

/// What no byte render-pilot wrote may hold after a hostile build log.
fn assert_inert(what: &str, text: &str) {
    for (bad, name) in [
        ('\u{1b}', "an escape"),
        ('\u{9b}', "a C1 CSI"),
        ('\u{9d}', "a C1 OSC"),
        ('\u{7}', "a bell"),
        ('\u{202E}', "a bidi override"),
    ] {
        assert!(!text.contains(bad), "{what}: {name} in\n{text}");
    }
    for secret in [
        "ghp_0123456789abcdef",
        "LeakedHookKey99",
        "rnd_SimulatorKey",
    ] {
        assert!(!text.contains(secret), "{what}: {secret} in\n{text}");
    }
}

#[test]
fn hostile_build_log_lines_matrix() {
    let sim = Sim::start();
    let log: Vec<String> = HOSTILE_LINES
        .iter()
        .map(|(_, line, _)| line.to_string())
        .collect();
    let id = sim.add_service(ServiceSpec {
        plan: Plan {
            fails_with: BuildError::Unexplained,
            log: log.clone(),
            ..Plan::ending(Outcome::BuildFailed, std::time::Duration::from_millis(900))
        },
        ..ServiceSpec::web("web")
    });
    let out = crate::deploy::deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    // `::add-mask::` carries the registered secrets to the runner's masker.
    let job_log: Vec<&str> = out
        .stdout
        .lines()
        .chain(out.stderr.lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert_inert("job log", &job_log.join("\n"));
    assert_inert("summary", &out.summary);
    let quoted = out
        .summary
        .split("``````text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n``````\n").next())
        .unwrap_or_else(|| panic!("no quote in a fence longer than the log's\n{}", out.summary));
    assert!(out.summary.contains("**Next steps**"), "{}", out.summary);
    // The deploy failed, so its issue comes from monitor, quoting the same.
    sim.add_history(&id, "build_failed", std::time::Duration::from_secs(30));
    let monitor = rp()
        .input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("github-token", GITHUB_TOKEN)
        .input("services", &id)
        .input("commit-mode", "never")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .run();
    let issue = sim
        .issues()
        .pop()
        .expect("an issue for the failed service")
        .body;
    assert_inert("issue", &issue);
    let monitor_log: Vec<&str> = monitor
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert_inert("monitor's job log", &monitor_log.join("\n"));
    for (name, _, shown) in HOSTILE_LINES {
        assert!(
            out.stdout.contains(shown),
            "{name}: {shown:?} not in the job log\n{}",
            out.stdout
        );
        let plain = shown.trim_start_matches("⟫ ").replace("##⟫[", "##[");
        for (place, text) in [("summary", quoted), ("issue", issue.as_str())] {
            assert!(
                text.contains(plain.trim_start()),
                "{name}: {plain:?} not quoted in the {place}\n{text}"
            );
        }
    }
}
