# The two set-up commands the README opens with:
#   make example   build bpfgen, build examples/c/helloworld with it, run it in the kernel
#   make test      the whole test suite (kernel tests need root; CI requires them)
# Both install missing Debian packages first (scripts/install-deps.sh).

CARGO ?= cargo
OUT := examples/c/.output
BPFGEN := target/release/bpfgen

.PHONY: deps example test

deps:
	scripts/install-deps.sh

example: deps
	$(CARGO) build --release --quiet
	$(BPFGEN) build examples/c/helloworld.bpf.c -o $(OUT)
	cc -g -Wall -Werror -I$(OUT) examples/c/helloworld.c -lbpf -lelf -lz -o $(OUT)/helloworld
	scripts/run-helloworld.sh $(OUT)/helloworld

test: deps
	$(CARGO) test
	@echo "Conformance suite (tests/kernel_types.rs, tests/generated_programs.rs):"
	@cat target/tmp/conformance-*.txt
