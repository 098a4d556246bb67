//! Real servers for the tests that drive third-party clients: `redis-server`,
//! `mariadbd`, `memcached` and PostgreSQL, each started on a free port in a temporary directory and
//! stopped when dropped.
//!
//! A missing server program skips the test with a loud message, except in CI
//! (`CI=true`), where `.ci/run` installs them and a missing one fails.
// Each test binary uses part of these helpers.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// A running server process and its scratch directory.
pub struct Server {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Finds `name` on the `PATH` or in the system directories.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `None` after saying loudly that the test is skipped; panics in CI.
fn missing(name: &str, package: &str) -> Option<Server> {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{name} is missing in CI: .ci/run must install the Debian package {package}");
    }
    eprintln!(
        "\n*** SKIPPED: {name} not found; `apt-get install {package}` to run this test ***\n"
    );
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scratch_dir(kind: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("eventlet-{kind}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until the server accepts TCP connections on `port`.
fn wait_until_listening(server: &mut Server, name: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", server.port)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{name} exited at start-up: {status}");
        }
        assert!(start.elapsed() < STARTUP, "{name} did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `redis-server` on 127.0.0.1, without persistence.
pub fn redis() -> Option<Server> {
    let Some(binary) = program("redis-server") else {
        return missing("redis-server", "redis-server");
    };
    let dir = scratch_dir("redis");
    let port = free_port();
    let child = Command::new(binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child, dir, port };
    wait_until_listening(&mut server, "redis-server");
    Some(server)
}

/// A `mariadbd` on 127.0.0.1 with a fresh data directory and no grant
/// checks (any user, no password).
pub fn mariadb() -> Option<Server> {
    let (Some(daemon), Some(install)) = (
        program("mariadbd").or_else(|| program("mysqld")),
        program("mariadb-install-db").or_else(|| program("mysql_install_db")),
    ) else {
        return missing("mariadbd", "mariadb-server");
    };
    let dir = scratch_dir("mariadb");
    let data = dir.join("data");
    // SAFETY: `geteuid` has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let user: &[&str] = if as_root { &["--user=root"] } else { &[] };
    // A temporary directory of its own: with the shared /tmp, two servers
    // bootstrapping at once were seen to fail on each other's temp tables.
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let installed = Command::new(install)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .args(user)
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "mariadb-install-db failed: {}",
        String::from_utf8_lossy(&installed.stderr)
    );
    let port = free_port();
    let child = Command::new(daemon)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .arg(format!(
            "--socket={}",
            Path::new(&dir).join("mysqld.sock").display()
        ))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .args(["--bind-address=127.0.0.1", &format!("--port={port}")])
        .args([
            "--skip-grant-tables",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
        ])
        .args(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child, dir, port };
    wait_until_listening(&mut server, "mariadbd");
    Some(server)
}

/// A `memcached` on 127.0.0.1.
pub fn memcached() -> Option<Server> {
    let Some(binary) = program("memcached") else {
        return missing("memcached", "memcached");
    };
    let dir = scratch_dir("memcached");
    let port = free_port();
    // SAFETY: `geteuid` has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let user: &[&str] = if as_root { &["-u", "root"] } else { &[] };
    let child = Command::new(binary)
        .args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"])
        .args(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child, dir, port };
    wait_until_listening(&mut server, "memcached");
    Some(server)
}

/// The directory of PostgreSQL's server programs (`initdb`, `postgres`):
/// Debian keeps them in `/usr/lib/postgresql/VERSION/bin`, off the `PATH`.
fn postgres_bin_dir() -> Option<PathBuf> {
    if let Some(initdb) = program("initdb") {
        // Through any symbolic link, to the directory of all its tools.
        let initdb = std::fs::canonicalize(initdb).ok()?;
        let dir = initdb.parent()?.to_path_buf();
        if dir.join("postgres").is_file() {
            return Some(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// A PostgreSQL server on 127.0.0.1 with a fresh cluster (`initdb`) in a
/// scratch directory: user `postgres`, database `postgres`, no password
/// (`trust`). PostgreSQL refuses to run as root, so as root the cluster
/// belongs to, and the server runs as, the system user `postgres` (which
/// Debian's `postgresql` package creates).
pub fn postgres() -> Option<Server> {
    let Some(bin) = postgres_bin_dir() else {
        return missing("postgres", "postgresql");
    };
    let dir = scratch_dir("postgres");
    let data = dir.join("data");
    // SAFETY: `geteuid` has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let owner = if as_root {
        let Some(owner) = system_user("postgres") else {
            return missing("the system user postgres", "postgresql");
        };
        std::os::unix::fs::chown(&dir, Some(owner.0), Some(owner.1)).unwrap();
        Some(owner)
    } else {
        None
    };
    let run_as = |program: PathBuf| -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(program);
        if let Some((uid, gid)) = owner {
            command.uid(uid).gid(gid);
        }
        command
    };
    let initdb = run_as(bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        .output()
        .unwrap();
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    let port = free_port();
    let child = run_as(bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .arg("-k")
        .arg(&dir)
        .args(["-c", "fsync=off", "-c", "max_connections=200"])
        .args(["-c", "shared_buffers=16MB", "-c", "synchronous_commit=off"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child, dir, port };
    wait_until_listening(&mut server, "postgres");
    // It listens before it accepts sessions ("the database system is
    // starting up"): wait until it says it is ready.
    let start = Instant::now();
    while !Command::new(bin.join("pg_isready"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(start.elapsed() < STARTUP, "postgres did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

/// The user and group ids of a system user.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: `getpwnam` reads the user database; the entry it returns (or
    // null) is read at once, before any other call could overwrite it.
    unsafe {
        let entry = libc::getpwnam(name.as_ptr());
        (!entry.is_null()).then(|| ((*entry).pw_uid, (*entry).pw_gid))
    }
}
