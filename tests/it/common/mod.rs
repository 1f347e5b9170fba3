//! Shared harness for the integration tests: start the real `wormgate` binary on a free port with a
//! fresh temporary data directory, build `aws-sdk-s3` clients for it, and send raw HTTP requests
//! (anonymous, or signed by hand with aws-sigv4) where the SDK cannot produce the request we need.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// An access key / secret key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    pub access: &'static str,
    pub secret: &'static str,
}

/// The admin principal (from `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY`).
pub const ADMIN: Keys = Keys {
    access: "AKIAWORMADMIN",
    secret: "admin-secret-key-0123456789",
};
/// Config-file users, one per role.
pub const WRITER: Keys = Keys {
    access: "AKIAWORMWRITER",
    secret: "writer-secret-key-0123",
};
pub const OFFICER: Keys = Keys {
    access: "AKIAWORMOFFICER",
    secret: "officer-secret-key-0123",
};
pub const AUDITOR: Keys = Keys {
    access: "AKIAWORMAUDITOR",
    secret: "auditor-secret-key-0123",
};
pub const BACKUP: Keys = Keys {
    access: "AKIAWORMBACKUP",
    secret: "backup-secret-key-0123",
};

/// Which checksum behaviour the SDK client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksums {
    /// SDK defaults (`WhenSupported`: CRC32 on every upload, response validation on).
    Default,
    /// `RequestChecksumCalculation::WhenRequired` + `ResponseChecksumValidation::WhenRequired`.
    WhenRequired,
}

/// Both checksum modes, for tests that send bodies.
pub const BOTH: [Checksums; 2] = [Checksums::Default, Checksums::WhenRequired];

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--min-retention` (the gateway default, `1d`, when `None`).
    pub min_retention: Option<String>,
    /// `--max-retention`.
    pub max_retention: Option<String>,
    /// Further command line arguments.
    pub extra_args: Vec<String>,
    /// Pass `--listen`, `--data-dir`, `--config` and the retention settings as `WORMGATE_*`
    /// environment variables instead of flags.
    pub via_env: bool,
    /// Further environment variables, set after the harness's own (`WORMGATE_LOG=info`, the admin
    /// keys), so they may override them.
    pub env: Vec<(String, String)>,
    /// The config file's content (`None`: one user per role, see [`WRITER`], [`OFFICER`], [`AUDITOR`], [`BACKUP`]).
    pub config_toml: Option<String>,
    /// Start without `--config` / `WORMGATE_CONFIG`: the admin principal is the only user.
    pub no_config: bool,
    /// Start without `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY` (no admin principal).
    pub no_admin: bool,
}

impl Options {
    pub fn min_retention(s: &str) -> Self {
        Options {
            min_retention: Some(s.to_string()),
            ..Default::default()
        }
    }

    /// Add command line arguments.
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.extra_args.extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Add an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// A running `wormgate serve` on a temporary data directory. Killed (SIGKILL) on drop.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub endpoint: String,
    root: tempfile::TempDir,
    pub data_dir: PathBuf,
    opts: Options,
    /// Every line the server printed on stdout (all runs).
    pub stdout: Arc<Mutex<Vec<String>>>,
}

const CONFIG_TOML: &str = r#"
[[users]]
name = "writer"
access_key = "AKIAWORMWRITER"
secret_key = "writer-secret-key-0123"
role = "writer"

[[users]]
name = "officer"
access_key = "AKIAWORMOFFICER"
secret_key = "officer-secret-key-0123"
role = "officer"

[[users]]
name = "auditor"
access_key = "AKIAWORMAUDITOR"
secret_key = "auditor-secret-key-0123"
role = "auditor"

[[users]]
name = "backup"
access_key = "AKIAWORMBACKUP"
secret_key = "backup-secret-key-0123"
role = "backup"
"#;

impl Server {
    /// Start with the gateway defaults (minimum retention 1 day).
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    /// Start with `opts` on a fresh temporary directory.
    pub fn start_with(opts: Options) -> Server {
        Server::start_prepared(opts, |_| {})
    }

    /// Start with `opts` on a fresh temporary directory after `prepare` has run on its (not yet
    /// created) data directory — e.g. a `wormgate recover` into it, as a standby does.
    pub fn start_prepared(opts: Options, prepare: impl FnOnce(&Path)) -> Server {
        let (root, data_dir) = fresh_root(&opts);
        prepare(&data_dir);
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (child, addr) = spawn(root.path(), &data_dir, &opts, stdout.clone());
        Server {
            child: Some(child),
            addr,
            endpoint: format!("http://{addr}"),
            root,
            data_dir,
            opts,
            stdout,
        }
    }

    /// Run `serve` with `opts` on a fresh temporary directory when it must refuse to start: waits
    /// for it to exit (at most 60 s) and returns (exit code, stdout, stderr). Panics if it starts
    /// listening instead.
    pub fn start_fails(opts: Options) -> (i32, String, String) {
        let (root, data_dir) = fresh_root(&opts);
        let mut child = serve_command(root.path(), &data_dir, &opts)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wormgate");
        let drain = |r: Box<dyn Read + Send>| {
            let text = Arc::new(Mutex::new(String::new()));
            let t2 = text.clone();
            let h = std::thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    let mut t = t2.lock().unwrap();
                    t.push_str(&line);
                    t.push('\n');
                }
            });
            (text, h)
        };
        let (out, out_h) = drain(Box::new(child.stdout.take().expect("stdout")));
        let (err, err_h) = drain(Box::new(child.stderr.take().expect("stderr")));
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            let listening = out.lock().unwrap().contains("listening on");
            if listening || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "wormgate serve {} but should have refused to start; stdout:\n{}\nstderr:\n{}",
                    if listening {
                        "started listening"
                    } else {
                        "did not exit within 60 s"
                    },
                    out.lock().unwrap(),
                    err.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        out_h.join().expect("stdout reader");
        err_h.join().expect("stderr reader");
        let out = out.lock().unwrap().clone();
        let err = err.lock().unwrap().clone();
        (status.code().unwrap_or(-1), out, err)
    }

    /// The temporary directory holding `data/`, the config file and `server.log` (removed on drop).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The options the server was started with; changes apply at the next [`Server::restart`].
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.opts
    }

    /// Every line the server printed on stdout so far (all runs).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Start again on the same data directory (a new port: rebuild clients afterwards).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() needs the server stopped first");
        let (child, addr) = spawn(self.root.path(), &self.data_dir, &self.opts, self.stdout.clone());
        self.child = Some(child);
        self.addr = addr;
        self.endpoint = format!("http://{addr}");
    }

    /// Graceful stop: SIGTERM, then wait (at most 30 s) for the process to exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let st = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("wormgate did not exit within 30 s of SIGTERM; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait (at most 60 s) for a server already sent a stopping signal to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("wormgate did not exit within 60 s; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("server is running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// Resident set size of the server process (Linux `/proc`), in bytes.
    pub fn rss(&self) -> u64 {
        rss_of(&format!("/proc/{}/status", self.pid()))
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// Peak RSS of the server (sampled every 20 ms) while `f` runs, in bytes.
    pub async fn peak_rss_during<F: std::future::Future<Output = ()>>(&self, f: F) -> u64 {
        use std::sync::atomic::{AtomicBool, Ordering};
        /// Stops the sampler also when `f` panics.
        struct Stop(Arc<AtomicBool>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let path = format!("/proc/{}/status", self.pid());
        let stop = Stop(Arc::new(AtomicBool::new(false)));
        let flag = stop.0.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak = 0u64;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss_of(&path));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        f.await;
        drop(stop);
        sampler.join().expect("RSS sampler")
    }

    /// Wait until the server log has a line containing every one of `needles`; returns the line.
    pub async fn wait_log(&self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if let Some(l) = log.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needles:?} in the server log within {within:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The server's stderr (logs) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("server.log")).unwrap_or_default()
    }

    /// A client for `keys` with the given checksum behaviour.
    pub fn client(&self, keys: Keys, mode: Checksums) -> Client {
        client_for(&self.endpoint, keys.access, keys.secret, mode)
    }

    /// Admin client, SDK default checksum settings.
    pub fn admin(&self) -> Client {
        self.client(ADMIN, Checksums::Default)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `VmRSS` of a `/proc/<pid>/status` file, in bytes (0 when unreadable).
fn rss_of(status_path: &str) -> u64 {
    std::fs::read_to_string(status_path)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A fresh temporary root with the config file; returns it and the data directory path in it.
fn fresh_root(opts: &Options) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::Builder::new()
        .prefix("wormgate-it-")
        .tempdir()
        .expect("temp dir");
    let config = opts.config_toml.as_deref().unwrap_or(CONFIG_TOML);
    std::fs::write(root.path().join("wormgate.toml"), config).expect("write config");
    let data_dir = root.path().join("data");
    (root, data_dir)
}

/// The binary with no `WORMGATE_*` variable (nor a `GLIBC_TUNABLES`) from the developer's environment.
fn clean_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wormgate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WORMGATE_") || k == "GLIBC_TUNABLES" {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

/// The one `wormgate serve` command line of the harness (stdio left to the caller).
fn serve_command(root: &Path, data_dir: &Path, opts: &Options) -> Command {
    let mut cmd = clean_command();
    cmd.arg("serve");
    let config = root.join("wormgate.toml");
    if opts.via_env {
        cmd.env("WORMGATE_LISTEN", "127.0.0.1:0")
            .env("WORMGATE_DATA_DIR", data_dir);
        if !opts.no_config {
            cmd.env("WORMGATE_CONFIG", &config);
        }
        if let Some(m) = &opts.min_retention {
            cmd.env("WORMGATE_MIN_RETENTION", m);
        }
        if let Some(m) = &opts.max_retention {
            cmd.env("WORMGATE_MAX_RETENTION", m);
        }
    } else {
        cmd.arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(data_dir);
        if !opts.no_config {
            cmd.arg("--config").arg(&config);
        }
        if let Some(m) = &opts.min_retention {
            cmd.arg("--min-retention").arg(m);
        }
        if let Some(m) = &opts.max_retention {
            cmd.arg("--max-retention").arg(m);
        }
    }
    cmd.args(&opts.extra_args).env("WORMGATE_LOG", "info");
    if !opts.no_admin {
        cmd.env("WORMGATE_ACCESS_KEY", ADMIN.access)
            .env("WORMGATE_SECRET_KEY", ADMIN.secret);
    }
    cmd.envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

fn spawn(root: &Path, data_dir: &Path, opts: &Options, lines: Arc<Mutex<Vec<String>>>) -> (Child, SocketAddr) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("server.log"))
        .expect("open log");
    let mut cmd = serve_command(root, data_dir, opts);
    cmd.stdout(Stdio::piped()).stderr(Stdio::from(log));
    let mut child = cmd.spawn().expect("spawn wormgate");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let addr = line
                .split("listening on http://")
                .nth(1)
                .map(|r| r.split_whitespace().next().unwrap_or("").to_string());
            lines.lock().unwrap().push(line);
            if let Some(addr) = addr {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(addr) => return (child, addr.parse().expect("listening address")),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
            panic!("wormgate exited before listening ({status}); log:\n{log}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wormgate did not print 'listening on http://' within 60 s");
        }
    }
}

/// Run a one-shot `wormgate` tool command (`audit verify`, `scrub`, `report`, `recover`, …) with a
/// clean `WORMGATE_*` environment plus `env`. Returns (exit code, stdout, stderr).
pub fn wormgate<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = clean_command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run wormgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY` for the tool commands that talk to `--endpoint`.
pub fn keys_env(k: Keys) -> [(&'static str, &'static str); 2] {
    [("WORMGATE_ACCESS_KEY", k.access), ("WORMGATE_SECRET_KEY", k.secret)]
}

/// An SDK client for an endpoint: path style, us-east-1, no retries (a retry would hide what the
/// server answered first).
pub fn client_for(endpoint: &str, access: &str, secret: &str, mode: Checksums) -> Client {
    let mut b = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(access, secret, None, None, "wormgate-tests"))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
    if mode == Checksums::WhenRequired {
        b = b
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    Client::from_conf(b.build())
}

/// The HTTP status of an SDK error, if a response came back.
pub fn status_of<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// Assert that `r` failed with HTTP `status` and S3 error `code` (`""`: do not check the code, e.g.
/// for HEAD, whose error responses have no body). Returns the error for further checks.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug, E>(
    r: Result<T, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    status: u16,
    code: &str,
) -> SdkError<E, aws_sdk_s3::config::http::HttpResponse>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match r {
        Ok(v) => panic!("expected {status} {code}, but the request succeeded: {v:?}"),
        Err(e) => {
            let got_status = status_of(&e);
            let got_code = e.code().map(str::to_string);
            let msg = e.message().map(str::to_string);
            let detail = format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e));
            assert_eq!(
                got_status,
                Some(status),
                "expected HTTP {status} {code}; got {got_status:?} {got_code:?} ({msg:?}); {detail}"
            );
            if !code.is_empty() {
                assert_eq!(
                    got_code.as_deref(),
                    Some(code),
                    "expected code {code} (HTTP {status}); got {got_code:?} ({msg:?}); {detail}"
                );
            }
            e
        }
    }
}

/// Unwrap an SDK result with the full error context in the panic message.
#[track_caller]
pub fn ok<T, E>(r: Result<T, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>, what: &str) -> T
where
    E: std::error::Error + 'static,
{
    match r {
        Ok(v) => v,
        Err(e) => {
            let status = status_of(&e);
            panic!(
                "{what} failed (HTTP {status:?}): {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        }
    }
}

/// Create a bucket with the admin client (Object Lock header set, as lock-aware clients do).
pub async fn make_bucket(c: &Client, name: &str) {
    ok(
        c.create_bucket()
            .bucket(name)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await,
        "CreateBucket",
    );
}

/// Set a bucket's default retention: COMPLIANCE for `days` days.
pub async fn set_default_retention_days(c: &Client, bucket: &str, days: i32) {
    use aws_sdk_s3::types::{
        DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
    };
    ok(
        c.put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Compliance)
                                    .days(days)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
        "PutObjectLockConfiguration",
    );
}

/// PUT `body` at `bucket/key` with the given client; the new version's id.
pub async fn put_version(c: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    let out = ok(
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await,
        "PutObject",
    );
    out.version_id().expect("version id").to_string()
}

/// The COMPLIANCE retain-until date (seconds) of a version (`None`: the current one), as
/// `GetObjectRetention` answers it.
pub async fn retain_until(c: &Client, bucket: &str, key: &str, version: Option<&str>) -> i64 {
    let out = ok(
        c.get_object_retention()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .send()
            .await,
        "GetObjectRetention",
    );
    let r = out.retention().expect("retention");
    assert_eq!(r.mode(), Some(&aws_sdk_s3::types::ObjectLockRetentionMode::Compliance));
    r.retain_until_date().expect("date").secs()
}

/// Whether a version's legal hold is ON, as `GetObjectLegalHold` answers it.
pub async fn legal_hold_on(c: &Client, bucket: &str, key: &str, version: &str) -> bool {
    let out = ok(
        c.get_object_legal_hold()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await,
        "GetObjectLegalHold",
    );
    let status = out.legal_hold().and_then(|h| h.status()).expect("legal hold status");
    status == &aws_sdk_s3::types::ObjectLockLegalHoldStatus::On
}

/// The version ids of `key` (newest first) and of its delete markers, as `ListObjectVersions` lists them.
pub async fn versions_of(c: &Client, bucket: &str, key: &str) -> (Vec<String>, Vec<String>) {
    let out = ok(
        c.list_object_versions().bucket(bucket).prefix(key).send().await,
        "ListObjectVersions",
    );
    let versions = out
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect();
    let markers = out
        .delete_markers()
        .iter()
        .filter(|v| v.key() == Some(key))
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect();
    (versions, markers)
}

/// Collect a `GetObject` body.
pub async fn body_bytes(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.expect("read body").into_bytes().to_vec()
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Now plus `secs` seconds, as an SDK `DateTime` (whole seconds).
pub fn in_secs(secs: i64) -> aws_sdk_s3::primitives::DateTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    aws_sdk_s3::primitives::DateTime::from_secs(now + secs)
}

pub fn days(n: i64) -> i64 {
    n * 86_400
}

/// A raw HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// `<Code>` of an S3 error document.
    pub fn code(&self) -> Option<String> {
        let t = self.text();
        let s = t.find("<Code>")? + 6;
        let e = t[s..].find("</Code>")? + s;
        Some(t[s..e].to_string())
    }
}

/// Send one raw HTTP/1.1 request (`Connection: close`) and read the whole response.
pub fn raw_request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.to_string());
    let host = host.unwrap_or_else(|| addr.to_string());
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    let has_len = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("host") {
            continue;
        }
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if !has_len && (!body.is_empty() || method == "PUT" || method == "POST") {
        let _ = write!(req, "Content-Length: {}\r\n", body.len());
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    read_response(&mut s, method == "HEAD")
}

/// Read one response from a stream (until EOF, as the request said `Connection: close`).
pub fn read_response(s: &mut TcpStream, head: bool) -> RawResponse {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_response(&buf, head)
}

/// Parse a complete HTTP/1.1 response (skipping any `100 Continue` interim responses).
pub fn parse_response(mut buf: &[u8], head: bool) -> RawResponse {
    loop {
        let end =
            find(buf, b"\r\n\r\n").unwrap_or_else(|| panic!("incomplete response: {:?}", String::from_utf8_lossy(buf)));
        let head_text = String::from_utf8_lossy(&buf[..end]).into_owned();
        let rest = &buf[end + 4..];
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        if status == 100 {
            buf = rest;
            continue;
        }
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
        let body = if head {
            Vec::new()
        } else if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        };
        return RawResponse { status, headers, body };
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = find(b, b"\r\n") {
        let size_txt = String::from_utf8_lossy(&b[..i]);
        let size = usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        b = &b[i + 2..];
        if size == 0 || b.len() < size {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

/// Sign a request with `SigV4` (aws-sigv4, S3 settings) the way the SDK would, with an explicit
/// `x-amz-content-sha256` value. Returns the headers to send (including the given ones).
pub fn sign_headers(
    addr: SocketAddr,
    keys: Keys,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    content_sha256: &str,
) -> Vec<(String, String)> {
    sign_headers_at(
        addr,
        keys,
        method,
        target,
        headers,
        content_sha256,
        std::time::SystemTime::now(),
    )
}

/// [`sign_headers`] at a given signing time.
pub fn sign_headers_at(
    addr: SocketAddr,
    keys: Keys,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    content_sha256: &str,
    time: std::time::SystemTime,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    use aws_sigv4::sign::v4;
    let identity = Credentials::new(keys.access, keys.secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    // A `host` among `headers` (virtual-hosted style) replaces the address.
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.to_string());
    let host = host.unwrap_or_else(|| addr.to_string());
    let uri = format!("http://{host}{target}");
    let mut all: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.push(("host".into(), host.clone()));
    let signable = SignableRequest::new(
        method,
        uri.clone(),
        all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Precomputed(content_sha256.to_string()),
    )
    .expect("signable");
    let (instructions, _sig) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder().method(method).uri(&uri);
    for (k, v) in &all {
        req = req.header(k.as_str(), v.as_str());
    }
    let mut req = req.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut req);
    req.headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().expect("ascii header").to_string()))
        .collect()
}

/// Send a SigV4-signed raw request whose signed `x-amz-content-sha256` is `content_sha256`
/// (which need not match `body`).
pub fn signed_raw(
    addr: SocketAddr,
    keys: Keys,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    content_sha256: &str,
    body: &[u8],
) -> RawResponse {
    let signed = sign_headers(addr, keys, method, target, headers, content_sha256);
    let refs: Vec<(&str, &str)> = signed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    raw_request(addr, method, target, &refs, body)
}

/// [`signed_raw`] signed at `time`.
#[allow(clippy::too_many_arguments)]
pub fn signed_raw_at(
    addr: SocketAddr,
    keys: Keys,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    content_sha256: &str,
    body: &[u8],
    time: std::time::SystemTime,
) -> RawResponse {
    let signed = sign_headers_at(addr, keys, method, target, headers, content_sha256, time);
    let refs: Vec<(&str, &str)> = signed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    raw_request(addr, method, target, &refs, body)
}

/// Hash of every file and directory under `dir` (relative path + content), excluding the top-level
/// entries named in `exclude`. Returns a sorted list of (path, sha256-or-"dir").
pub fn tree_digest(dir: &Path, exclude: &[&str]) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd {
            let e = e.expect("dir entry");
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                out.push((rel, "dir".into()));
                walk(base, &p, out);
            } else {
                let data = std::fs::read(&p).expect("read file");
                out.push((rel, sha256_hex(&data)));
            }
        }
    }
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd {
        let e = e.expect("dir entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if exclude.contains(&name.as_str()) {
            continue;
        }
        let p = e.path();
        if e.file_type().expect("file type").is_dir() {
            out.push((name, "dir".into()));
            walk(dir, &p, &mut out);
        } else {
            out.push((name, sha256_hex(&std::fs::read(&p).expect("read"))));
        }
    }
    out.sort();
    out
}

/// A request body fed from a channel, with an exact length: lets a test pace an upload or make the
/// SDK stream it (aws-chunked with a trailing checksum) instead of sending one buffer.
pub struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    remaining: u64,
}

impl ChannelBody {
    /// A body of exactly `len` bytes, read from `rx`; ending early is a body error.
    pub fn new(rx: tokio::sync::mpsc::Receiver<bytes::Bytes>, len: u64) -> Self {
        ChannelBody { rx, remaining: len }
    }
}

impl http_body::Body for ChannelBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        use std::task::Poll;
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(b)) => {
                self.remaining = self.remaining.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(http_body::Frame::data(b))))
            }
            Poll::Ready(None) if self.remaining > 0 => {
                Poll::Ready(Some(Err(std::io::Error::other("producer stopped early"))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }
    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

/// `data` as a streamed body (64 KiB frames through a [`ChannelBody`]), so the SDK sends it
/// aws-chunked rather than as one signed buffer.
pub fn streamed_body(data: Vec<u8>) -> aws_sdk_s3::primitives::ByteStream {
    let len = data.len() as u64;
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    tokio::spawn(async move {
        let data = bytes::Bytes::from(data);
        let mut at = 0;
        while at < data.len() {
            let end = (at + 64 * 1024).min(data.len());
            if tx.send(data.slice(at..end)).await.is_err() {
                break;
            }
            at = end;
        }
    });
    aws_sdk_s3::primitives::ByteStream::from_body_1_x(ChannelBody::new(rx, len))
}

/// One entry of `ListObjectVersions`: key, version id, and size (`None` for a delete marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub version_id: String,
    pub size: Option<i64>,
}

/// Every version and every delete marker of a bucket (all pages), as `ListObjectVersions` lists them.
pub async fn all_versions(c: &Client, bucket: &str) -> (Vec<Listed>, Vec<Listed>) {
    let (mut versions, mut markers) = (Vec::new(), Vec::new());
    let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = ok(
            c.list_object_versions()
                .bucket(bucket)
                .set_key_marker(km.clone())
                .set_version_id_marker(vm.clone())
                .send()
                .await,
            "ListObjectVersions page",
        );
        for v in page.versions() {
            versions.push(Listed {
                key: v.key().unwrap_or_default().to_string(),
                version_id: v.version_id().unwrap_or_default().to_string(),
                size: Some(v.size().unwrap_or(-1)),
            });
        }
        for m in page.delete_markers() {
            markers.push(Listed {
                key: m.key().unwrap_or_default().to_string(),
                version_id: m.version_id().unwrap_or_default().to_string(),
                size: None,
            });
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        km = page.next_key_marker().map(str::to_string);
        vm = page.next_version_id_marker().map(str::to_string);
    }
    (versions, markers)
}
