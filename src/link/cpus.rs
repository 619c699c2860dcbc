//! Keeping a link's two threads on different CPUs. From eight inputs on, inputs are read on a
//! second thread while the linker adds the ones before; left to itself, the scheduler often
//! ran both threads on one CPU for a whole link (the reader woke the linker on its own CPU),
//! where they take turns instead of working side by side. On this 2-CPU machine a 40-object
//! link's add phase took 5.7-7.7 ms in those runs and 3.4-3.9 ms with the threads held apart.

use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};

/// The linker's thread held on the CPU it is on while the reader runs; dropping it gives the
/// thread back the CPUs it had.
pub(super) struct CpuSplit {
    original: CpuSet,
    cpu: usize,
}

impl CpuSplit {
    /// Holds the calling thread on the CPU it is on, when it may run on others too: `None`
    /// when it may not, or when its affinity cannot be read or set (then nothing changed).
    pub(super) fn hold_here() -> Option<CpuSplit> {
        let original = sched_getaffinity(None).ok()?;
        let cpu = sched_getcpu();
        if original.count() < 2 || !original.is_set(cpu) {
            return None;
        }
        let mut here = CpuSet::new();
        here.set(cpu);
        sched_setaffinity(None, &here).ok()?;
        Some(CpuSplit { original, cpu })
    }

    /// The CPUs left for the reader: those the linker's thread had, less the one it is held on.
    pub(super) fn elsewhere(&self) -> CpuSet {
        let mut others = self.original;
        others.unset(self.cpu);
        others
    }
}

impl Drop for CpuSplit {
    fn drop(&mut self) {
        let _ = sched_setaffinity(None, &self.original);
    }
}

/// Moves the calling thread (the reader, which the link started and which ends with it) to
/// `cpus`; if that fails it stays where it is.
pub(super) fn move_to(cpus: &CpuSet) {
    let _ = sched_setaffinity(None, cpus);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linker_is_held_on_its_cpu_the_reader_gets_the_others_and_all_is_given_back() {
        let allowed = sched_getaffinity(None).unwrap();
        if allowed.count() < 2 {
            eprintln!("SKIPPED: this process may run on one CPU only");
            return;
        }
        std::thread::spawn(move || {
            let split = CpuSplit::hold_here().expect("two CPUs allowed");
            let held = sched_getaffinity(None).unwrap();
            assert_eq!(held.count(), 1);
            let cpu = (0..CpuSet::MAX_CPU).find(|&c| held.is_set(c)).unwrap();
            let others = split.elsewhere();
            assert!(!others.is_set(cpu));
            assert_eq!(others.count(), allowed.count() - 1);
            std::thread::spawn(move || {
                move_to(&others);
                assert!(!sched_getaffinity(None).unwrap().is_set(cpu));
            })
            .join()
            .unwrap();
            drop(split);
            assert_eq!(sched_getaffinity(None).unwrap().count(), allowed.count());
            // A thread that may run on one CPU only is left alone.
            sched_setaffinity(None, &held).unwrap();
            assert!(CpuSplit::hold_here().is_none());
        })
        .join()
        .unwrap();
    }
}
