//! The real libbpf (1.7, built by libbpf-sys): an object opened from memory, one of its
//! programs loaded with the verifier log on, and libbpf's own messages captured. The only
//! `unsafe` of [`crate::load`] lives here.

use libbpf_sys as sys;
use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::Mutex;

/// libbpf's warnings since the current load began: libbpf has one process-wide print
/// callback, so loads take [`LOADING`] and read this afterwards.
static MESSAGES: Mutex<String> = Mutex::new(String::new());
/// One load at a time (the print callback and [`MESSAGES`] are global).
static LOADING: Mutex<()> = Mutex::new(());

unsafe extern "C" {
    /// C's `vsnprintf`, to format libbpf's messages (the `va_list` type is libbpf-sys's).
    fn vsnprintf(
        buf: *mut c_char,
        size: usize,
        format: *const c_char,
        args: *mut sys::__va_list_tag,
    ) -> c_int;
}

/// libbpf's print callback: keeps warnings and info in [`MESSAGES`], drops debug output.
unsafe extern "C" fn capture(
    level: sys::libbpf_print_level,
    format: *const c_char,
    args: *mut sys::__va_list_tag,
) -> c_int {
    if level == sys::LIBBPF_DEBUG {
        return 0;
    }
    let mut buf = [0 as c_char; 4096];
    // SAFETY: libbpf passes a valid format and the va_list that goes with it; vsnprintf
    // writes at most `buf.len()` bytes, NUL included.
    let written = unsafe { vsnprintf(buf.as_mut_ptr(), buf.len(), format, args) };
    if written > 0 {
        // SAFETY: vsnprintf NUL-terminated the buffer.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
        if let Ok(mut messages) = MESSAGES.lock() {
            messages.push_str(&text);
        }
    }
    written
}

/// How zero-sized maps (sized by user space at run time) and named maps are sized.
pub(crate) trait MapSizer {
    /// The `max_entries` to give a map of type `map_type` named `name` that declares
    /// `declared`, or `None` to leave it.
    fn size(&self, name: &str, map_type: u32, declared: u32) -> Option<u32>;

    /// The `value_size` to give a map of type `map_type` that declares `declared` bytes, or
    /// `None` to leave it.
    fn value_size(&self, map_type: u32, declared: u32) -> Option<u32>;
}

/// What loading one program gave.
#[derive(Debug)]
pub(crate) struct Attempt {
    /// `bpf_object__load`'s result: 0, or a negative errno.
    pub(crate) status: i32,
    /// The verifier log of the program.
    pub(crate) log: String,
    /// libbpf's warnings during open and load.
    pub(crate) libbpf: String,
    /// `bpf_prog_info` of the loaded program, on success.
    pub(crate) info: Option<ProgInfo>,
}

/// The parts of the kernel's `bpf_prog_info` that the statistics report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgInfo {
    /// Instructions the verifier processed (`verified_insns`).
    pub(crate) verified_insns: u32,
    /// Size of the JITed image in bytes.
    pub(crate) jited_bytes: u32,
    /// Size of the translated (post-verifier) program in bytes.
    pub(crate) xlated_bytes: u32,
}

/// A program of an object: its name and section.
#[derive(Debug, Clone)]
pub(crate) struct ProgramName {
    /// The C function name.
    pub(crate) name: String,
    /// The `SEC()` name.
    pub(crate) section: String,
}

/// An opened `bpf_object`, closed on drop (which unloads its programs and maps).
struct Object(*mut sys::bpf_object);

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_object__open_mem and is closed once.
        unsafe { sys::bpf_object__close(self.0) }
    }
}

impl Object {
    /// Opens `data` as libbpf does at run time; the error is libbpf's message (or errno).
    fn open(data: &[u8], object_name: &str) -> Result<Object, String> {
        let name = CString::new(object_name).map_err(|_| "object name has a NUL".to_string())?;
        let opts = sys::bpf_object_open_opts {
            sz: std::mem::size_of::<sys::bpf_object_open_opts>() as sys::size_t,
            object_name: name.as_ptr(),
            ..Default::default()
        };
        // SAFETY: data and opts outlive the call; libbpf copies the ELF image.
        let object =
            unsafe { sys::bpf_object__open_mem(data.as_ptr().cast(), data.len() as _, &opts) };
        if object.is_null() {
            return Err(errno_message(
                -std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ));
        }
        Ok(Object(object))
    }

    /// The object's programs (libbpf leaves out `.text` subprograms).
    fn programs(&self) -> Vec<*mut sys::bpf_program> {
        let mut programs = Vec::new();
        let mut program = std::ptr::null_mut();
        loop {
            // SAFETY: iterating the object's own program list.
            program = unsafe { sys::bpf_object__next_program(self.0, program) };
            if program.is_null() {
                return programs;
            }
            programs.push(program);
        }
    }

    /// Gives zero-sized and named maps their sizes (entries, and the value size of stack
    /// maps), and drops pinning (a check pins nothing).
    fn size_maps(&self, sizer: &dyn MapSizer) -> Result<(), String> {
        let mut map = std::ptr::null_mut();
        loop {
            // SAFETY: iterating the object's own map list.
            map = unsafe { sys::bpf_object__next_map(self.0, map) };
            if map.is_null() {
                return Ok(());
            }
            // SAFETY: `map` belongs to the open object; bpf_map__name is never NULL.
            let (name, map_type, declared, declared_value) = unsafe {
                (
                    text(sys::bpf_map__name(map)),
                    sys::bpf_map__type(map),
                    sys::bpf_map__max_entries(map),
                    sys::bpf_map__value_size(map),
                )
            };
            if let Some(entries) = sizer.size(&name, map_type, declared) {
                // SAFETY: the object is opened, not loaded.
                let err = unsafe { sys::bpf_map__set_max_entries(map, entries) };
                if err < 0 {
                    return Err(format!("map '{name}': cannot set max_entries {entries}"));
                }
            }
            if let Some(bytes) = sizer.value_size(map_type, declared_value) {
                // SAFETY: the object is opened, not loaded.
                let err = unsafe { sys::bpf_map__set_value_size(map, bytes) };
                if err < 0 {
                    return Err(format!("map '{name}': cannot set value_size {bytes}"));
                }
            }
            // SAFETY: a NULL pin path clears pinning.
            unsafe { sys::bpf_map__set_pin_path(map, std::ptr::null()) };
        }
    }
}

/// The message for a negative errno (a load's status).
pub(crate) fn errno_message(err: i32) -> String {
    let message = std::io::Error::from_raw_os_error(-err).to_string();
    match message.split_once(" (os error") {
        Some((text, _)) => text.to_string(),
        None => message,
    }
}

/// A C string libbpf owns, copied.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// The programs of the object in `data`, in libbpf's order.
pub(crate) fn programs(data: &[u8], object_name: &str) -> Result<Vec<ProgramName>, String> {
    let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    let (object, messages) = with_messages(|| Object::open(data, object_name));
    let object = object.map_err(|err| libbpf_error(&messages, &err))?;
    Ok(object
        .programs()
        .into_iter()
        .map(|program| {
            // SAFETY: `program` belongs to the open object.
            unsafe {
                ProgramName {
                    name: text(sys::bpf_program__name(program)),
                    section: text(sys::bpf_program__section_name(program)),
                }
            }
        })
        .collect())
}

/// libbpf's last message when it said something, else the error.
fn libbpf_error(messages: &str, err: &str) -> String {
    let last = messages.lines().rev().find(|l| !l.trim().is_empty());
    match last {
        Some(line) => line.trim_start_matches("libbpf: ").trim().to_string(),
        None => err.to_string(),
    }
}

/// Runs `f` with libbpf's messages captured; returns its result and the messages.
fn with_messages<T>(f: impl FnOnce() -> T) -> (T, String) {
    MESSAGES.lock().unwrap_or_else(|e| e.into_inner()).clear();
    // SAFETY: `capture` has libbpf's print callback signature and is reentrant-safe.
    let previous = unsafe { sys::libbpf_set_print(Some(capture)) };
    let result = f();
    // SAFETY: restores whatever callback was there.
    unsafe { sys::libbpf_set_print(previous) };
    let messages = std::mem::take(&mut *MESSAGES.lock().unwrap_or_else(|e| e.into_inner()));
    (result, messages)
}

/// Opens the object in `data` afresh and loads only its program `index` (in
/// [`programs`]' order), with verifier log `level` into a buffer of `log_size` bytes; then
/// closes the object, which unloads everything.
pub(crate) fn load_one(
    data: &[u8],
    object_name: &str,
    index: usize,
    sizer: &dyn MapSizer,
    level: u32,
    log_size: usize,
) -> Result<Attempt, String> {
    let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    let mut log = vec![0u8; log_size];
    let (result, libbpf) = with_messages(|| -> Result<(i32, Option<ProgInfo>), String> {
        let object = Object::open(data, object_name)?;
        object.size_maps(sizer)?;
        let programs = object.programs();
        let target = *programs.get(index).ok_or("no such program")?;
        for &program in &programs {
            // SAFETY: the object is opened, not loaded; `log` outlives the load.
            unsafe {
                sys::bpf_program__set_autoload(program, program == target);
            }
        }
        // SAFETY: as above.
        unsafe {
            sys::bpf_program__set_log_buf(target, log.as_mut_ptr().cast(), log.len() as _);
            sys::bpf_program__set_log_level(target, level);
        }
        // SAFETY: loading an opened object.
        let status = unsafe { sys::bpf_object__load(object.0) };
        let info = (status == 0).then(|| prog_info(target)).flatten();
        Ok((status, info))
    });
    let (status, info) = result.map_err(|err| libbpf_error(&libbpf, &err))?;
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    Ok(Attempt {
        status,
        log: String::from_utf8_lossy(&log[..end]).into_owned(),
        libbpf,
        info,
    })
}

/// The kernel's `bpf_prog_info` for a loaded program.
fn prog_info(program: *mut sys::bpf_program) -> Option<ProgInfo> {
    // SAFETY: the program is loaded; its fd is valid while the object is open.
    let fd = unsafe { sys::bpf_program__fd(program) };
    if fd < 0 {
        return None;
    }
    let mut info = sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a zeroed bpf_prog_info of `len` bytes (no arrays requested).
    let err = unsafe { sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    (err == 0).then_some(ProgInfo {
        verified_insns: info.verified_insns,
        jited_bytes: info.jited_prog_len,
        xlated_bytes: info.xlated_prog_len,
    })
}
