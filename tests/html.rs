//! The HTML report of the fixture month, opened in headless Chromium (Debian's `chromium`,
//! installed by scripts/setup-chromium.sh): charts render, the page is not blank, nothing is
//! logged to the console, no request leaves the page, and a client named like a script is
//! shown as text. Without Chromium this test fails: it never skips.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Workspace, fixture, s};

const EVIL: &str = "<script>alert(1)</script>";

/// The browser's own services, which Chromium calls even with background networking off
/// (component updates, sign-in, network time: seen as update.googleapis.com,
/// accounts.google.com, clients2.google.com): not requests of the page, so not counted. Web
/// fonts are not among them: fonts.googleapis.com and fonts.gstatic.com count.
fn browser_service(host: &str) -> bool {
    let google = [".google.com", ".googleapis.com", ".gvt1.com"].iter().any(|d| host.ends_with(d));
    google && !host.starts_with("fonts.")
}

/// A local TCP listener given to Chromium as its proxy: every HTTP(S) request (external or
/// not, since loopback is not bypassed) lands here; the host of each is recorded.
struct Recorder {
    port: u16,
    hosts: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind recorder");
        let port = listener.local_addr().unwrap().port();
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let seen = hosts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 512];
                let n = stream.read(&mut buf).unwrap_or(0);
                // "CONNECT host:443 HTTP/1.1" or "GET http://host/path HTTP/1.1".
                let line = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_owned();
                let target = line.split(' ').nth(1).unwrap_or("?");
                let host =
                    target.trim_start_matches("http://").split(['/', ':']).next().unwrap_or("?").to_owned();
                seen.lock().unwrap().push(host);
                // Dropped unanswered: the browser gets an error, not a page.
            }
        });
        Recorder { port, hosts }
    }

    /// Hosts the page asked for (the browser's own services left out).
    fn page_requests(&self) -> Vec<String> {
        let hosts = self.hosts.lock().unwrap();
        hosts.iter().filter(|h| !browser_service(h)).cloned().collect()
    }
}

/// Run Chromium headless on `page` with `mode` (`--dump-dom` or `--screenshot=...`).
fn chromium(page: &Path, profile: &Path, proxy: u16, mode: &str) -> Output {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{proxy}"))
        // Loopback goes through the proxy too, so nothing at all can load unseen.
        .arg("--proxy-bypass-list=<-loopback>")
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .expect("chromium must be installed (scripts/setup-chromium.sh): the HTML test does not skip");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Console messages as Chromium logs them with --enable-logging=stderr.
fn console_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr).lines().filter(|l| l.contains("CONSOLE")).map(str::to_owned).collect()
}

/// Distinct colours in a PNG (RGB(A), 8 bits): a blank page has one.
fn colours(png_path: &Path) -> usize {
    let mut bytes = Vec::new();
    std::fs::File::open(png_path).unwrap().read_to_end(&mut bytes).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let mut seen = std::collections::HashSet::new();
    for px in buf[..info.buffer_size()].chunks(channels) {
        seen.insert(px[..3.min(channels)].to_vec());
    }
    seen.len()
}

#[test]
fn the_probes_catch_a_bad_page() {
    // The checks below must be able to fail: a page with a script that logs an error and an
    // external image trips both the console check and the proxy recorder.
    let ws = Workspace::new();
    let page = ws.path("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://example.com/x.png\"><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let recorder = Recorder::start();
    let out = chromium(&page, &ws.path("profile"), recorder.port, "--dump-dom");
    assert!(
        !console_lines(&out.stderr).is_empty(),
        "console error not seen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        recorder.page_requests().contains(&"example.com".to_owned()),
        "the external request did not reach the recorder"
    );
}

#[test]
fn fixture_month_renders_in_chromium() {
    let ws = Workspace::new();
    // The fixture config, plus a client whose name is markup.
    let config = ws.path("config.toml");
    let mut text = std::fs::read_to_string(fixture("config.toml")).unwrap();
    text.push_str(&format!("\n[clients.\"{EVIL}\"]\nsubscriptions = [\"sub-0007\"]\n"));
    std::fs::write(&config, text).unwrap();
    let events = fixture("events/2026-10.jsonl");
    ws.ok(&["--config", s(&config), "ingest", s(&events)]);
    let html = ws.ok(&["--config", s(&config), "report", "--month", "2026-10", "--format", "html"]).stdout;
    let html = String::from_utf8(html).unwrap();
    assert!(!html.contains(EVIL), "the client name must be escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("<script") && !html.contains("src=") && !html.contains("url("),
        "self-contained, no scripts"
    );
    // The only URL in the page is the SVG namespace (an identifier, never fetched).
    let urls = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(urls, html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(), "no URLs to load");
    let page = ws.path("report.html");
    std::fs::write(&page, &html).unwrap();

    let recorder = Recorder::start();
    let dom = chromium(&page, &ws.path("profile-dom"), recorder.port, "--dump-dom");
    let console = console_lines(&dom.stderr);
    assert!(console.is_empty(), "console messages: {console:?}");
    let dom = String::from_utf8(dom.stdout).unwrap();
    // Three charts: cost per client (bars), daily cost per client and per deployment (lines).
    assert_eq!(dom.matches("<svg").count(), 3, "charts in the DOM");
    // 21 clients in the fixture month: one bar each (at most 25 drawn).
    assert!(dom.matches("<rect").count() >= 21, "bars");
    // Lines: up to 8 clients + others, up to 8 deployments + others.
    assert!(dom.matches("<path").count() >= 10, "trend lines");
    // Parsed by the browser, the evil name is still text, and no script element exists.
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains("<script"));

    let shot = ws.path("report.png");
    let run =
        chromium(&page, &ws.path("profile-shot"), recorder.port, &format!("--screenshot={}", shot.display()));
    assert!(console_lines(&run.stderr).is_empty());
    assert!(colours(&shot) > 16, "the screenshot is blank");
    assert_eq!(recorder.page_requests(), Vec::<String>::new(), "the page made network requests");
}
