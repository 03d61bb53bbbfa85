//! What the measurements read: a process's memory and CPU time from `/proc`, the kernel's memory
//! that grows with sockets, and percentiles.

use anyhow::{Context, Result};

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    field_kib(&status, "VmRSS:")
}

fn field_kib(text: &str, name: &str) -> Result<u64> {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {name}"))
}

/// Kernel memory that grows with sockets: slab plus TCP buffer pages, in KiB.
pub fn kernel_kib() -> Result<u64> {
    let slab = field_kib(&std::fs::read_to_string("/proc/meminfo")?, "Slab:")?;
    let sockstat = std::fs::read_to_string("/proc/net/sockstat")?;
    let pages: u64 = sockstat
        .lines()
        .find(|l| l.starts_with("TCP:"))
        .and_then(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let i = parts.iter().position(|p| *p == "mem")?;
            parts.get(i + 1)?.parse().ok()
        })
        .unwrap_or(0);
    Ok(slab + pages * 4)
}

/// CPU time (user + system) a process has used, in seconds.
pub fn cpu_secs(pid: u32) -> Result<f64> {
    let (user, system) = cpu_split(pid)?;
    Ok(user + system)
}

/// User and system CPU seconds of a process.
pub fn cpu_split(pid: u32) -> Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = &stat[stat.rfind(')').context("stat")? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    Ok((f[11].parse::<f64>()? / 100.0, f[12].parse::<f64>()? / 100.0))
}

/// The sample at fraction `p` (0 to 1) of sorted samples, by rounded index.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Turns Nagle's algorithm off on a client socket, as browsers do: each frame leaves when sent.
pub fn nodelay(ws: &tandem_testkit::ws::Ws) {
    if let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        let _ = tcp.set_nodelay(true);
    }
}
