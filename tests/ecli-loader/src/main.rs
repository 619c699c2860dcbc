//! ecli-loader: load an eunomia-bpf `package.json` with bpf-loader-lib (the
//! loader behind `ecli`), attach every program listed in its meta, keep it
//! attached for a while, then exit.
//!
//! Usage: ecli-loader PACKAGE.json [--btf-archive DIR] [--seconds N]
//!
//! stdout: exactly `loaded and attached: <obj_name> (<N> programs)` on success.
//! stderr: `ecli-loader: <error>` on failure (exit status 1).

use std::any::Any;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bpf_loader_lib::export_event::{EventHandler, ExportFormatType, ReceivedEventData};
use bpf_loader_lib::meta::ComposedObject;
use bpf_loader_lib::serde_json;
use bpf_loader_lib::skeleton::builder::BpfSkeletonBuilder;

const USAGE: &str = "usage: ecli-loader PACKAGE.json [--btf-archive DIR] [--seconds N]";
const DEFAULT_SECONDS: u64 = 2;

struct Args {
    package: String,
    btf_archive: Option<String>,
    seconds: u64,
}

enum Command {
    Run(Args),
    Help,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Command> {
    let mut package = None;
    let mut btf_archive = None;
    let mut seconds = DEFAULT_SECONDS;
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--btf-archive" | "--seconds" => {
                let value = match inline {
                    Some(v) => v,
                    None => argv
                        .next()
                        .ok_or_else(|| anyhow!("{flag} needs a value ({USAGE})"))?,
                };
                if flag == "--seconds" {
                    seconds = value.parse().map_err(|_| {
                        anyhow!("--seconds: not a whole number of seconds: {value:?}")
                    })?;
                } else {
                    btf_archive = Some(value);
                }
            }
            s if s.starts_with('-') && s != "-" => bail!("unknown option {s} ({USAGE})"),
            _ => {
                if package.replace(arg).is_some() {
                    bail!("more than one package given ({USAGE})");
                }
            }
        }
    }
    let package = package.ok_or_else(|| anyhow!("no package given ({USAGE})"))?;
    Ok(Command::Run(Args {
        package,
        btf_archive,
        seconds,
    }))
}

/// Counts the events a program exports (ringbuf, perf buffer, sampled maps)
/// and keeps the first, decoded with the package's export types. Nothing is
/// written per event: a write per event would feed back into programs that
/// trace `write` (ring_buffer__poll keeps draining while new records arrive).
#[derive(Default)]
struct CountEvents {
    count: AtomicUsize,
    first: Mutex<Option<String>>,
}

impl EventHandler for CountEvents {
    fn handle_event(&self, _context: Option<Arc<dyn Any>>, data: ReceivedEventData) {
        if self.count.fetch_add(1, Ordering::Relaxed) == 0 {
            *self.first.lock().unwrap_or_else(|e| e.into_inner()) = Some(data.to_string());
        }
    }
}

/// bpf-loader-lib 0.2.1 gives libbpf `obj_name.as_bytes().as_ptr()` as the
/// C-string object name, with no terminator; libbpf then reads up to 15 bytes
/// and takes up to 8 of them as the prefix of the `.rodata`/`.data`/`.bss` map
/// names. Put a NUL in the spare capacity right after the name (the length is
/// unchanged) so libbpf reads exactly the name.
fn nul_after(name: &mut String) {
    let mut bytes = std::mem::take(name).into_bytes();
    bytes.reserve_exact(1);
    bytes.spare_capacity_mut()[0].write(0);
    *name = String::from_utf8(bytes).expect("bytes came from a String");
}

fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.package)
        .with_context(|| format!("cannot read {}", args.package))?;
    let mut package: ComposedObject = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid eunomia package", args.package))?;
    nul_after(&mut package.meta.bpf_skel.obj_name);

    let skel = BpfSkeletonBuilder::from_json_package(&package, args.btf_archive.as_deref())
        .build()
        .context("failed to open the bpf object")?
        .load_and_attach()
        .context("failed to load and attach")?;

    // The poller below looks every meta map up by name; check that here too,
    // so a mismatch fails before the success line is printed.
    for map in &package.meta.bpf_skel.maps {
        if skel.get_map_fd(&map.name).is_none() {
            bail!(
                "map `{}` (ident `{}`) named in the meta is not in the bpf object",
                map.name,
                map.ident
            );
        }
    }

    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "loaded and attached: {} ({} programs)",
        skel.get_program_name(),
        package.meta.bpf_skel.progs.len()
    )?;
    stdout.flush()?;
    drop(stdout);

    // Keep the programs attached by polling the way ecli does (exported
    // events are decoded with the package's export types and counted), and
    // stop the poller after the deadline. `terminate` is repeated until
    // polling returns, because the poller resets its control flags when it
    // starts.
    let handle = skel.create_poll_handle();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let deadline = Duration::from_secs(args.seconds);
    let stopper = std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = done_rx.recv_timeout(deadline) {
            loop {
                handle.terminate();
                match done_rx.recv_timeout(Duration::from_millis(10)) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            }
        }
    });
    let events = Arc::new(CountEvents::default());
    let polled = skel.wait_and_poll_to_handler(ExportFormatType::Json, Some(events.clone()), None);
    drop(done_tx);
    let _ = stopper.join();
    polled.context("polling failed")?;
    // On stderr, so that stdout stays the one success line.
    let first = events
        .first
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    eprintln!(
        "ecli-loader: {} events; first: {}",
        events.count.load(Ordering::Relaxed),
        first.as_deref().unwrap_or("none")
    );
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(|cmd| match cmd {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Run(args) => run(args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecli-loader: {e:#}");
            ExitCode::FAILURE
        }
    }
}
