# Fuzzing (cargo-fuzz + libFuzzer), -included by the root Makefile.
# See fuzz/README.md. The fuzz crate is its own workspace, not a member of the
# root one, so `make test` and `make lint` never build it.
#
#   make fuzz                    each target for FUZZ_SECONDS (default 60 s)
#   make fuzz FUZZ_SECONDS=600   longer
#   make fuzz-ci                 each target for 15 s: the short pass for CI
#   make fuzz-render_csv         one target (render_csv, payload, api_dialect, asl_execute)

CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := render_csv payload api_dialect asl_execute
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 15
# cargo-fuzz is installed into .local/bin, like the project's other tools.
FUZZ_BIN := $(CURDIR)/.local/bin
# Build output; CARGO_TARGET_DIR is honoured when set.
FUZZ_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/fuzz/target)
# The fuzzer needs nightly Rust (-Zsanitizer=address). Without a nightly
# toolchain, the stable one is used with RUSTC_BOOTSTRAP=1 (the same compiler
# features, unlocked).
FUZZ_CARGO ?= $(if $(shell rustup toolchain list 2>/dev/null | grep '^nightly-'),cargo +nightly,env RUSTC_BOOTSTRAP=1 cargo)

FUZZ_ENV = PATH="$(FUZZ_BIN):$$PATH" FUZZ_CARGO="$(FUZZ_CARGO)" FUZZ_TARGET_DIR="$(FUZZ_TARGET_DIR)"

.PHONY: fuzz fuzz-ci fuzz-build cargo-fuzz $(addprefix fuzz-,$(FUZZ_TARGETS))

fuzz: cargo-fuzz ## fuzz every target for FUZZ_SECONDS each (default 60)
	@$(FUZZ_ENV) fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci: cargo-fuzz ## the short fuzzing pass for CI: every target for 15 s
	@$(FUZZ_ENV) fuzz/run.sh $(FUZZ_CI_SECONDS) $(FUZZ_TARGETS)

$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-%: cargo-fuzz
	@$(FUZZ_ENV) fuzz/run.sh $(FUZZ_SECONDS) $*

fuzz-build: cargo-fuzz ## build the fuzz targets only
	PATH="$(FUZZ_BIN):$$PATH" $(FUZZ_CARGO) fuzz build --target-dir $(FUZZ_TARGET_DIR)

cargo-fuzz:
	@$(FUZZ_BIN)/cargo-fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz $(CARGO_FUZZ_VERSION)' \
	  || cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root $(CURDIR)/.local
