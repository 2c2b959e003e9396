//! Archive backfill: a generated month-like archive of WARC files (English, Russian and
//! Japanese news pages of realistic size, with scripts, styles and navigation; 0.5% on
//! Russia–Japan relations, 4% naming one of the two countries, the rest neither), read by
//! `nichiro backfill` (the release binary) as a whole process into SQLite:
//!
//! - on one core (`taskset -c 0`) and on both, with the prefilter and without it: records per
//!   second (median of the runs, with the spread), peak resident memory;
//! - the prefilter's recall (relevant articles of the filtered run among those of the
//!   unfiltered one) and the share of pages it passes;
//! - 1 and 2 worker processes sharing one PostgreSQL database (the local server, a database
//!   of the bench's own): records per second, and whether each file and each article was
//!   taken exactly once.
//!
//! A benchmark, not a test: read its figures.
//!
//!     cargo bench -p nichiro --bench archive                # 4 files of 4,000 records, 3 runs
//!     cargo bench -p nichiro --bench archive -- 8 5000 5    # 8 files of 5,000, 5 runs
//!
//! With `NICHIRO_BENCH_ARCHIVE=DIR` the archive is written to DIR and kept.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EN: &[&str] = &[
    "the",
    "council",
    "said",
    "on",
    "Tuesday",
    "that",
    "prices",
    "rose",
    "in",
    "city",
    "market",
    "while",
    "shares",
    "of",
    "carmakers",
    "fell",
    "after",
    "a",
    "report",
    "from",
    "the",
    "central",
    "bank",
    "showed",
    "weaker",
    "demand",
    "police",
    "opened",
    "an",
    "inquiry",
    "into",
    "season",
    "players",
    "coach",
    "weather",
    "storm",
    "school",
    "budget",
    "hospital",
    "voters",
    "election",
    "governor",
    "museum",
    "festival",
    "rail",
    "airport",
    "company",
    "profit",
    "quarter",
    "analysts",
    "expected",
    "growth",
    "and",
    "with",
    "for",
];
const RU: &[&str] = &[
    "в",
    "городе",
    "заявили",
    "во",
    "вторник",
    "что",
    "цены",
    "выросли",
    "на",
    "рынке",
    "акции",
    "автопроизводителей",
    "снизились",
    "после",
    "доклада",
    "центрального",
    "банка",
    "полиция",
    "возбудила",
    "дело",
    "сезон",
    "игроки",
    "тренер",
    "погода",
    "шторм",
    "школа",
    "бюджет",
    "больница",
    "избиратели",
    "выборы",
    "губернатор",
    "музей",
    "фестиваль",
    "железная",
    "дорога",
    "аэропорт",
    "компания",
    "прибыль",
    "квартал",
    "аналитики",
    "ожидали",
    "рост",
    "и",
    "с",
    "для",
    "по",
    "данным",
];
const JA: &[&str] = &[
    "市場",
    "では",
    "火曜日",
    "に",
    "価格",
    "が",
    "上昇",
    "した",
    "。",
    "自動車",
    "株",
    "は",
    "下落",
    "し",
    "中央銀行",
    "の",
    "報告",
    "を",
    "受けて",
    "警察",
    "捜査",
    "季節",
    "選手",
    "監督",
    "天気",
    "台風",
    "学校",
    "予算",
    "病院",
    "有権者",
    "選挙",
    "知事",
    "美術館",
    "祭り",
    "鉄道",
    "空港",
    "会社",
    "利益",
    "四半期",
    "アナリスト",
    "成長",
    "と",
    "で",
    "について",
];

/// A sentence naming one side only, per language.
const ONE_SIDE: &[(&str, &str)] = &[
    (
        "en",
        "Russia said on Monday it would raise grain exports this season.",
    ),
    (
        "en",
        "Japan reported a rise in tourist arrivals over the holiday week.",
    ),
    (
        "ru",
        "Россия увеличит экспорт зерна в этом сезоне, сообщили в министерстве.",
    ),
    (
        "ru",
        "В Японии выросло число туристов за праздничную неделю.",
    ),
    ("ja", "ロシアは今季の穀物輸出を増やすと発表した。"),
    ("ja", "日本を訪れた観光客は連休中に増加した。"),
];

/// The relation itself, per language (each page adds its own number).
const BOTH: &[(&str, &str, &str)] = &[
    (
        "en",
        "Russia and Japan discuss a peace treaty and the Kuril Islands",
        "The foreign ministers of Russia and Japan met in Moscow to discuss a peace treaty and joint economic activities on the southern Kuril Islands, the two ministries said.",
    ),
    (
        "ru",
        "Россия и Япония обсудили мирный договор и Курильские острова",
        "Министры иностранных дел России и Японии обсудили в Москве мирный договор и совместную хозяйственную деятельность на южных Курильских островах.",
    ),
    (
        "ja",
        "日露外相が平和条約と北方領土を協議",
        "日本とロシアの外相がモスクワで会談し、平和条約締結と北方領土での共同経済活動について協議した。",
    ),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a generated page is about.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Neither,
    OneSide,
    Relation,
}

fn sentence(rng: &mut Rng, lang: &str) -> String {
    let words = match lang {
        "ru" => RU,
        "ja" => JA,
        _ => EN,
    };
    let n = 12 + rng.below(14);
    let picked: Vec<&str> = (0..n).map(|_| words[rng.below(words.len())]).collect();
    if lang == "ja" {
        format!("{}。", picked.concat())
    } else {
        format!("{}.", picked.join(" "))
    }
}

/// A news page of 35–60 KB: head with styles and scripts, navigation, the article, related
/// links, footer.
fn page(rng: &mut Rng, n: usize, lang: &str, kind: Kind) -> String {
    let mut paragraphs = Vec::new();
    let count = 5 + rng.below(10);
    for _ in 0..count {
        let text: Vec<String> = (0..3 + rng.below(4)).map(|_| sentence(rng, lang)).collect();
        paragraphs.push(text.join(" "));
    }
    let mut title = format!("{} {n}", sentence(rng, lang).trim_end_matches(['.', '。']));
    match kind {
        Kind::Neither => {}
        Kind::OneSide => {
            let choices: Vec<&str> = ONE_SIDE
                .iter()
                .filter(|(l, _)| *l == lang)
                .map(|(_, s)| *s)
                .collect();
            let at = rng.below(paragraphs.len());
            paragraphs[at].push(' ');
            paragraphs[at].push_str(choices[rng.below(choices.len())]);
        }
        Kind::Relation => {
            let (_, headline, lead) = BOTH.iter().find(|(l, _, _)| *l == lang).unwrap();
            title = format!("{headline} ({n})");
            paragraphs.insert(0, format!("{lead} ({n})"));
            paragraphs.insert(2, lead.to_string());
        }
    }
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    let nav: String = (0..60)
        .map(|i| format!("<li class=\"nav-item\"><a href=\"/section/{i}\">Section {i}</a></li>"))
        .collect();
    let style =
        ".nav-item{display:inline-block;margin:0 4px}.article p{line-height:1.6}\n".repeat(60);
    let script = "window.dataLayer=window.dataLayer||[];function track(e){dataLayer.push({event:e,ts:Date.now()})}\n".repeat(200);
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta property=\"article:published_time\" content=\"2024-03-{day:02}T08:00:00Z\">\
         <style>{style}</style><script>{script}</script></head><body>\
         <header><ul>{nav}</ul></header><main><article class=\"article\"><h1>{title}</h1>\n{body}</article>\
         <aside class=\"related\"><ul>{nav}</ul></aside></main><footer><p>© Bench Daily</p></footer>\
         <script>{script}</script></body></html>",
        day = 1 + n % 28,
    )
}

fn warc_record(url: &str, html: &str) -> Vec<u8> {
    let http = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{html}",
        html.len()
    );
    let record = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\nWARC-Date: 2024-03-01T10:00:00Z\r\n\
         Content-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n{http}\r\n\r\n",
        http.len()
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(record.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Writes the archive; returns (records, relation pages, raw bytes).
fn generate(dir: &Path, files: usize, per_file: usize) -> (usize, usize, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut relation, mut raw) = (0, 0);
    for f in 0..files {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(dir.join(format!("CC-NEWS-{f:05}.warc.gz"))).unwrap(),
        );
        for r in 0..per_file {
            let n = f * per_file + r;
            let lang = match rng.below(10) {
                0..=4 => "en",
                5..=7 => "ru",
                _ => "ja",
            };
            let kind = match rng.below(1000) {
                0..=4 => Kind::Relation,
                5..=44 => Kind::OneSide,
                _ => Kind::Neither,
            };
            relation += usize::from(kind == Kind::Relation);
            let html = page(&mut rng, n, lang, kind);
            raw += html.len();
            out.write_all(&warc_record(
                &format!("https://bench.example/{lang}/{n}"),
                &html,
            ))
            .unwrap();
        }
    }
    (files * per_file, relation, raw)
}

fn config(dir: &Path, archives: &Path, prefilter: bool, store_url: Option<&str>) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let url = store_url.map_or(String::new(), |u| format!("url = {u:?}\n"));
    let text = format!(
        "[store]\n{url}path = {store:?}\n\n[tag]\ntopics = {topics:?}\ncorpus = {corpus:?}\n\n\
         [pipeline]\nclean_workers = 2\n\n\
         [[source]]\nname = \"cc\"\nkind = \"warc\"\npath = {archives:?}\nprefilter = {prefilter}\n",
        store = dir.join("store.sqlite").display().to_string(),
        topics = repo.join("config/topics.toml").display().to_string(),
        corpus = repo.join("corpus").display().to_string(),
        archives = archives.display().to_string(),
    );
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One finished backfill: its wall time, its peak RSS, its summary.
struct Run {
    secs: f64,
    peak_mb: f64,
    summary: String,
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts backfills with `configs` at once (each pinned to its core in `cores`, if any) and
/// waits for all.
fn backfills(configs: &[PathBuf], cores: &[Option<&str>]) -> Vec<Run> {
    let started = Instant::now();
    let mut children: Vec<Option<std::process::Child>> = configs
        .iter()
        .zip(cores)
        .map(|(config, core)| {
            let mut command = match core {
                Some(core) => {
                    let mut c = Command::new("taskset");
                    c.args(["-c", core, env!("CARGO_BIN_EXE_nichiro")]);
                    c
                }
                None => Command::new(env!("CARGO_BIN_EXE_nichiro")),
            };
            command
                .args(["backfill", "--config"])
                .arg(config)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .ok()
        })
        .collect();
    assert!(
        children.iter().all(Option::is_some),
        "nichiro (or taskset) does not start"
    );
    let mut peaks = vec![0u64; children.len()];
    let mut ended: Vec<Option<(f64, std::process::Output)>> =
        children.iter().map(|_| None).collect();
    while ended.iter().any(Option::is_none) {
        for (i, slot) in children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            // taskset execs nichiro: the pid is nichiro's.
            if let Some(kb) = status_kb(child.id(), "VmHWM:") {
                peaks[i] = peaks[i].max(kb);
            }
            if child.try_wait().unwrap().is_some() {
                let secs = started.elapsed().as_secs_f64();
                let child = slot.take().unwrap();
                ended[i] = Some((secs, child.wait_with_output().unwrap()));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ended
        .into_iter()
        .zip(peaks)
        .map(|(e, peak)| {
            let (secs, out) = e.unwrap();
            assert!(
                out.status.success(),
                "backfill failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Run {
                secs,
                peak_mb: peak as f64 / 1024.0,
                summary: String::from_utf8_lossy(&out.stdout).into_owned(),
            }
        })
        .collect()
}

/// The number after `label` in a summary.
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(label)
        .nth(1)
        .and_then(|rest| rest.trim().split([',', ' ', '\n']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in {summary}"))
}

fn relevant_urls(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT url FROM articles WHERE relevant ORDER BY url")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn median_and_spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn postgres(sql: &str) {
    let admin = std::env::var("NICHIRO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("PostgreSQL");
    client.batch_execute(sql).unwrap();
}

/// The prefilter on real pages nobody here wrote (the shared extraction and dates sets, when
/// present): each page cleaned and tagged as the pipeline would, and put to the prefilter.
/// It must pass every page the tagger finds any evidence in (relevance above 0).
fn prefilter_on_real_pages() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tagger = nichiro_classify::Tagger::from_config(nichiro_classify::TagConfig {
        topics: repo.join("config/topics.toml"),
        corpus: None,
        ..Default::default()
    })
    .expect("the taxonomy loads");
    let prefilter = tagger.prefilter();
    let limits = nichiro_clean::Limits::default();
    for folder in ["eval/extraction/dev/html", "eval/dates/html"] {
        let dir = repo.join("../shared").join(folder);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            println!("real pages: {} is missing; not measured", dir.display());
            continue;
        };
        let (mut pages, mut passed, mut evidence, mut missed, mut relevant, mut relevant_passed) =
            (0, 0, 0, 0, 0, 0);
        for entry in entries {
            let path = entry.unwrap().path();
            let mut body = std::fs::read(&path).unwrap();
            if path.extension().is_some_and(|e| e == "gz") {
                let mut plain = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&body[..]),
                    &mut plain,
                )
                .unwrap();
                body = plain;
            }
            let page = nichiro_model::RawPage {
                requested_url: format!("https://real.example/{}", pages),
                final_url: format!("https://real.example/{}", pages),
                status: 200,
                content_type: Some("text/html".into()),
                etag: None,
                last_modified: None,
                body,
                fetched_at: chrono::Utc::now(),
                source: "real".into(),
                hints: Default::default(),
            };
            pages += 1;
            let passes = prefilter.passes_page(&page.body, page.content_type.as_deref());
            passed += usize::from(passes);
            let Ok(article) = nichiro_clean::clean_page(&page, &limits) else {
                continue;
            };
            let tags = tagger.tag(&article);
            if tags.relevance > 0.0 {
                evidence += 1;
                missed += usize::from(!passes);
            }
            if tags.relevant {
                relevant += 1;
                relevant_passed += usize::from(passes);
            }
        }
        println!(
            "real pages, {folder}: {pages} pages; the prefilter passes {passed} ({:.1}%); skips {missed} of the {evidence} the tagger finds evidence in; passes {relevant_passed} of the {relevant} it calls relevant",
            100.0 * passed as f64 / pages.max(1) as f64
        );
    }
}

fn main() {
    prefilter_on_real_pages();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let files = args.first().copied().unwrap_or(4);
    let per_file = args.get(1).copied().unwrap_or(4000);
    let runs = args.get(2).copied().unwrap_or(3).max(1);
    let work = tempfile::tempdir().unwrap();
    // NICHIRO_BENCH_ARCHIVE=DIR writes the archive there and keeps it (for a profiler).
    let archives = std::env::var_os("NICHIRO_BENCH_ARCHIVE")
        .map_or_else(|| work.path().join("archives"), PathBuf::from);
    std::fs::create_dir_all(&archives).unwrap();
    let generated = Instant::now();
    let (records, relation, raw) = generate(&archives, files, per_file);
    let gz: u64 = std::fs::read_dir(&archives)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "archive: {files} files, {records} records ({relation} on the relation), {:.0} MB of HTML, {:.0} MB gzip'd, generated in {:.1} s",
        raw as f64 / 1e6,
        gz as f64 / 1e6,
        generated.elapsed().as_secs_f64()
    );
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cpus} cores; each figure is the median of {runs} runs (min–max)");
    // Start-up (the taxonomy, model and corpus loaded, the store opened) is paid once per
    // process, however many files it reads: measured apart on an empty folder.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let startup = median_and_spread(
        (0..runs)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                backfills(&[config(dir.path(), &empty, true, None)], &[Some("0")])
                    .remove(0)
                    .secs
            })
            .collect(),
    )
    .0;
    println!("start-up of a backfill with nothing to read, 1 core: {startup:.2} s");
    let mut relevant_with = Vec::new();
    let mut relevant_without = Vec::new();
    let (mut passed, mut stored) = (0, 0);
    for (cores, core) in [("1 core ", Some("0")), ("2 cores", None)] {
        for prefilter in [true, false] {
            let (mut rates, mut steady) = (Vec::new(), Vec::new());
            let mut peak: f64 = 0.0;
            for _ in 0..runs {
                let dir = tempfile::tempdir().unwrap();
                let config = config(dir.path(), &archives, prefilter, None);
                let run = backfills(&[config], &[core]).remove(0);
                assert_eq!(count(&run.summary, "records read") as usize, records);
                rates.push(records as f64 / run.secs);
                steady.push(records as f64 / (run.secs - startup).max(1e-3));
                peak = peak.max(run.peak_mb);
                if prefilter {
                    relevant_with = relevant_urls(dir.path());
                    passed = count(&run.summary, "queued");
                    stored = count(&run.summary, "new");
                } else {
                    relevant_without = relevant_urls(dir.path());
                }
            }
            let (median, min, max) = median_and_spread(rates);
            let (after, after_min, after_max) = median_and_spread(steady);
            println!(
                "{cores}, prefilter {:<3}: {median:>7.0} records/s whole process ({min:.0}–{max:.0}); {after:>7.0} after start-up ({after_min:.0}–{after_max:.0}); peak RSS {peak:.0} MB",
                if prefilter { "on" } else { "off" }
            );
        }
    }
    let kept = relevant_without
        .iter()
        .filter(|u| relevant_with.contains(u))
        .count();
    println!(
        "prefilter: passes {passed} of {records} pages ({:.2}%); recall {:.3} ({kept} of the {} articles the unfiltered run calls relevant; {} generated on the relation)",
        100.0 * passed as f64 / records as f64,
        kept as f64 / relevant_without.len().max(1) as f64,
        relevant_without.len(),
        relation
    );

    // Workers sharing one PostgreSQL database.
    let mut one_worker = 0.0;
    for workers in [1usize, 2] {
        let mut rates = Vec::new();
        for run in 0..runs {
            let name = format!("nichiro_bench_{}_{workers}_{run}", std::process::id());
            postgres(&format!("DROP DATABASE IF EXISTS {name}"));
            postgres(&format!("CREATE DATABASE {name}"));
            let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
            let dirs: Vec<tempfile::TempDir> =
                (0..workers).map(|_| tempfile::tempdir().unwrap()).collect();
            let configs: Vec<PathBuf> = dirs
                .iter()
                .map(|d| config(d.path(), &archives, true, Some(&url)))
                .collect();
            let cores: Vec<Option<&str>> = ["0", "1"][..workers].iter().map(|c| Some(*c)).collect();
            let started = Instant::now();
            let done = backfills(&configs, &cores);
            let secs = started.elapsed().as_secs_f64();
            let read: u64 = done.iter().map(|r| count(&r.summary, "records read")).sum();
            let new: u64 = done.iter().map(|r| count(&r.summary, "new")).sum();
            let once = read as usize == records && new == stored;
            rates.push(records as f64 / secs);
            if run == 0 {
                println!(
                    "  {workers} worker(s), run 1: records read {read} of {records}, articles stored {new} (one process alone: {stored}): {}",
                    if once {
                        "each file and article once"
                    } else {
                        "NOT exactly once"
                    }
                );
            }
            postgres(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
        let (median, min, max) = median_and_spread(rates);
        if workers == 1 {
            one_worker = median;
        }
        println!(
            "{workers} worker(s) on one PostgreSQL database: {median:>7.0} records/s ({min:.0}–{max:.0}){}",
            if workers == 2 {
                format!(", {:.2}× one worker", median / one_worker)
            } else {
                String::new()
            }
        );
    }
}
