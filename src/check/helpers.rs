//! The BPF helper functions of the kernel UAPI, by helper id, with whether the kernel lets
//! only GPL-compatible programs call each one.
//!
//! A `call` instruction with `src_reg` 0 names a helper by its id in `imm`. The verifier asks
//! the program type for that id's `struct bpf_func_proto` and rejects the program when the
//! proto has `.gpl_only = true` and the program's `license` section is not GPL-compatible
//! (`kernel/bpf/verifier.c`, `check_helper_call`). This table lets bpfgen report that at build
//! time instead of at load time.
//!
//! # Where each column comes from
//!
//! - **Ids and names**: `__BPF_FUNC_MAPPER` in `/usr/include/linux/bpf.h` from Debian 12's
//!   `linux-libc-dev` 6.1.192-2 (kernel 6.1 UAPI): 210 helpers, ids 0 (`unspec`) to 209
//!   (`user_ringbuf_drain`). Names carry the `bpf_` prefix that the helper declarations in
//!   libbpf's `bpf_helper_defs.h` use. Later kernels append helpers (newer headers go on
//!   with `cgrp_storage_get` = 210 and `cgrp_storage_delete` = 211); ids are never reused or
//!   renumbered, so a newer header only adds rows at the end.
//! - **`gpl_only`**: the `.gpl_only` field of every `struct bpf_func_proto` definition in the
//!   Debian `linux-source-6.1` 6.1.192-2 tree (the same kernel as the header), joined to helper
//!   ids through the `case BPF_FUNC_<name>:` arms of the `*_func_proto` functions that hand the
//!   protos out. The protos live in `kernel/bpf/{core,helpers,stackmap,ringbuf,cgroup,
//!   syscall,btf,task_iter,bpf_iter,bpf_lsm,bpf_task_storage,bpf_inode_storage}.c`,
//!   `kernel/trace/bpf_trace.c`, `net/core/{filter,sock_map,bpf_sk_storage}.c`,
//!   `net/ipv4/bpf_tcp_ca.c` and `drivers/media/rc/bpf-lirc.c`. A proto without a
//!   `.gpl_only` line (the ring buffer helpers, `find_vma`, `get_func_arg`, `get_func_ret`,
//!   `get_func_arg_cnt`, `user_ringbuf_drain`) is not GPL-only: the field defaults to false.
//!
//! One id can have several protos, one per program type or attach type (`perf_event_output`
//! has six). A helper is marked GPL-only when its protos are; where they disagree it is
//! marked GPL-only (a non-GPL program is rejected in at least one context) and the row says
//! which proto is the exception. In 6.1 two helpers are such exceptions:
//!
//! - `get_stackid` (27): `bpf_get_stackid_proto_pe` (`kernel/bpf/stackmap.c`, handed to
//!   `BPF_PROG_TYPE_PERF_EVENT` programs) is not GPL-only; its kprobe, tracepoint and raw
//!   tracepoint protos (the last also serving fentry/fexit) are.
//! - `get_func_ip` (173): `bpf_get_func_ip_proto_kprobe_multi` (`kernel/trace/bpf_trace.c`,
//!   for `BPF_TRACE_KPROBE_MULTI`) is not GPL-only; its kprobe proto and the one every other
//!   tracing program type falls back to are.
//!
//! # Updating
//!
//! 1. Append a row per new `FN(...)` entry of the newer header's `__BPF_FUNC_MAPPER` (newer
//!    headers spell it `___BPF_FUNC_MAPPER(FN, ctx...)`, with explicit ids); the test below
//!    compares every name by id against the header installed on the machine, so a missed or
//!    misplaced row fails.
//! 2. For each new helper, find its protos in the matching kernel tree (grep
//!    `case BPF_FUNC_<name>:` for the proto names, then their definitions) and copy their
//!    `.gpl_only`. Also recheck the existing rows: a kernel can add a proto for an old id
//!    (a new attach type) with a different `.gpl_only`.
//! 3. Update the versions named above.

use crate::object::ByteOrder;

/// One BPF helper function: its name and whether the kernel allows it only in programs with a
/// GPL-compatible license, so bpfgen can name the helper a non-GPL object may not call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Helper {
    /// The helper's name as libbpf declares it, `bpf_` plus the UAPI name: `"bpf_trace_printk"`
    /// for `BPF_FUNC_trace_printk`.
    pub(crate) name: &'static str,
    /// Whether the kernel's proto for this helper has `.gpl_only = true`, that is, whether the
    /// verifier rejects a call to it from a program whose license is not GPL-compatible.
    pub(crate) gpl_only: bool,
}

/// Every helper by id (index = helper id = the `imm` of a `call` with `src_reg` 0), from
/// `bpf_unspec` (0) to `bpf_user_ringbuf_drain` (209), so a call's target is one index away.
#[rustfmt::skip]
pub(crate) const HELPERS: &[Helper] = &[
    Helper { name: "bpf_unspec", gpl_only: false }, // 0
    Helper { name: "bpf_map_lookup_elem", gpl_only: false }, // 1
    Helper { name: "bpf_map_update_elem", gpl_only: false }, // 2
    Helper { name: "bpf_map_delete_elem", gpl_only: false }, // 3
    Helper { name: "bpf_probe_read", gpl_only: true }, // 4
    Helper { name: "bpf_ktime_get_ns", gpl_only: false }, // 5
    Helper { name: "bpf_trace_printk", gpl_only: true }, // 6
    Helper { name: "bpf_get_prandom_u32", gpl_only: false }, // 7
    Helper { name: "bpf_get_smp_processor_id", gpl_only: false }, // 8
    Helper { name: "bpf_skb_store_bytes", gpl_only: false }, // 9
    Helper { name: "bpf_l3_csum_replace", gpl_only: false }, // 10
    Helper { name: "bpf_l4_csum_replace", gpl_only: false }, // 11
    Helper { name: "bpf_tail_call", gpl_only: false }, // 12
    Helper { name: "bpf_clone_redirect", gpl_only: false }, // 13
    Helper { name: "bpf_get_current_pid_tgid", gpl_only: false }, // 14
    Helper { name: "bpf_get_current_uid_gid", gpl_only: false }, // 15
    Helper { name: "bpf_get_current_comm", gpl_only: false }, // 16
    Helper { name: "bpf_get_cgroup_classid", gpl_only: false }, // 17
    Helper { name: "bpf_skb_vlan_push", gpl_only: false }, // 18
    Helper { name: "bpf_skb_vlan_pop", gpl_only: false }, // 19
    Helper { name: "bpf_skb_get_tunnel_key", gpl_only: false }, // 20
    Helper { name: "bpf_skb_set_tunnel_key", gpl_only: false }, // 21
    Helper { name: "bpf_perf_event_read", gpl_only: true }, // 22
    Helper { name: "bpf_redirect", gpl_only: false }, // 23
    Helper { name: "bpf_get_route_realm", gpl_only: false }, // 24
    Helper { name: "bpf_perf_event_output", gpl_only: true }, // 25
    Helper { name: "bpf_skb_load_bytes", gpl_only: false }, // 26
    // GPL-only except for perf_event programs (`bpf_get_stackid_proto_pe` has `.gpl_only = false`).
    Helper { name: "bpf_get_stackid", gpl_only: true }, // 27
    Helper { name: "bpf_csum_diff", gpl_only: false }, // 28
    Helper { name: "bpf_skb_get_tunnel_opt", gpl_only: false }, // 29
    Helper { name: "bpf_skb_set_tunnel_opt", gpl_only: false }, // 30
    Helper { name: "bpf_skb_change_proto", gpl_only: false }, // 31
    Helper { name: "bpf_skb_change_type", gpl_only: false }, // 32
    Helper { name: "bpf_skb_under_cgroup", gpl_only: false }, // 33
    Helper { name: "bpf_get_hash_recalc", gpl_only: false }, // 34
    Helper { name: "bpf_get_current_task", gpl_only: true }, // 35
    Helper { name: "bpf_probe_write_user", gpl_only: true }, // 36
    Helper { name: "bpf_current_task_under_cgroup", gpl_only: false }, // 37
    Helper { name: "bpf_skb_change_tail", gpl_only: false }, // 38
    Helper { name: "bpf_skb_pull_data", gpl_only: false }, // 39
    Helper { name: "bpf_csum_update", gpl_only: false }, // 40
    Helper { name: "bpf_set_hash_invalid", gpl_only: false }, // 41
    Helper { name: "bpf_get_numa_node_id", gpl_only: false }, // 42
    Helper { name: "bpf_skb_change_head", gpl_only: false }, // 43
    Helper { name: "bpf_xdp_adjust_head", gpl_only: false }, // 44
    Helper { name: "bpf_probe_read_str", gpl_only: true }, // 45
    Helper { name: "bpf_get_socket_cookie", gpl_only: false }, // 46
    Helper { name: "bpf_get_socket_uid", gpl_only: false }, // 47
    Helper { name: "bpf_set_hash", gpl_only: false }, // 48
    Helper { name: "bpf_setsockopt", gpl_only: false }, // 49
    Helper { name: "bpf_skb_adjust_room", gpl_only: false }, // 50
    Helper { name: "bpf_redirect_map", gpl_only: false }, // 51
    Helper { name: "bpf_sk_redirect_map", gpl_only: false }, // 52
    Helper { name: "bpf_sock_map_update", gpl_only: false }, // 53
    Helper { name: "bpf_xdp_adjust_meta", gpl_only: false }, // 54
    Helper { name: "bpf_perf_event_read_value", gpl_only: true }, // 55
    Helper { name: "bpf_perf_prog_read_value", gpl_only: true }, // 56
    Helper { name: "bpf_getsockopt", gpl_only: false }, // 57
    Helper { name: "bpf_override_return", gpl_only: true }, // 58
    Helper { name: "bpf_sock_ops_cb_flags_set", gpl_only: false }, // 59
    Helper { name: "bpf_msg_redirect_map", gpl_only: false }, // 60
    Helper { name: "bpf_msg_apply_bytes", gpl_only: false }, // 61
    Helper { name: "bpf_msg_cork_bytes", gpl_only: false }, // 62
    Helper { name: "bpf_msg_pull_data", gpl_only: false }, // 63
    Helper { name: "bpf_bind", gpl_only: false }, // 64
    Helper { name: "bpf_xdp_adjust_tail", gpl_only: false }, // 65
    Helper { name: "bpf_skb_get_xfrm_state", gpl_only: false }, // 66
    Helper { name: "bpf_get_stack", gpl_only: true }, // 67
    Helper { name: "bpf_skb_load_bytes_relative", gpl_only: false }, // 68
    Helper { name: "bpf_fib_lookup", gpl_only: true }, // 69
    Helper { name: "bpf_sock_hash_update", gpl_only: false }, // 70
    Helper { name: "bpf_msg_redirect_hash", gpl_only: false }, // 71
    Helper { name: "bpf_sk_redirect_hash", gpl_only: false }, // 72
    Helper { name: "bpf_lwt_push_encap", gpl_only: false }, // 73
    Helper { name: "bpf_lwt_seg6_store_bytes", gpl_only: false }, // 74
    Helper { name: "bpf_lwt_seg6_adjust_srh", gpl_only: false }, // 75
    Helper { name: "bpf_lwt_seg6_action", gpl_only: false }, // 76
    Helper { name: "bpf_rc_repeat", gpl_only: true }, // 77
    Helper { name: "bpf_rc_keydown", gpl_only: true }, // 78
    Helper { name: "bpf_skb_cgroup_id", gpl_only: false }, // 79
    Helper { name: "bpf_get_current_cgroup_id", gpl_only: false }, // 80
    Helper { name: "bpf_get_local_storage", gpl_only: false }, // 81
    Helper { name: "bpf_sk_select_reuseport", gpl_only: false }, // 82
    Helper { name: "bpf_skb_ancestor_cgroup_id", gpl_only: false }, // 83
    Helper { name: "bpf_sk_lookup_tcp", gpl_only: false }, // 84
    Helper { name: "bpf_sk_lookup_udp", gpl_only: false }, // 85
    Helper { name: "bpf_sk_release", gpl_only: false }, // 86
    Helper { name: "bpf_map_push_elem", gpl_only: false }, // 87
    Helper { name: "bpf_map_pop_elem", gpl_only: false }, // 88
    Helper { name: "bpf_map_peek_elem", gpl_only: false }, // 89
    Helper { name: "bpf_msg_push_data", gpl_only: false }, // 90
    Helper { name: "bpf_msg_pop_data", gpl_only: false }, // 91
    Helper { name: "bpf_rc_pointer_rel", gpl_only: true }, // 92
    Helper { name: "bpf_spin_lock", gpl_only: false }, // 93
    Helper { name: "bpf_spin_unlock", gpl_only: false }, // 94
    Helper { name: "bpf_sk_fullsock", gpl_only: false }, // 95
    Helper { name: "bpf_tcp_sock", gpl_only: false }, // 96
    Helper { name: "bpf_skb_ecn_set_ce", gpl_only: false }, // 97
    Helper { name: "bpf_get_listener_sock", gpl_only: false }, // 98
    Helper { name: "bpf_skc_lookup_tcp", gpl_only: false }, // 99
    Helper { name: "bpf_tcp_check_syncookie", gpl_only: true }, // 100
    Helper { name: "bpf_sysctl_get_name", gpl_only: false }, // 101
    Helper { name: "bpf_sysctl_get_current_value", gpl_only: false }, // 102
    Helper { name: "bpf_sysctl_get_new_value", gpl_only: false }, // 103
    Helper { name: "bpf_sysctl_set_new_value", gpl_only: false }, // 104
    Helper { name: "bpf_strtol", gpl_only: false }, // 105
    Helper { name: "bpf_strtoul", gpl_only: false }, // 106
    Helper { name: "bpf_sk_storage_get", gpl_only: false }, // 107
    Helper { name: "bpf_sk_storage_delete", gpl_only: false }, // 108
    Helper { name: "bpf_send_signal", gpl_only: false }, // 109
    Helper { name: "bpf_tcp_gen_syncookie", gpl_only: true }, // 110
    Helper { name: "bpf_skb_output", gpl_only: true }, // 111
    Helper { name: "bpf_probe_read_user", gpl_only: true }, // 112
    Helper { name: "bpf_probe_read_kernel", gpl_only: true }, // 113
    Helper { name: "bpf_probe_read_user_str", gpl_only: true }, // 114
    Helper { name: "bpf_probe_read_kernel_str", gpl_only: true }, // 115
    Helper { name: "bpf_tcp_send_ack", gpl_only: false }, // 116
    Helper { name: "bpf_send_signal_thread", gpl_only: false }, // 117
    Helper { name: "bpf_jiffies64", gpl_only: false }, // 118
    Helper { name: "bpf_read_branch_records", gpl_only: true }, // 119
    Helper { name: "bpf_get_ns_current_pid_tgid", gpl_only: false }, // 120
    Helper { name: "bpf_xdp_output", gpl_only: true }, // 121
    Helper { name: "bpf_get_netns_cookie", gpl_only: false }, // 122
    Helper { name: "bpf_get_current_ancestor_cgroup_id", gpl_only: false }, // 123
    Helper { name: "bpf_sk_assign", gpl_only: false }, // 124
    Helper { name: "bpf_ktime_get_boot_ns", gpl_only: false }, // 125
    Helper { name: "bpf_seq_printf", gpl_only: true }, // 126
    Helper { name: "bpf_seq_write", gpl_only: true }, // 127
    Helper { name: "bpf_sk_cgroup_id", gpl_only: false }, // 128
    Helper { name: "bpf_sk_ancestor_cgroup_id", gpl_only: false }, // 129
    Helper { name: "bpf_ringbuf_output", gpl_only: false }, // 130
    Helper { name: "bpf_ringbuf_reserve", gpl_only: false }, // 131
    Helper { name: "bpf_ringbuf_submit", gpl_only: false }, // 132
    Helper { name: "bpf_ringbuf_discard", gpl_only: false }, // 133
    Helper { name: "bpf_ringbuf_query", gpl_only: false }, // 134
    Helper { name: "bpf_csum_level", gpl_only: false }, // 135
    Helper { name: "bpf_skc_to_tcp6_sock", gpl_only: false }, // 136
    Helper { name: "bpf_skc_to_tcp_sock", gpl_only: false }, // 137
    Helper { name: "bpf_skc_to_tcp_timewait_sock", gpl_only: false }, // 138
    Helper { name: "bpf_skc_to_tcp_request_sock", gpl_only: false }, // 139
    Helper { name: "bpf_skc_to_udp6_sock", gpl_only: false }, // 140
    Helper { name: "bpf_get_task_stack", gpl_only: false }, // 141
    Helper { name: "bpf_load_hdr_opt", gpl_only: false }, // 142
    Helper { name: "bpf_store_hdr_opt", gpl_only: false }, // 143
    Helper { name: "bpf_reserve_hdr_opt", gpl_only: false }, // 144
    Helper { name: "bpf_inode_storage_get", gpl_only: false }, // 145
    Helper { name: "bpf_inode_storage_delete", gpl_only: false }, // 146
    Helper { name: "bpf_d_path", gpl_only: false }, // 147
    Helper { name: "bpf_copy_from_user", gpl_only: false }, // 148
    Helper { name: "bpf_snprintf_btf", gpl_only: false }, // 149
    Helper { name: "bpf_seq_printf_btf", gpl_only: true }, // 150
    Helper { name: "bpf_skb_cgroup_classid", gpl_only: false }, // 151
    Helper { name: "bpf_redirect_neigh", gpl_only: false }, // 152
    Helper { name: "bpf_per_cpu_ptr", gpl_only: false }, // 153
    Helper { name: "bpf_this_cpu_ptr", gpl_only: false }, // 154
    Helper { name: "bpf_redirect_peer", gpl_only: false }, // 155
    Helper { name: "bpf_task_storage_get", gpl_only: false }, // 156
    Helper { name: "bpf_task_storage_delete", gpl_only: false }, // 157
    Helper { name: "bpf_get_current_task_btf", gpl_only: true }, // 158
    Helper { name: "bpf_bprm_opts_set", gpl_only: false }, // 159
    Helper { name: "bpf_ktime_get_coarse_ns", gpl_only: false }, // 160
    Helper { name: "bpf_ima_inode_hash", gpl_only: false }, // 161
    Helper { name: "bpf_sock_from_file", gpl_only: false }, // 162
    Helper { name: "bpf_check_mtu", gpl_only: true }, // 163
    Helper { name: "bpf_for_each_map_elem", gpl_only: false }, // 164
    Helper { name: "bpf_snprintf", gpl_only: true }, // 165
    Helper { name: "bpf_sys_bpf", gpl_only: false }, // 166
    Helper { name: "bpf_btf_find_by_name_kind", gpl_only: false }, // 167
    Helper { name: "bpf_sys_close", gpl_only: false }, // 168
    Helper { name: "bpf_timer_init", gpl_only: true }, // 169
    Helper { name: "bpf_timer_set_callback", gpl_only: true }, // 170
    Helper { name: "bpf_timer_start", gpl_only: true }, // 171
    Helper { name: "bpf_timer_cancel", gpl_only: true }, // 172
    // GPL-only except for `BPF_TRACE_KPROBE_MULTI` kprobes
    // (`bpf_get_func_ip_proto_kprobe_multi` has `.gpl_only = false`).
    Helper { name: "bpf_get_func_ip", gpl_only: true }, // 173
    Helper { name: "bpf_get_attach_cookie", gpl_only: false }, // 174
    Helper { name: "bpf_task_pt_regs", gpl_only: true }, // 175
    Helper { name: "bpf_get_branch_snapshot", gpl_only: true }, // 176
    Helper { name: "bpf_trace_vprintk", gpl_only: true }, // 177
    Helper { name: "bpf_skc_to_unix_sock", gpl_only: false }, // 178
    Helper { name: "bpf_kallsyms_lookup_name", gpl_only: false }, // 179
    Helper { name: "bpf_find_vma", gpl_only: false }, // 180
    Helper { name: "bpf_loop", gpl_only: false }, // 181
    Helper { name: "bpf_strncmp", gpl_only: false }, // 182
    Helper { name: "bpf_get_func_arg", gpl_only: false }, // 183
    Helper { name: "bpf_get_func_ret", gpl_only: false }, // 184
    Helper { name: "bpf_get_func_arg_cnt", gpl_only: false }, // 185
    Helper { name: "bpf_get_retval", gpl_only: false }, // 186
    Helper { name: "bpf_set_retval", gpl_only: false }, // 187
    Helper { name: "bpf_xdp_get_buff_len", gpl_only: false }, // 188
    Helper { name: "bpf_xdp_load_bytes", gpl_only: false }, // 189
    Helper { name: "bpf_xdp_store_bytes", gpl_only: false }, // 190
    Helper { name: "bpf_copy_from_user_task", gpl_only: true }, // 191
    Helper { name: "bpf_skb_set_tstamp", gpl_only: false }, // 192
    Helper { name: "bpf_ima_file_hash", gpl_only: false }, // 193
    Helper { name: "bpf_kptr_xchg", gpl_only: false }, // 194
    Helper { name: "bpf_map_lookup_percpu_elem", gpl_only: false }, // 195
    Helper { name: "bpf_skc_to_mptcp_sock", gpl_only: false }, // 196
    Helper { name: "bpf_dynptr_from_mem", gpl_only: false }, // 197
    Helper { name: "bpf_ringbuf_reserve_dynptr", gpl_only: false }, // 198
    Helper { name: "bpf_ringbuf_submit_dynptr", gpl_only: false }, // 199
    Helper { name: "bpf_ringbuf_discard_dynptr", gpl_only: false }, // 200
    Helper { name: "bpf_dynptr_read", gpl_only: false }, // 201
    Helper { name: "bpf_dynptr_write", gpl_only: false }, // 202
    Helper { name: "bpf_dynptr_data", gpl_only: false }, // 203
    Helper { name: "bpf_tcp_raw_gen_syncookie_ipv4", gpl_only: true }, // 204
    Helper { name: "bpf_tcp_raw_gen_syncookie_ipv6", gpl_only: true }, // 205
    Helper { name: "bpf_tcp_raw_check_syncookie_ipv4", gpl_only: true }, // 206
    Helper { name: "bpf_tcp_raw_check_syncookie_ipv6", gpl_only: true }, // 207
    Helper { name: "bpf_ktime_get_tai_ns", gpl_only: false }, // 208
    Helper { name: "bpf_user_ringbuf_drain", gpl_only: false }, // 209
];

/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;

/// A `call` instruction: its byte offset in the section, `src_reg` and `imm`.
pub(crate) struct Call {
    /// Byte offset of the instruction in its section.
    pub(crate) offset: u64,
    /// `src_reg`: 0 for a helper, 1 for a sub-program, 2 for a kfunc.
    pub(crate) src_reg: u8,
    /// The helper id (or call offset).
    pub(crate) imm: i32,
}

/// Every `call` instruction of a section's code.
pub(crate) fn calls(bytes: &[u8], order: ByteOrder) -> impl Iterator<Item = Call> + '_ {
    bytes
        .chunks_exact(8)
        .enumerate()
        .filter(|(_, insn)| insn[0] == CALL)
        .map(move |(i, insn)| {
            let imm: [u8; 4] = insn[4..8].try_into().expect("chunk of 8");
            let (src_reg, imm) = match order {
                ByteOrder::Little => (insn[1] >> 4, i32::from_le_bytes(imm)),
                ByteOrder::Big => (insn[1] & 0xf, i32::from_be_bytes(imm)),
            };
            Call {
                offset: i as u64 * 8,
                src_reg,
                imm,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::HELPERS;

    /// The helper names of the installed UAPI header, by id, parsed from its
    /// `__BPF_FUNC_MAPPER` list (`FN(name),`, up to 6.1) or `___BPF_FUNC_MAPPER` list
    /// (`FN(name, id, ##ctx)`, newer headers; the explicit id is checked against the position).
    fn header_helpers() -> Vec<String> {
        let path = "/usr/include/linux/bpf.h";
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (apt-get install linux-libc-dev)"));
        let lines: Vec<&str> = text.lines().collect();
        // The id-carrying list first: in new headers `__BPF_FUNC_MAPPER(FN)` is a one-line
        // wrapper around it.
        let start = ["#define ___BPF_FUNC_MAPPER(", "#define __BPF_FUNC_MAPPER("]
            .iter()
            .find_map(|p| lines.iter().position(|l| l.starts_with(p)))
            .expect("no __BPF_FUNC_MAPPER in the header");
        let mut names = Vec::new();
        let mut continued = lines[start].trim_end().ends_with('\\');
        for line in &lines[start + 1..] {
            if !continued {
                break;
            }
            continued = line.trim_end().ends_with('\\');
            let Some(entry) = line.trim().strip_prefix("FN(") else {
                continue;
            };
            let args = entry.split(')').next().unwrap_or_default();
            let mut fields = args.split(',').map(str::trim);
            let name = fields.next().unwrap_or_default();
            if let Some(id) = fields.next() {
                assert_eq!(id.parse::<usize>().ok(), Some(names.len()), "id of {name}");
            }
            names.push(format!("bpf_{name}"));
        }
        names
    }

    #[test]
    fn matches_the_uapi_header() {
        let header = header_helpers();
        for (id, (row, name)) in HELPERS.iter().zip(&header).enumerate() {
            assert_eq!(row.name, name, "helper id {id}");
        }
        // A newer header only appends helpers (ids are never reused); the table must cover
        // at least every helper of the header it was made from.
        assert!(
            header.len() >= HELPERS.len(),
            "the table has helpers the installed header lacks"
        );
    }

    #[test]
    fn known_helpers() {
        let id = |name: &str| HELPERS.iter().position(|h| h.name == name).unwrap();
        assert_eq!(HELPERS[0].name, "bpf_unspec");
        assert_eq!(id("bpf_map_lookup_elem"), 1);
        assert!(!HELPERS[1].gpl_only);
        assert_eq!(id("bpf_trace_printk"), 6);
        assert!(HELPERS[6].gpl_only);
        for gpl in [4, 25, 27, 35, 36, 45, 58, 67, 112, 113, 114, 115, 158, 177] {
            assert!(HELPERS[gpl].gpl_only, "{}", HELPERS[gpl].name);
        }
        for free in [5, 14, 130] {
            assert!(!HELPERS[free].gpl_only, "{}", HELPERS[free].name);
        }
    }

    #[test]
    fn names_are_unique() {
        for (id, helper) in HELPERS.iter().enumerate() {
            assert_eq!(
                HELPERS.iter().position(|h| h.name == helper.name),
                Some(id),
                "{}",
                helper.name
            );
        }
    }
}
