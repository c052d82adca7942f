//! Trust boundaries: names, statuses and answers from outside are shown,
//! escaped, and never act: they cannot forge issue markers, start workflow
//! commands, pick another endpoint or carry credentials out.

use std::time::Duration;

use render_sim::{Fault, FaultKind, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{git, remote};
use crate::support::{rp, Rp};

/// What a hostile name, status or log line tries to slip into the job log:
/// commands at a line's start (after a line break, a lone CR or spaces),
/// and legacy ones mid-line, which the runner obeys anywhere. Every run's
/// output is read with the runner's rules ([`crate::support::runner_commands`]):
/// none of these may reach it as a command, on stdout or stderr.
const FORGED: [&str; 7] = [
    "::error::forged",
    "::add-mask::forged",
    "::stop-commands::forged",
    "##[set-output name=x;]forged",
    "build ##[stop-commands]x",
    "x ##[add-mask]secret",
    "a ::warning::b",
];

fn hostile_name(extra: &str) -> String {
    format!(
        "evil{extra}\n{}\r{}\n  {}\n{} {}\r\n{} {}",
        FORGED[0], FORGED[1], FORGED[2], FORGED[3], FORGED[4], FORGED[5], FORGED[6]
    )
}

fn monitor(sim: &Sim, services: &[&str]) -> Rp {
    rp().input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("github-token", GITHUB_TOKEN)
        .input("services", &services.join(","))
        .input("commit-mode", "never")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
}

/// [`monitor`] committing the status page on main from `clone`.
fn committing_monitor(sim: &Sim, services: &[&str], clone: &std::path::Path) -> Rp {
    monitor(sim, services)
        .input("commit-mode", "on-change")
        .env("GITHUB_WORKSPACE", clone)
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_REF", "refs/heads/main")
}

#[test]
fn a_service_name_cannot_close_or_hide_another_services_issue() {
    let sim = Sim::start();
    let good = sim.add_service(ServiceSpec::web("good"));
    sim.add_history(&good, "live", Duration::from_secs(600));
    // The names carry the marker of the other service's issue, in the
    // forms render-pilot writes and would have matched before.
    let forged_failed = format!("<!-- render-pilot:monitor:{good} state=failed -->");
    let evil = sim.add_service(ServiceSpec::web(&hostile_name(&forged_failed)));
    sim.add_history(&evil, "build_failed", Duration::from_secs(60));
    let workspace = tempfile::tempdir().unwrap();

    for _ in 0..2 {
        let out = monitor(&sim, &[&good, &evil])
            .env("GITHUB_WORKSPACE", workspace.path())
            .run();
        out.assert_code(0);
        let issues = sim.issues();
        assert_eq!(issues.len(), 1, "one issue, for the failing service");
        assert_eq!(issues[0].state, "open", "the healthy service closed it");
        let body = &issues[0].body;
        assert_eq!(
            body.matches("<!--").count(),
            1,
            "only render-pilot's own marker is a comment: {body}"
        );
        assert!(
            body.trim_end().ends_with(&format!(
                "<!-- render-pilot:monitor:{evil} state=failed -->"
            )),
            "{body}"
        );
    }

    // The good service now fails: it gets its own issue, it does not find
    // the evil one through the forged marker.
    sim.add_history(&good, "build_failed", Duration::from_secs(1));
    let out = monitor(&sim, &[&good, &evil])
        .env("GITHUB_WORKSPACE", workspace.path())
        .run();
    out.assert_code(0);
    let issues = sim.issues();
    assert_eq!(issues.len(), 2, "the good service's own issue");
    assert!(issues[1].body.trim_end().ends_with(&format!(
        "<!-- render-pilot:monitor:{good} state=failed -->"
    )));
}

#[test]
fn hostile_names_and_statuses_never_become_workflow_commands() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web(&hostile_name("`|<b>")));
    sim.add_history(&id, &hostile_name("_status"), Duration::from_secs(30));
    let workspace = tempfile::tempdir().unwrap();
    let out = monitor(&sim, &[&id])
        .env("GITHUB_WORKSPACE", workspace.path())
        .run();
    let summary = &out.summary;
    assert!(!summary.contains("<b>"), "raw HTML from a name: {summary}");
    assert!(summary.contains("\n---\npie showData\n"), "{summary}");

    // Deploy mode prints the service's name and the deploy's status.
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .run();
    assert!(!out.summary.contains("<b>"), "{}", out.summary);
}

/// On a terminal render-pilot issues no command at all, and data issues
/// none either: a workflow's `run:` step may call the binary directly.
#[test]
fn hostile_names_stay_text_on_a_terminal_too() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web(&hostile_name("`::`warning::")));
    sim.add_history(&id, &hostile_name("_status"), Duration::from_secs(30));
    let out = crate::support::laptop()
        .args(&["deploy", "--wait", "false"])
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .run();
    assert!(
        out.stdout.contains("x ##⟫[add-mask]secret"),
        "{}",
        out.log()
    );
}

#[test]
fn a_hostile_job_name_and_log_stay_evidence() {
    let sim = Sim::start();
    let log = format!(
        "2026-11-29T10:00:01.0000000Z error: build broke ``` <!-- render-pilot:monitor:srv-abc state=failed -->\n{}\n2026-11-29T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n",
        FORGED.join("\n2026-11-29T10:00:01.5000000Z ")
    );
    let mut run = Run::failed(77, "0123456789abcdef0123456789abcdef01234567", &log);
    run.jobs[1].name = hostile_name("-job");
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, run.event().to_string()).unwrap();
    sim.add_run(run);
    let out = rp()
        .input("mode", "recover")
        .input("github-token", GITHUB_TOKEN)
        .input("fixes", "rerun")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_WORKSPACE", dir.path())
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .run();
    out.assert_code(1);
    let issues = sim.issues();
    assert_eq!(issues.len(), 1);
    let body = &issues[0].body;
    let comments: Vec<&str> = body
        .lines()
        .filter(|l| l.trim_start().starts_with("<!--"))
        .collect();
    assert_eq!(comments.len(), 1, "only render-pilot's marker: {body}");
    assert!(body.trim_end().ends_with("-->"), "{body}");
}

#[test]
fn ids_from_answers_never_choose_the_endpoint() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    for hostile in ["../../owners", "srv-a?key=x", "dep-1/../../services"] {
        sim.fault(Fault::new(
            "GET",
            &format!("/v1/services/{id}/deploys"),
            1,
            FaultKind::json(
                200,
                format!(r#"[{{"cursor":"c","deploy":{{"id":"{hostile}","status":"live"}}}}]"#),
            ),
        ));
        sim.clear_requests();
        let workspace = tempfile::tempdir().unwrap();
        let out = monitor(&sim, &[&id])
            .env("GITHUB_WORKSPACE", workspace.path())
            .run();
        assert_eq!(out.output("failing-services"), id, "{}", out.log());
        assert!(out.log().contains("not a Render id"), "{}", out.log());
        for request in sim.requests() {
            assert!(
                !request.path.contains("owners") && !request.path.contains(".."),
                "followed {hostile}: {}",
                request.path
            );
        }
    }
}

#[test]
fn credentials_in_urls_are_refused_and_never_shown() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    let with_userinfo = sim
        .api_url()
        .replace("http://", "http://render-user:UrlPassw0rd@");
    let out = rp()
        .input("mode", "deploy")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &with_userinfo)
        .input("service-id", &id)
        .input("dry-run", "true")
        .run();
    out.assert_code(2).assert_says("render-api-url");
    assert!(!out.log().contains("UrlPassw0rd"), "{}", out.log());
    assert!(!out.summary.contains("UrlPassw0rd"));
    assert!(sim.requests().is_empty(), "nothing may be sent");
}

/// The origin asks for credentials over plain http on an address that is
/// not loopback by name (0.0.0.0 reaches this machine, but render-pilot
/// cannot know that): the token must not be sent.
#[test]
fn the_token_never_travels_over_plain_http_to_a_remote_host() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    sim.add_history(&id, "live", Duration::from_secs(60));
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let unencrypted = remote.url.replace("127.0.0.1", "0.0.0.0");
    git(&clone, &["remote", "set-url", "origin", &unencrypted]);
    sim.clear_requests();
    let out = committing_monitor(&sim, &[&id], &clone).run();
    out.assert_code(1).assert_says("only over https");
    let sent_token = sim.requests().iter().any(|r| {
        r.path.contains(".git")
            && r.header("authorization")
                .is_some_and(|a| a.to_ascii_lowercase().starts_with("basic"))
    });
    assert!(!sent_token, "the token went over plain http");
    assert_eq!(remote.log().len(), 1, "nothing was pushed");
}

/// A key pasted as a stray argument reaches clap's error before any secret
/// is registered: its shape alone hides it.
#[test]
fn a_key_typed_as_an_argument_is_not_echoed() {
    let key = "rnd_Zq81Lw0pXv3Tt9Yb";
    let token = "ghp_0Kq1Wz9Xc8Vb7Nm6Lk5J";
    for args in [
        vec!["deploy", key],
        vec!["monitor", "--services", "all", token],
    ] {
        let out = crate::support::laptop().args(&args).run();
        assert_eq!(out.code, Some(2), "{args:?}");
        assert!(
            out.stderr.contains("unexpected argument '***'"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains(key) && !out.stderr.contains(token));
        assert!(!out.stdout.contains(key) && !out.stdout.contains(token));
    }
}

/// Whether GitHub would close an issue for `message` on the default branch:
/// a closing keyword as a whole word, then `:` or spaces, then `#N`,
/// `owner/repo#N`, `GH-N` or an issue URL.
fn closes_an_issue(message: &str) -> bool {
    const KEYWORDS: [&str; 9] = [
        "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
    ];
    let text = message.to_ascii_lowercase();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (is_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    words.iter().any(|&(s, e)| {
        let after = text[e..].trim_start_matches(|c: char| c == ':' || c.is_whitespace());
        let reference = after.split_whitespace().next().unwrap_or_default();
        KEYWORDS.contains(&&text[s..e])
            && after.len() < text.len() - e
            && (reference.contains('#')
                || reference.starts_with("gh-")
                || reference.starts_with("https://github.com/"))
    })
}

#[test]
fn the_closing_keyword_reader_finds_what_github_closes() {
    for closing in [
        "api (fixes #1)",
        "Closes: #2",
        "x RESOLVED acme/shop#3",
        "fix GH-4",
        "closed https://github.com/a/b/issues/5",
    ] {
        assert!(closes_an_issue(closing), "{closing}");
    }
    for inert in [
        "hotfix #1",
        "prefixes #2",
        "fix_api #3",
        "fixes nothing",
        "f\u{2060}ixes #1",
    ] {
        assert!(!closes_an_issue(inert), "{inert}");
    }
}

/// Monitor commits on the default branch: a service name holding a closing
/// keyword and a reference, or a mention, acts on nothing, and still reads
/// the same.
#[test]
fn names_in_commit_messages_close_no_issue_and_mention_nobody() {
    let sim = Sim::start();
    let names = [
        "api (fixes #1)",
        "web Closes: #2",
        "x RESOLVED acme/shop#3",
        "ops @acme/team",
    ];
    let ids: Vec<String> = names
        .iter()
        .map(|name| {
            let id = sim.add_service(ServiceSpec::web(name));
            sim.add_history(&id, "build_failed", Duration::from_secs(30));
            id
        })
        .collect();
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let out = committing_monitor(&sim, &ids, &clone)
        .input("issues", "false")
        .run();
    out.assert_code(0);
    let message = git(&remote.bare(), &["log", "-1", "--format=%B", "main"]);
    assert!(!closes_an_issue(&message), "{message}");
    assert!(!message.contains("@acme"), "a live mention: {message}");
    let read = message.replace('\u{2060}', "");
    for name in names {
        assert!(
            read.contains(&format!("{name} failed")),
            "{name}: {message}"
        );
    }
}

/// Lines outside fenced code blocks, where Markdown is live.
fn outside_fences(markdown: &str) -> String {
    let mut inside = false;
    let mut out = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

const BIDI: [char; 12] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
];

/// A name with a mention, a team, links and right-to-left overrides: in the
/// issue, the summary and the status page it notifies nobody and links
/// nowhere; nowhere (log, outputs, titles, commit) does a bidi control
/// reorder what a reader sees; and the name still reads the same.
#[test]
fn names_mention_nobody_link_nowhere_and_keep_their_order() {
    let sim = Sim::start();
    let name = "ops @acme/team see https://evil.example/login or www.evil.example \u{202E}fdp.exe\u{202C} \u{2067}x\u{2069}\u{200F}";
    let id = sim.add_service(ServiceSpec::web(name));
    sim.add_history(&id, "build_failed", Duration::from_secs(30));
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let out = committing_monitor(&sim, &[&id], &clone).run();
    out.assert_code(0);
    let issue = &sim.issues()[0];
    let page = remote.show("docs/PIPELINE.md");
    let message = git(&remote.bare(), &["log", "-1", "--format=%B", "main"]);
    let deploy = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("wait", "false")
        .run();
    for (place, text) in [
        ("issue body", &issue.body),
        ("issue title", &issue.title),
        ("summary", &out.summary),
        ("log", &out.log()),
        ("outputs", &out.raw_outputs),
        ("status page", &page),
        ("commit", &message),
        ("deploy outputs", &deploy.raw_outputs),
        ("deploy log", &deploy.log()),
    ] {
        assert!(
            !text.contains(BIDI),
            "a bidi control in the {place}: {text:?}"
        );
    }
    assert!(deploy.output("service-name").contains("fdp.exe x"));
    for (place, text) in [
        ("issue", &issue.body),
        ("summary", &out.summary),
        ("page", &page),
    ] {
        let live = outside_fences(text);
        for link in ["@acme", "https://evil", "www.evil"] {
            assert!(
                !live.contains(link),
                "{link} is live in the {place}: {live}"
            );
        }
        assert!(
            live.replace('\u{2060}', "").contains(
                "ops @acme/team see https://evil.example/login or www.evil.example fdp.exe x"
            ),
            "the {place} does not read the name: {live}"
        );
    }
}

/// A 200,000-character service name: the issue's title and body, and the
/// comment that closes it, stay within GitHub's limits, cut with a note,
/// and the marker finds the issue again on the next runs.
#[test]
fn a_huge_name_keeps_the_issue_within_github_s_limits() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web(&"n".repeat(200_000)));
    sim.add_history(&id, "build_failed", Duration::from_secs(30));
    let workspace = tempfile::tempdir().unwrap();
    let run = || {
        monitor(&sim, &[&id])
            .env("GITHUB_WORKSPACE", workspace.path())
            .run()
            .assert_code(0);
    };
    run();
    run();
    sim.add_history(&id, "live", Duration::from_secs(1));
    run();
    let issues = sim.issues();
    assert_eq!(issues.len(), 1, "found again by its marker");
    let issue = &issues[0];
    assert!(issue.title.chars().count() <= 256, "{}", issue.title.len());
    assert!(issue.body.len() <= 65_536, "{} bytes", issue.body.len());
    assert!(issue.body.contains("… (cut"), "no note");
    assert!(
        issue
            .body
            .trim_end()
            .ends_with(&format!("<!-- render-pilot:monitor:{id} state=failed -->")),
        "the marker"
    );
    assert_eq!(issue.state, "closed", "found again, healthy");
    assert_eq!(issue.comments.len(), 1, "the resolution");
    assert!(issue.comments[0].len() <= 65_536);
    assert!(issue.comments[0].contains("… (cut"));
}

/// A registry login in `image` (`user:password@registry/…`, with or
/// without a scheme) is sent to Render as given but shown nowhere: not in
/// the dry run's plan, the log, the summary, the outputs, nor an error
/// that echoes the value.
#[test]
fn a_registry_login_in_image_is_never_shown() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    for image in [
        "deployer:S3cretPassw0rd@registry.example.com/org/app:1.2",
        "https://deployer:S3cretPassw0rd@registry.example.com/org/app:1.2",
    ] {
        for extra in [("dry-run", "true"), ("wait", "true")] {
            let out = rp()
                .input("mode", "deploy")
                .input("deploy-hook-url", &sim.hook_url(&id))
                .input("render-api-key", API_KEY)
                .input("render-api-url", &sim.api_url())
                .input("image", image)
                .input(extra.0, extra.1)
                .run();
            out.assert_code(0);
            if extra.0 == "dry-run" {
                assert!(
                    out.summary.contains("registry.example.com/org/app:1.2"),
                    "{}",
                    out.summary
                );
            }
            let written = out.written();
            assert!(!written.contains("S3cretPassw0rd"), "{written}");
            assert!(!written.contains("deployer"), "{written}");
        }
        let sent = sim.requests().iter().any(|r| {
            r.path.starts_with("/deploy/") && r.query.contains("deployer%3AS3cretPassw0rd%40")
        });
        assert!(sent, "Render gets the image as given");
    }
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input(
            "image",
            "deployer:S3cretPassw0rd@registry.example.com/org/my app",
        )
        .run();
    out.assert_code(2).assert_says("image");
    assert!(!out.written().contains("S3cretPassw0rd"), "{}", out.log());
    assert!(!out.written().contains("deployer"), "{}", out.log());
}
