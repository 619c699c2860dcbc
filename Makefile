# The two set-up commands the README opens with:
#   make example   build bpfgen, build examples/c/helloworld with it, run it in the kernel
#   make test      the whole test suite (kernel tests need root; CI requires them)
# Both install missing Debian packages first (scripts/install-deps.sh).

CARGO ?= cargo
OUT := examples/c/.output
BPFGEN := target/release/bpfgen

.PHONY: deps oracles example test install-shell

deps:
	scripts/install-deps.sh

oracles: deps
	scripts/install-libbpf-cargo.sh

example: deps
	$(CARGO) build --release --quiet
	$(BPFGEN) build examples/c/helloworld.bpf.c -o $(OUT)
	cc -g -Wall -Werror -I$(OUT) examples/c/helloworld.c -lbpf -lelf -lz -o $(OUT)/helloworld
	scripts/run-helloworld.sh $(OUT)/helloworld

test: oracles
	$(CARGO) test
	@echo "Conformance suite (tests/kernel_types.rs, tests/generated_programs.rs):"
	@cat target/tmp/conformance-*.txt

# Shell completions (bash, zsh, fish) and the man page, from the installed command line.
PREFIX ?= /usr/local
install-shell:
	$(CARGO) build --release --quiet
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/man/man1
	$(BPFGEN) completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bpfgen
	$(BPFGEN) completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_bpfgen
	$(BPFGEN) completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/bpfgen.fish
	$(BPFGEN) man > $(DESTDIR)$(PREFIX)/share/man/man1/bpfgen.1
