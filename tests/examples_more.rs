//! The second set of examples (uprobe, usdt, sockfilter, tc, xdp, task_iter, tp_btf,
//! struct_ops), each built by bpfgen, its loader compiled against the skeleton and run in the
//! kernel until its output shows that the BPF side saw the event; and kprobe and fentry, which
//! this kernel cannot run, built and compiled only.
//!
//! Every loader runs with a time limit of its own, and every wait here has a deadline, so
//! nothing hangs. The network tests build their own pair of network namespaces joined by a veth
//! pair: their traffic never leaves this machine, and the namespaces go away with the test.

use crate::util::*;
use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a loader may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

/// Builds `examples/c/<name>.bpf.c` with bpfgen and compiles its loader; returns the scratch
/// directory (which must outlive the loader) and the loader's path.
fn build(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = scratch();
    let out = dir.path().join(".output");
    run_ok(
        bpfgen()
            .arg("build")
            .arg(example(&format!("{name}.bpf.c")))
            .arg("-o")
            .arg(&out),
    );
    for file in ["bpf.o", "skel.h", "bpf.d"] {
        let path = out.join(format!("{name}.{file}"));
        assert!(path.exists(), "bpfgen wrote no {}", path.display());
    }
    let bin = dir.path().join(name);
    compile_userspace(&example(&format!("{name}.c")), &out, &bin);
    (dir, bin)
}

/// A running loader: its stdout arrives line by line on a channel, its stderr is kept for
/// failure messages. Dropping it interrupts the loader and, if that does not stop it, kills it.
struct Loader {
    name: String,
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Every stdout line received so far.
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Loader {
    fn start(name: &str, mut cmd: Command) -> Loader {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Loader {
            name: name.to_string(),
            child: Some(child),
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// What the loader printed so far, for failure messages.
    fn transcript(&self) -> String {
        format!(
            "{} stdout:\n{}\n{} stderr:\n{}",
            self.name,
            self.seen.join("\n"),
            self.name,
            self.stderr.lock().unwrap()
        )
    }

    /// Waits for a stdout line that satisfies `wanted`, calling `poke` (to cause the event)
    /// about every 200 ms meanwhile. Panics, showing the output, after `timeout`.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut poke: impl FnMut(),
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        let mut next_poke = Instant::now();
        loop {
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "{}: no {what} within {timeout:?}\n{}",
                    self.name,
                    self.transcript()
                );
            }
            if now >= next_poke {
                poke();
                next_poke = now + Duration::from_millis(200);
            }
            let wait = next_poke
                .min(deadline)
                .saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(wait) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.wait_exit(Duration::from_secs(5));
                    panic!(
                        "{} exited ({status:?}) before printing {what}\n{}",
                        self.name,
                        self.transcript()
                    );
                }
            }
        }
    }

    /// Waits for the loader's start-up line.
    fn wait_started(&mut self) {
        self.wait_for(
            "start-up line",
            PATIENCE,
            || {},
            |l| l.starts_with("Successfully started!"),
        );
    }

    /// Waits up to `timeout` for the process to exit by itself, then kills it.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Collects the rest of stdout (after the process ended), with a deadline.
    fn drain(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => break,
            }
        }
    }

    /// Runs the loader to its end (it must stop by itself within `timeout`) and returns its
    /// whole stdout; panics unless it exits successfully.
    fn finish(mut self, timeout: Duration) -> Vec<String> {
        let status = self.wait_exit(timeout);
        self.drain(Duration::from_secs(5));
        match status {
            Some(s) if s.success() => std::mem::take(&mut self.seen),
            Some(s) => panic!("{} exited with {s}\n{}", self.name, self.transcript()),
            None => panic!(
                "{} did not exit within {timeout:?}; killed\n{}",
                self.name,
                self.transcript()
            ),
        }
    }

    /// Interrupts the loader as Ctrl-C would and checks that it exits cleanly.
    fn stop(self) -> Vec<String> {
        self.interrupt();
        self.finish(Duration::from_secs(10))
    }

    fn interrupt(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
        }
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A test failed while the loader ran: let it clean up (detach, unregister) if it can.
            self.interrupt();
            self.wait_exit(Duration::from_secs(5));
        }
    }
}

/// Two network namespaces of this test process, `<tag>-a` and `<tag>-b`, joined by a veth pair:
/// `veth0` (10.200.0.1/24) in the first, `veth1` (10.200.0.2/24) in the second. Dropping it
/// deletes both namespaces, and with them the veth pair.
struct VethPair {
    a: String,
    b: String,
}

const ADDR_A: &str = "10.200.0.1";
const ADDR_B: &str = "10.200.0.2";

impl VethPair {
    fn new(tag: &str) -> VethPair {
        let prefix = format!("bpfgen-{}-{tag}", std::process::id());
        let pair = VethPair {
            a: format!("{prefix}-a"),
            b: format!("{prefix}-b"),
        };
        // Leftovers of a crashed run with the same process id would make `add` fail.
        for ns in [&pair.a, &pair.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
            run_ok(Command::new("ip").args(["netns", "add", ns]));
        }
        let (a, b) = (pair.a.as_str(), pair.b.as_str());
        let ip = |args: &[&str]| run_ok(Command::new("ip").args(args));
        ip(&[
            "link", "add", "veth0", "netns", a, "type", "veth", "peer", "name", "veth1", "netns", b,
        ]);
        let (addr_a, addr_b) = (format!("{ADDR_A}/24"), format!("{ADDR_B}/24"));
        ip(&["-n", a, "addr", "add", &addr_a, "dev", "veth0"]);
        ip(&["-n", b, "addr", "add", &addr_b, "dev", "veth1"]);
        ip(&["-n", a, "link", "set", "veth0", "up"]);
        ip(&["-n", b, "link", "set", "veth1", "up"]);
        ip(&["-n", a, "link", "set", "lo", "up"]);
        ip(&["-n", b, "link", "set", "lo", "up"]);
        pair
    }

    /// A command run inside the first namespace.
    fn in_a(&self, program: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.a]).arg(program);
        cmd
    }

    /// Sends a few UDP datagrams from the second namespace to the first (port 9, discard; the
    /// ICMP errors that come back do not matter).
    fn send_udp_b_to_a(&self) {
        let script = format!("for i in 1 2 3; do echo bpfgen > /dev/udp/{ADDR_A}/9; done");
        let _ = Command::new("ip")
            .args(["netns", "exec", &self.b, "bash", "-c", &script])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The number right after `key` in `line` ("IPv4 3," with key "IPv4 " gives 3).
fn number_after(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[test]
fn uprobe_sees_arguments_and_return_value() {
    if !kernel_available("uprobe_sees_arguments_and_return_value") {
        return;
    }
    let (_dir, bin) = build("uprobe");
    let mut cmd = Command::new(&bin);
    cmd.args(["-t", "60"]);
    let mut loader = Loader::start("uprobe", cmd);
    loader.wait_started();
    // The loader calls uprobed_add(i, i + 1) with i = 1, 2, ...; .bss starts at zero, so
    // matching non-zero values can only come from the probes.
    loader.wait_for(
        "probe values for the first call",
        PATIENCE,
        || {},
        |l| l == "uprobed_add(1, 2) = 3 seen by BPF: args 1 2, ret 3 (1 entries, 1 returns)",
    );
    loader.wait_for(
        "probe values for the second call",
        PATIENCE,
        || {},
        |l| l == "uprobed_add(2, 3) = 5 seen by BPF: args 2 3, ret 5 (2 entries, 2 returns)",
    );
    loader.stop();
}

#[test]
fn usdt_sees_probe_arguments() {
    if !kernel_available("usdt_sees_probe_arguments") {
        return;
    }
    let (_dir, bin) = build("usdt");
    let mut cmd = Command::new(&bin);
    cmd.args(["-t", "60"]);
    let mut loader = Loader::start("usdt", cmd);
    loader.wait_started();
    loader.wait_for(
        "the first tick",
        PATIENCE,
        || {},
        |l| l == "tick(1, 10) seen by BPF: i=1 j=10 (1 hits)",
    );
    loader.wait_for(
        "the second tick",
        PATIENCE,
        || {},
        |l| l == "tick(2, 20) seen by BPF: i=2 j=20 (2 hits)",
    );
    loader.stop();
}

#[test]
fn sockfilter_reports_udp_on_lo() {
    if !kernel_available("sockfilter_reports_udp_on_lo") {
        return;
    }
    let (_dir, bin) = build("sockfilter");
    let mut cmd = Command::new(&bin);
    cmd.args(["-i", "lo", "-t", "60"]);
    let mut loader = Loader::start("sockfilter", cmd);
    loader.wait_started();

    // A receiver, so that the datagrams are delivered rather than answered with ICMP errors.
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = receiver.local_addr().unwrap();
    let from = sender.local_addr().unwrap();
    let wanted = format!(
        "IPv4 UDP 127.0.0.1:{} -> 127.0.0.1:{} len ",
        from.port(),
        to.port()
    );
    let line = loader.wait_for(
        &format!("line with '{wanted}'"),
        PATIENCE,
        || {
            sender.send_to(b"hello from bpfgen", to).unwrap();
        },
        |l| l.starts_with("lo ") && l.contains(&wanted),
    );
    // 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + 17 bytes of payload.
    assert!(line.ends_with("len 59"), "unexpected length: {line}");
    loader.stop();
}

#[test]
fn tc_counts_ingress_packets_on_a_veth() {
    if !kernel_available("tc_counts_ingress_packets_on_a_veth") {
        return;
    }
    let (_dir, bin) = build("tc");
    let net = VethPair::new("tc");
    let mut cmd = net.in_a(&bin);
    cmd.args(["-i", "veth0", "-t", "60"]);
    let mut loader = Loader::start("tc", cmd);
    loader.wait_started();
    let line = loader.wait_for(
        "IPv4 packets counted on veth0",
        PATIENCE,
        || net.send_udp_b_to_a(),
        |l| l.starts_with("veth0 ingress:") && number_after(l, "IPv4 ").is_some_and(|n| n > 0),
    );
    assert!(number_after(&line, "ingress: ").unwrap() >= number_after(&line, "IPv4 ").unwrap());
    loader.stop();

    // The loader created the clsact qdisc and must have removed it again.
    let qdiscs = run_ok(Command::new("tc").args(["-n", &net.a, "qdisc", "show", "dev", "veth0"]));
    let qdiscs = String::from_utf8_lossy(&qdiscs.stdout);
    assert!(!qdiscs.contains("clsact"), "clsact left behind: {qdiscs}");
}

#[test]
fn xdp_counts_packets_on_a_veth() {
    if !kernel_available("xdp_counts_packets_on_a_veth") {
        return;
    }
    let (_dir, bin) = build("xdp");
    let net = VethPair::new("xdp");
    // Native mode (veth supports it), then generic mode.
    for generic in [false, true] {
        let mut cmd = net.in_a(&bin);
        cmd.args(["-i", "veth0", "-t", "60"]);
        if generic {
            cmd.arg("-S");
        }
        let mut loader = Loader::start("xdp", cmd);
        loader.wait_started();
        loader.wait_for(
            "IPv4 packets counted on veth0",
            PATIENCE,
            || net.send_udp_b_to_a(),
            |l| l.starts_with("veth0 xdp:") && number_after(l, "IPv4 ").is_some_and(|n| n > 0),
        );
        loader.stop();

        let link = run_ok(Command::new("ip").args(["-n", &net.a, "link", "show", "veth0"]));
        let link = String::from_utf8_lossy(&link.stdout);
        // Attached, the link shows "xdp" or "xdpgeneric" and a "prog/xdp" line.
        let attached = link
            .split_whitespace()
            .any(|w| w.starts_with("xdp") || w.starts_with("prog/xdp"));
        assert!(!attached, "XDP program left attached: {link}");
    }
}

#[test]
fn task_iter_lists_the_loader_and_this_test() {
    if !kernel_available("task_iter_lists_the_loader_and_this_test") {
        return;
    }
    let (_dir, bin) = build("task_iter");
    let loader = Loader::start("task_iter", Command::new(&bin));
    let pid = loader.pid();
    let lines = loader.finish(PATIENCE);
    let tasks: Vec<(u32, u32, &str)> = lines
        .iter()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let tgid = fields.next()?.parse().ok()?;
            let tid = fields.next()?.parse().ok()?;
            Some((tgid, tid, fields.next().unwrap_or("")))
        })
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().eq(["TGID", "TID", "COMM"])),
        "no header in:\n{}",
        lines.join("\n")
    );
    assert!(
        tasks.contains(&(pid, pid, "task_iter")),
        "the loader itself ({pid} task_iter) is missing from:\n{}",
        lines.join("\n")
    );
    let me = std::process::id();
    assert!(
        tasks.iter().any(|&(tgid, tid, _)| tgid == me && tid == me),
        "this test process ({me}) is missing from:\n{}",
        lines.join("\n")
    );
    assert!(tasks.len() > 10, "only {} tasks listed", tasks.len());
}

#[test]
fn tp_btf_counts_the_execs_of_the_loaders_children() {
    if !kernel_available("tp_btf_counts_the_execs_of_the_loaders_children") {
        return;
    }
    let (_dir, bin) = build("tp_btf");
    let mut cmd = Command::new(&bin);
    cmd.args(["-t", "60"]);
    let mut loader = Loader::start("tp_btf", cmd);
    loader.wait_started();
    for round in 1..=2 {
        let line = loader.wait_for(
            "a child's exec",
            PATIENCE,
            || {},
            |l| l.starts_with("child "),
        );
        let child = number_after(&line, "child ").unwrap();
        let expected = format!(
            "child {child} exec'ed /bin/true: BPF saw {round} exec(s) by our children \
             (last: pid {child}, /bin/true), "
        );
        assert!(
            line.starts_with(&expected),
            "expected '{expected}...', got '{line}'"
        );
        assert!(number_after(&line, "), ").unwrap() >= round);
    }
    loader.stop();
}

#[test]
fn struct_ops_registers_a_tcp_congestion_control() {
    if !kernel_available("struct_ops_registers_a_tcp_congestion_control") {
        return;
    }
    let (_dir, bin) = build("struct_ops");
    let mut cmd = Command::new(&bin);
    cmd.args(["-t", "1"]);
    let lines = Loader::start("struct_ops", cmd).finish(Duration::from_secs(60));
    let all = lines.join("\n");
    let available: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("tcp_available_congestion_control:"))
        .collect();
    assert_eq!(available.len(), 2, "{all}");
    assert!(
        available[0].split_whitespace().any(|n| n == "bpfgen_reno"),
        "not registered:\n{all}"
    );
    assert!(
        !available[1].split_whitespace().any(|n| n == "bpfgen_reno"),
        "not unregistered:\n{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("TCP connection over 127.0.0.1 used bpfgen_reno: sent ")),
        "{all}"
    );
    let calls = lines
        .iter()
        .find(|l| l.starts_with("BPF callbacks:"))
        .unwrap_or_else(|| panic!("no callback counts:\n{all}"));
    assert!(number_after(calls, "init ").unwrap() >= 1, "{all}");
    assert!(number_after(calls, "cong_avoid ").unwrap() >= 1, "{all}");
    let now =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap();
    assert!(!now.split_whitespace().any(|n| n == "bpfgen_reno"), "{now}");
}

#[test]
fn kprobe_and_fentry_build_and_their_loaders_compile() {
    // No kernel needed beyond the BTF bpfgen reads for vmlinux.h: these examples cannot run
    // here (no kprobes; fentry programs fail to load), but must build.
    let dir = scratch();
    let out = dir.path().join(".output");
    run_ok(
        bpfgen()
            .arg("build")
            .arg(example("kprobe.bpf.c"))
            .arg(example("fentry.bpf.c"))
            .arg("-o")
            .arg(&out),
    );
    for name in ["kprobe", "fentry"] {
        let skel = std::fs::read_to_string(out.join(format!("{name}.skel.h"))).unwrap();
        for api in ["open", "load", "attach", "destroy", "open_and_load"] {
            assert!(
                skel.contains(&format!("{name}_bpf__{api}(")),
                "{name}.skel.h has no {name}_bpf__{api}"
            );
        }
        assert!(
            skel.contains("do_unlinkat_exit"),
            "{name}.skel.h lacks the exit program"
        );
        compile_userspace(&example(&format!("{name}.c")), &out, &dir.path().join(name));
    }
}
