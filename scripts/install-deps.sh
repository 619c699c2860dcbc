#!/usr/bin/env bash
# Installs, from Debian's packages, what building the examples and running the tests need:
# clang and LLVM, the libbpf/libelf/zlib headers user space links against, a C/C++ compiler,
# Debian's bpftool (a test oracle only; bpfgen never runs it), python3-jsonschema (the
# manifest schema check), util-linux's setpriv (the unprivileged `check --load` test), and
# the stores the remote build cache is tested against: redis-server, and nginx with its WebDAV
# module (the tests start their own servers on loopback; the packages' services are not
# needed). Building bpfgen itself compiles libbpf 1.7 (libbpf-sys, vendored) with gcc, make,
# pkg-config and the libelf/zlib headers. Only missing packages are installed, so a prepared
# machine pays nothing.
set -euo pipefail

packages=(clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config gcc g++ make xz-utils
          iproute2 systemtap-sdt-dev bpftool python3-jsonschema util-linux
          redis-server nginx libnginx-mod-http-dav-ext)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
