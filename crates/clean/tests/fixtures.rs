//! Each folder in tests/fixtures holds `input.html` (in its own encoding), `input.txt` or
//! `input-path.txt` (a file elsewhere in the repository, such as a corpus document), an
//! optional `content-type.txt` (the HTTP header the page came with), an optional `url.txt`
//! (the page's address; else `https://fixtures.example/<folder>`) and `expected.json`: the
//! article the cleaner must produce. `UPDATE_EXPECTED=1 cargo test -p nichiro-clean --test fixtures`
//! rewrites the expected files from the current output, for review as a diff.

use std::path::Path;

use nichiro_clean::{Limits, clean_bytes};

#[test]
fn fixtures_match_their_expected_articles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 16, "fixtures are missing");
    let mut failures = Vec::new();
    for case in cases {
        let input = match std::fs::read_to_string(case.join("input-path.txt")) {
            Ok(relative) => {
                let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
                std::fs::read(repo.join(relative.trim())).unwrap()
            }
            Err(_) => std::fs::read(case.join("input.txt"))
                .or_else(|_| std::fs::read(case.join("input.html")))
                .unwrap(),
        };
        let content_type = std::fs::read_to_string(case.join("content-type.txt")).ok();
        let url = std::fs::read_to_string(case.join("url.txt"))
            .map(|u| u.trim().to_string())
            .unwrap_or_else(|_| {
                format!(
                    "https://fixtures.example/{}",
                    case.file_name().unwrap().to_string_lossy()
                )
            });
        let article = clean_bytes(
            &input,
            content_type.as_deref().map(str::trim),
            &url,
            &Limits::default(),
        )
        .unwrap();
        let actual = serde_json::to_string_pretty(&article).unwrap() + "\n";
        let expected_path = case.join("expected.json");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with UPDATE_EXPECTED=1",
                expected_path.display()
            )
        });
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_input_is_rejected_with_a_reason() {
    let limits = Limits {
        max_depth: 100,
        max_bytes: 64 * 1024,
        ..Limits::default()
    };
    let deep = format!("<html><body>{}<p>x</p></body></html>", "<div>".repeat(5000));
    let err = clean_bytes(
        deep.as_bytes(),
        Some("text/html"),
        "https://x.example/",
        &limits,
    )
    .unwrap_err();
    assert_eq!(err, nichiro_clean::CleanError::TooDeep { max_depth: 100 });

    let big = vec![b'a'; 64 * 1024 + 1];
    let err = clean_bytes(&big, Some("text/html"), "https://x.example/", &limits).unwrap_err();
    assert!(err.to_string().contains("over the limit"), "{err}");

    // Garbage and empty input are not articles, and no panic.
    for bytes in [
        &b""[..],
        b"\xff\xfe\x00<",
        b"<<<>>>&&&;;",
        b"<html><body></body></html>",
    ] {
        let article = clean_bytes(bytes, None, "https://x.example/", &Limits::default()).unwrap();
        assert_eq!(article.kind, nichiro_model::PageKind::NotArticle);
    }
}
