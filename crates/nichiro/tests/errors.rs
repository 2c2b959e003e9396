//! Bad configs, unreadable paths and unreachable sources: one-line errors, the right exits.

mod support;

use support::*;

fn one_line_error(stderr: &[u8]) -> String {
    let stderr = text(stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one error line in {stderr:?}");
    errors[0].to_string()
}

#[tokio::test]
async fn bad_configs_exit_nonzero_with_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[store]\npath = \"s.sqlite\"\n[[source]]\nname = \"x\"\nkind = \"carrier-pigeon\"\n",
    )
    .unwrap();
    let out = run(&["backfill", "--config", broken.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let line = one_line_error(&out.stderr);
    assert!(
        line.contains("broken.toml") && line.contains("carrier-pigeon"),
        "{line}"
    );
    assert!(
        line.contains("(line 5, column 8)"),
        "where, as an editor shows it: {line}"
    );

    let missing = dir.path().join("missing.toml");
    let out = run(&["backfill", "--config", missing.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(one_line_error(&out.stderr).contains("missing.toml"));

    let out = run(&["backfill"]).await;
    assert!(!out.status.success());
    assert!(one_line_error(&out.stderr).contains("--config"));

    let out = run(&[
        "backfill",
        "--config",
        "config/offline.toml",
        "--since",
        "last tuesday",
    ])
    .await;
    assert!(!out.status.success());
    assert!(one_line_error(&out.stderr).contains("last tuesday"));
    assert!(!dir.path().join("s.sqlite").exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_source_among_many_is_a_warning_and_all_failing_is_an_error() {
    let (site, _) = Site::start(SiteSpec {
        pages: vec![generated_article(1)],
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind one, note it, close it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable = format!(
        "[[source]]\nname = \"gone\"\nkind = \"feed\"\nurl = \"http://{closed}/feed.xml\"\n"
    );
    let missing_dir =
        "[[source]]\nname = \"nowhere\"\nkind = \"dir\"\npath = \"/nonexistent/nichiro-test\"\n";
    let config = write_config(
        dir.path(),
        &format!("{}\n{unreachable}\n{missing_dir}", feed_source(&site)),
        2,
    );
    let out = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("source failed") && stderr.contains("gone"),
        "{stderr}"
    );
    assert!(stderr.contains("/nonexistent/nichiro-test"), "{stderr}");
    assert!(
        text(&out.stdout).contains("new 1,"),
        "{}",
        text(&out.stdout)
    );

    // Half the sources failing is an error when asked: the line names the failed ones.
    let out = run(&[
        "backfill",
        "--config",
        config.to_str().unwrap(),
        "--fail-at",
        "0.5",
    ])
    .await;
    assert!(!out.status.success());
    let line = one_line_error(&out.stderr);
    assert!(
        line.contains("2 of 3 sources failed: gone, nowhere"),
        "{line}"
    );

    let config = write_config(dir.path(), &format!("{unreachable}\n{missing_dir}"), 2);
    let out = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("every source failed: "));
}

#[tokio::test]
async fn an_error_and_its_cause_are_said_once() {
    let out = run(&["list", "--config", "/nonexistent/nichiro.toml"]).await;
    assert!(!out.status.success());
    let line = one_line_error(&out.stderr);
    assert_eq!(line.matches("os error 2").count(), 1, "{line}");
    assert!(line.contains("/nonexistent/nichiro.toml"), "{line}");
}

#[tokio::test]
async fn read_commands_without_a_store_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", 1);
    let out = run(&["list", "--config", config.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let line = one_line_error(&out.stderr);
    assert!(
        line.contains("no store at") && line.contains("backfill"),
        "{line}"
    );
    assert!(
        !dir.path().join("store.sqlite").exists(),
        "a read does not create a store"
    );
}

#[tokio::test]
async fn train_refuses_an_l2_that_is_not_a_finite_positive_number() {
    // `--l2 nan` used to write `bias = nan`, and a later backfill failed on a NULL relevance.
    for l2 in ["nan", "inf", "-1", "0"] {
        let out = run(&["train", "--jsonl", "-", "--dry-run", &format!("--l2={l2}")]).await;
        assert_eq!(out.status.code(), Some(2), "--l2 {l2}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("--l2") && stderr.contains("must be from"),
            "--l2 {l2}: {stderr}"
        );
    }
}
