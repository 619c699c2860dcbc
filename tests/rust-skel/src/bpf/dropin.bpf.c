// SPDX-License-Identifier: GPL-2.0
/* Types in the shapes of bpfgen issue 18, where bpfgen's Rust skeletons once differed from
 * libbpf-cargo's: a bool member, a member called self, padding, a bitfield-only struct,
 * anonymous members nested two deep, an anonymous global. No programs: only the skeleton's
 * types matter (tests/rust_types.rs compiles them on their own too). */
#include <stdbool.h>
struct inner { int a; };
struct Foo { int x; char y[10]; void *z; };
struct bits { unsigned short x: 2; unsigned short y: 3; };
struct mixed { char c; int f: 3; int g; struct { int p; union { int q; char r; }; } nested; struct { long s; }; };
struct tool_config { bool verbose; int self; bool flags[2]; struct inner in; };
enum colour { RED = 3, GREEN };
struct Foo foo;
struct bits bits;
struct mixed mixed;
const volatile struct tool_config tool_config = {};
bool global_flag;
enum colour colour;
struct { int anon_a; } anon_global;
char LICENSE[] __attribute__((section("license"))) = "GPL";
