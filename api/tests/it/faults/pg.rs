//! A PostgreSQL server of the test's own, which it may stop and start: the machine's shared one
//! at 127.0.0.1:5432 serves every other test and is never stopped.

use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL server for one test: `initdb` into a temp dir, trust auth, listening on a free
/// loopback port with its socket in that dir. Stopped and removed when dropped, panic or not.
pub(super) struct PrivatePg {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "the fault tests run a PostgreSQL of their own and need initdb and pg_ctl in \
             /usr/lib/postgresql/<version>/bin: install the postgresql package (.ci/run does)"
        )
    })
}

fn as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivatePg {
    pub(super) fn start() -> PrivatePg {
        let root =
            std::env::temp_dir().join(format!("tandem-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).expect("creating the PostgreSQL dir");
        let pg = PrivatePg {
            bin: postgres_bin(),
            root,
            port: free_port(),
        };
        if as_root() {
            // PostgreSQL refuses to run as root: its files belong to the postgres user.
            let ok = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pg.root)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown postgres {} failed", pg.root.display());
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        pg.start_server();
        pg
    }

    fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, name: &str, args: &[&str]) {
        let out = self
            .tool(name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"));
        let log = std::fs::read_to_string(self.root.join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{name} {args:?} failed: {}\n{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server; returns once it accepts connections.
    pub(super) fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.root.display()
        );
        let (data, log) = (self.data(), self.root.join("log").display().to_string());
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// `pg_ctl stop -m fast`: every backend is told to go (57P01), then the server exits.
    pub(super) fn stop_server(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub(super) fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
