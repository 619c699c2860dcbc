//! libbpf's `SEC()` table: which program type an ELF section name means and whether
//! `bpf_object__attach_skeleton` can attach it on its own.

/// How a table entry matches a section name (libbpf `sec_def_matches`).
#[derive(Clone, Copy)]
enum Match {
    /// The name equals the entry exactly.
    Exact,
    /// The name equals the entry or starts with `entry/` (libbpf's `x+`).
    ExactOrSlash,
}

/// What libbpf knows about a recognised section name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecDef {
    /// The table entry that matched (`tp`, `xdp`, `uprobe.s`, ...).
    pub pattern: &'static str,
    /// The program type, spelled as `libbpf_bpf_prog_type_str` spells it.
    pub prog_type: &'static str,
    /// Whether skeleton attach attaches it without help (given a target in the section name).
    pub auto_attach: bool,
}

/// libbpf 1.x's section table (`section_defs[]` in libbpf.c), longest patterns first where one
/// is a prefix of another, as libbpf orders them.
const TABLE: &[(&str, Match, &str, bool)] = {
    use Match::*;
    &[
        ("socket", ExactOrSlash, "socket_filter", false),
        ("sk_reuseport/migrate", Exact, "sk_reuseport", false),
        ("sk_reuseport", Exact, "sk_reuseport", false),
        ("kprobe.multi", ExactOrSlash, "kprobe", true),
        ("kretprobe.multi", ExactOrSlash, "kprobe", true),
        ("kprobe.session", ExactOrSlash, "kprobe", true),
        ("uprobe.multi.s", ExactOrSlash, "kprobe", true),
        ("uretprobe.multi.s", ExactOrSlash, "kprobe", true),
        ("uprobe.multi", ExactOrSlash, "kprobe", true),
        ("uretprobe.multi", ExactOrSlash, "kprobe", true),
        ("uprobe.session.s", ExactOrSlash, "kprobe", true),
        ("uprobe.session", ExactOrSlash, "kprobe", true),
        ("kprobe", ExactOrSlash, "kprobe", true),
        ("uprobe.s", ExactOrSlash, "kprobe", true),
        ("uretprobe.s", ExactOrSlash, "kprobe", true),
        ("uprobe", ExactOrSlash, "kprobe", true),
        ("kretprobe", ExactOrSlash, "kprobe", true),
        ("uretprobe", ExactOrSlash, "kprobe", true),
        ("ksyscall", ExactOrSlash, "kprobe", true),
        ("kretsyscall", ExactOrSlash, "kprobe", true),
        ("usdt.s", ExactOrSlash, "kprobe", true),
        ("usdt", ExactOrSlash, "kprobe", true),
        ("tc/ingress", Exact, "sched_cls", false),
        ("tc/egress", Exact, "sched_cls", false),
        ("tcx/ingress", Exact, "sched_cls", false),
        ("tcx/egress", Exact, "sched_cls", false),
        ("netkit/primary", Exact, "sched_cls", false),
        ("netkit/peer", Exact, "sched_cls", false),
        ("tc", ExactOrSlash, "sched_cls", false),
        ("classifier", ExactOrSlash, "sched_cls", false),
        ("action", ExactOrSlash, "sched_act", false),
        ("tracepoint.s", ExactOrSlash, "tracepoint", true),
        ("tp.s", ExactOrSlash, "tracepoint", true),
        ("tracepoint", ExactOrSlash, "tracepoint", true),
        ("tp", ExactOrSlash, "tracepoint", true),
        ("raw_tracepoint.s", ExactOrSlash, "raw_tracepoint", true),
        ("raw_tp.s", ExactOrSlash, "raw_tracepoint", true),
        (
            "raw_tracepoint.w",
            ExactOrSlash,
            "raw_tracepoint_writable",
            true,
        ),
        ("raw_tp.w", ExactOrSlash, "raw_tracepoint_writable", true),
        ("raw_tracepoint", ExactOrSlash, "raw_tracepoint", true),
        ("raw_tp", ExactOrSlash, "raw_tracepoint", true),
        ("tp_btf.s", ExactOrSlash, "tracing", true),
        ("tp_btf", ExactOrSlash, "tracing", true),
        ("fentry.multi.s", ExactOrSlash, "tracing", true),
        ("fexit.multi.s", ExactOrSlash, "tracing", true),
        ("fentry.multi", ExactOrSlash, "tracing", true),
        ("fexit.multi", ExactOrSlash, "tracing", true),
        ("fentry.s", ExactOrSlash, "tracing", true),
        ("fmod_ret.s", ExactOrSlash, "tracing", true),
        ("fexit.s", ExactOrSlash, "tracing", true),
        ("fsession.s", ExactOrSlash, "tracing", true),
        ("fentry", ExactOrSlash, "tracing", true),
        ("fmod_ret", ExactOrSlash, "tracing", true),
        ("fexit", ExactOrSlash, "tracing", true),
        ("fsession", ExactOrSlash, "tracing", true),
        ("freplace", ExactOrSlash, "ext", true),
        ("lsm.s", ExactOrSlash, "lsm", true),
        ("lsm_cgroup", ExactOrSlash, "lsm", false),
        ("lsm", ExactOrSlash, "lsm", true),
        ("iter.s", ExactOrSlash, "tracing", true),
        ("iter", ExactOrSlash, "tracing", true),
        ("syscall", Exact, "syscall", false),
        ("xdp.frags/devmap", Exact, "xdp", false),
        ("xdp/devmap", Exact, "xdp", false),
        ("xdp.frags/cpumap", Exact, "xdp", false),
        ("xdp/cpumap", Exact, "xdp", false),
        ("xdp.frags", Exact, "xdp", false),
        ("xdp", ExactOrSlash, "xdp", false),
        ("perf_event", ExactOrSlash, "perf_event", false),
        ("lwt_in", ExactOrSlash, "lwt_in", false),
        ("lwt_out", ExactOrSlash, "lwt_out", false),
        ("lwt_xmit", ExactOrSlash, "lwt_xmit", false),
        ("lwt_seg6local", ExactOrSlash, "lwt_seg6local", false),
        ("sockops", Exact, "sock_ops", false),
        ("sk_skb/stream_parser", Exact, "sk_skb", false),
        ("sk_skb/stream_verdict", Exact, "sk_skb", false),
        ("sk_skb/verdict", Exact, "sk_skb", false),
        ("sk_skb", ExactOrSlash, "sk_skb", false),
        ("sk_msg", Exact, "sk_msg", false),
        ("lirc_mode2", Exact, "lirc_mode2", false),
        ("flow_dissector", Exact, "flow_dissector", false),
        ("cgroup_skb/ingress", Exact, "cgroup_skb", false),
        ("cgroup_skb/egress", Exact, "cgroup_skb", false),
        ("cgroup/skb", Exact, "cgroup_skb", false),
        ("cgroup/sock_create", Exact, "cgroup_sock", false),
        ("cgroup/sock_release", Exact, "cgroup_sock", false),
        ("cgroup/sock", Exact, "cgroup_sock", false),
        ("cgroup/post_bind4", Exact, "cgroup_sock", false),
        ("cgroup/post_bind6", Exact, "cgroup_sock", false),
        ("cgroup/bind4", Exact, "cgroup_sock_addr", false),
        ("cgroup/bind6", Exact, "cgroup_sock_addr", false),
        ("cgroup/connect4", Exact, "cgroup_sock_addr", false),
        ("cgroup/connect6", Exact, "cgroup_sock_addr", false),
        ("cgroup/connect_unix", Exact, "cgroup_sock_addr", false),
        ("cgroup/sendmsg4", Exact, "cgroup_sock_addr", false),
        ("cgroup/sendmsg6", Exact, "cgroup_sock_addr", false),
        ("cgroup/sendmsg_unix", Exact, "cgroup_sock_addr", false),
        ("cgroup/recvmsg4", Exact, "cgroup_sock_addr", false),
        ("cgroup/recvmsg6", Exact, "cgroup_sock_addr", false),
        ("cgroup/recvmsg_unix", Exact, "cgroup_sock_addr", false),
        ("cgroup/getpeername4", Exact, "cgroup_sock_addr", false),
        ("cgroup/getpeername6", Exact, "cgroup_sock_addr", false),
        ("cgroup/getpeername_unix", Exact, "cgroup_sock_addr", false),
        ("cgroup/getsockname4", Exact, "cgroup_sock_addr", false),
        ("cgroup/getsockname6", Exact, "cgroup_sock_addr", false),
        ("cgroup/getsockname_unix", Exact, "cgroup_sock_addr", false),
        ("cgroup/sysctl", Exact, "cgroup_sysctl", false),
        ("cgroup/getsockopt", Exact, "cgroup_sockopt", false),
        ("cgroup/setsockopt", Exact, "cgroup_sockopt", false),
        ("cgroup/dev", Exact, "cgroup_device", false),
        ("struct_ops.s", ExactOrSlash, "struct_ops", false),
        ("struct_ops", ExactOrSlash, "struct_ops", false),
        ("sk_lookup", Exact, "sk_lookup", false),
        ("netfilter", Exact, "netfilter", false),
    ]
};

/// Looks a program's section name up in the table; a leading `?` (autoload off) is ignored.
pub fn find(section: &str) -> Option<SecDef> {
    let name = section.strip_prefix('?').unwrap_or(section);
    TABLE
        .iter()
        .find(|(pattern, how, _, _)| matches(name, pattern, *how))
        .map(|&(pattern, _, prog_type, auto_attach)| SecDef {
            pattern,
            prog_type,
            auto_attach,
        })
}

/// Every section name pattern libbpf knows, for suggestions.
pub fn patterns() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|&(pattern, ..)| pattern)
}

fn matches(name: &str, pattern: &str, how: Match) -> bool {
    match how {
        Match::Exact => name == pattern,
        Match::ExactOrSlash => {
            name == pattern
                || name
                    .strip_prefix(pattern)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_sections() {
        let ty = |s| find(s).map(|d| d.prog_type);
        assert_eq!(ty("tp/syscalls/sys_enter_write"), Some("tracepoint"));
        assert_eq!(
            ty("tracepoint/sched/sched_process_exec"),
            Some("tracepoint")
        );
        assert_eq!(ty("tp_btf/sched_switch"), Some("tracing"));
        assert_eq!(ty("raw_tp/sys_enter"), Some("raw_tracepoint"));
        assert_eq!(ty("uprobe.s//bin/x:f"), Some("kprobe"));
        assert_eq!(ty("usdt/libc.so.6:libc:setjmp"), Some("kprobe"));
        assert_eq!(ty("socket"), Some("socket_filter"));
        assert_eq!(ty("xdp"), Some("xdp"));
        assert_eq!(ty("tc"), Some("sched_cls"));
        assert_eq!(ty("iter/task"), Some("tracing"));
        assert_eq!(ty("struct_ops/bpfgen_init"), Some("struct_ops"));
        assert_eq!(ty("?tp/x/y"), Some("tracepoint"));
    }

    #[test]
    fn rejects_near_misses() {
        assert_eq!(find("tpx/foo"), None);
        assert_eq!(find("tracepoints/x"), None);
        assert_eq!(find("cgroup/unknown"), None);
        assert_eq!(find("sockops/x"), None);
    }
}
