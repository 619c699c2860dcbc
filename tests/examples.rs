//! The examples, built by bpfgen, compiled against their skeletons, and seen working in the
//! running kernel.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Builds every example with one bpfgen run and compiles each loader.
fn build_examples(dir: &Path) -> PathBuf {
    let out = dir.join(".output");
    let sources: Vec<_> = ["helloworld", "minimal", "bootstrap"]
        .iter()
        .map(|name| example(&format!("{name}.bpf.c")))
        .collect();
    run_ok(bpfgen().arg("build").args(&sources).arg("-o").arg(&out));
    for name in ["helloworld", "minimal", "bootstrap"] {
        compile_userspace(&example(&format!("{name}.c")), &out, &dir.join(name));
    }
    dir.to_path_buf()
}

/// Starts a loader and waits until it reports that its programs are attached.
fn start(program: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for_line(
    rx: &mpsc::Receiver<String>,
    timeout: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

fn stop(mut child: Child) {
    run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let status = child.wait().unwrap();
    assert!(status.success(), "loader exited with {status}");
}

fn exec_true() {
    let _ = Command::new("/bin/true").status();
}

#[test]
fn helloworld_minimal_and_bootstrap_work_in_the_kernel() {
    if !kernel_available("helloworld_minimal_and_bootstrap_work_in_the_kernel") {
        return;
    }
    let dir = scratch();
    let bin = build_examples(dir.path());
    let trace = TraceLock::acquire();

    // helloworld: "Hello, World!" in trace_pipe after an exec.
    let (child, rx) = start(&bin.join("helloworld"), &["30"]);
    assert!(
        wait_for_line(&rx, Duration::from_secs(10), |l| l
            .starts_with("Successfully started!"))
        .is_some(),
        "helloworld did not start"
    );
    let seen = trace.wait_for(Duration::from_secs(10), exec_true, |l| {
        l.contains("Hello, World!")
    });
    stop(child);
    assert!(seen.is_some(), "no Hello, World! in trace_pipe");

    // minimal: its own PID in trace_pipe (the loader writes to stderr every second).
    let (child, rx) = start(&bin.join("minimal"), &["30"]);
    assert!(
        wait_for_line(&rx, Duration::from_secs(10), |l| l
            .starts_with("Successfully started!"))
        .is_some(),
        "minimal did not start"
    );
    let wanted = format!("BPF triggered from PID {}.", child.id());
    let seen = trace.wait_for(Duration::from_secs(10), || {}, |l| l.contains(&wanted));
    stop(child);
    assert!(seen.is_some(), "no '{wanted}' in trace_pipe");
    drop(trace);

    // bootstrap: exec events from the ring buffer.
    let (child, rx) = start(&bin.join("bootstrap"), &["-t", "30"]);
    assert!(
        wait_for_line(&rx, Duration::from_secs(10), |l| l.starts_with("TIME")).is_some(),
        "bootstrap did not print its header"
    );
    let poker = std::thread::spawn(|| {
        for _ in 0..20 {
            exec_true();
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let event = wait_for_line(&rx, Duration::from_secs(10), |l| {
        l.contains("EXEC") && l.contains("/bin/true")
    });
    poker.join().unwrap();
    stop(child);
    assert!(
        event.is_some(),
        "bootstrap printed no exec event for /bin/true"
    );
}
