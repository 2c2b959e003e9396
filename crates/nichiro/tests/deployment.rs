//! docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine here).

mod support;

use support::repo;
use yaml_rust2::{Yaml, YamlLoader};

#[test]
fn compose_file_is_valid_and_consistent_with_the_repository() {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("docker-compose.yml is valid YAML");
    let compose = &docs[0];
    let services = &compose["services"];
    let daemon = &services["nichiro"];
    let postgres = &services["postgres"];
    assert!(
        !daemon.is_badvalue() && !postgres.is_badvalue(),
        "both services exist"
    );

    // The daemon is built from the Dockerfile in the repository.
    let build = &daemon["build"];
    let dockerfile = repo()
        .join(build["context"].as_str().unwrap())
        .join(build["dockerfile"].as_str().unwrap());
    assert!(dockerfile.is_file(), "{} exists", dockerfile.display());

    // It runs `run` with a config file that exists, mounted from ./config.
    let command: Vec<&str> = daemon["command"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(command[0], "run");
    let config_arg = command[command.iter().position(|a| *a == "--config").unwrap() + 1];
    let mounts: Vec<&str> = daemon["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let config_mount = mounts
        .iter()
        .find(|m| m.starts_with("./config:"))
        .expect("config is mounted");
    let container_dir = config_mount.split(':').nth(1).unwrap();
    let relative = config_arg
        .strip_prefix(container_dir)
        .expect("the config is in the mounted folder");
    assert!(
        repo()
            .join("config")
            .join(relative.trim_start_matches('/'))
            .is_file()
    );

    // Every named volume a service uses is declared.
    for service in [daemon, postgres] {
        for mount in service["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(Yaml::as_str)
        {
            let source = mount.split(':').next().unwrap();
            if !source.starts_with('.') && !source.starts_with('/') {
                assert!(
                    !compose["volumes"][source].is_badvalue(),
                    "volume {source} is declared"
                );
            }
        }
    }
    // The daemon stores into the database service, once it reports itself healthy, under
    // the user, password and database the service creates.
    assert!(!postgres["healthcheck"]["test"].is_badvalue());
    assert_eq!(
        daemon["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    let url = daemon["environment"]["NICHIRO_STORE_URL"]
        .as_str()
        .expect("the daemon is pointed at the database");
    let env = &postgres["environment"];
    let expected = format!(
        "postgres://{}:{}@postgres:5432/{}",
        env["POSTGRES_USER"].as_str().unwrap(),
        env["POSTGRES_PASSWORD"].as_str().unwrap(),
        env["POSTGRES_DB"].as_str().unwrap()
    );
    assert_eq!(url, expected);

    // The image's data folder matches the mounted volume, and the Dockerfile builds the binary.
    let dockerfile = std::fs::read_to_string(dockerfile).unwrap();
    assert!(mounts.contains(&"nichiro-data:/app/data"));
    assert!(dockerfile.contains("VOLUME [\"/app/data\"]"));
    assert!(dockerfile.contains("cargo build --release --locked -p nichiro"));

    // The web server listens on every interface in the container, on the port compose
    // publishes, and both health checks ask it through `nichiro health` at that port.
    let listen = command[command.iter().position(|a| *a == "--listen").unwrap() + 1];
    let port = listen.rsplit(':').next().unwrap();
    assert_eq!(listen, format!("0.0.0.0:{port}"));
    let published: Vec<&str> = daemon["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(
        published.iter().any(|p| p.ends_with(&format!(":{port}"))),
        "{published:?} publishes {port}"
    );
    let check: Vec<&str> = daemon["healthcheck"]["test"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(
        check,
        ["CMD", "nichiro", "health", &format!("127.0.0.1:{port}")]
    );
    assert!(dockerfile.contains(&format!("EXPOSE {port}")));
    assert!(dockerfile.contains(&format!(
        "CMD [\"nichiro\", \"health\", \"127.0.0.1:{port}\"]"
    )));
}

#[test]
fn default_config_stores_under_data_and_loads() {
    // The default config must load (sources valid, taxonomy and corpus found), and its store
    // lands in the folder the image declares as a volume.
    let config = nichiro_pipeline::Config::load(&repo().join("config/default.toml")).unwrap();
    assert!(config.store.path.ends_with("config/../data/nichiro.sqlite"));
    assert!(config.enabled_sources().count() >= 15);
    let languages: std::collections::BTreeSet<_> = config
        .enabled_sources()
        .filter_map(|s| s.language.clone())
        .collect();
    assert_eq!(
        languages.into_iter().collect::<Vec<_>>(),
        ["en", "ja", "ru"]
    ); // The corpus the tagger compares with is stored too, so `related` names stored documents.
    let corpus = config.tag.corpus.clone().expect("a corpus");
    assert!(
        config
            .enabled_sources()
            .any(|s| s.kind == nichiro_fetch::SourceKind::Dir && s.path.as_ref() == Some(&corpus)),
        "no dir source reads {}",
        corpus.display()
    );
}
