# gitopsfs - plain GNU make. `make deps` installs what the build needs on
# Debian 12; `make check` builds with AddressSanitizer and UBSan and runs
# every test; `make demo` mounts a demo cluster at ./demo/mnt.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
V ?= 0

PKGS := fuse3 libgit2 libcurl yaml-0.1 jansson libcrypto libmicrohttpd zlib
# Queried once per make run (lazily, so `make deps` works before the
# libraries are installed).
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

CC ?= gcc
OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-truncation
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# FUSE_USE_VERSION is set here and nowhere else.
DEFS := -D_GNU_SOURCE -DFUSE_USE_VERSION=35 -DGFS_VERSION=\"$(VERSION)\"
# The library's modules, lowest first; each folder holds its sources and
# its public header(s), gfs_<noun>.h (docs/design.md, "Modules").
MODULES := lib metrics model render sops kube cache apply fs git alert health sync
INCLUDES := $(MODULES:%=-I%)
ALL_CFLAGS = -std=gnu11 $(OPT) $(WARN) $(DEFS) $(INCLUDES) $(PKG_CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) -lpthread -lm $(EXTRA_LDFLAGS)

ifeq ($(V),0)
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
quiet =
endif

LIB_SRCS := $(sort $(wildcard $(MODULES:%=%/*.c)))
CLI_SRCS := $(sort $(wildcard cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
LIBGFS := $(BUILD)/libgfs.a
BIN := $(BUILD)/gitopsfs

.PHONY: all check unit-tests deps demo demo-stop install uninstall clean format format-check bench bench-crds \
	lint deb fuzz fuzz-targets fuzz-smoke soak
all: $(BIN)

# Rebuild everything when the flags change.
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(ALL_CFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(ALL_CFLAGS) $(LDLIBS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(call quiet,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBGFS): $(LIB_OBJS)
	$(call quiet,AR,$@)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIBGFS)
	$(call quiet,LINK,$@)$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJS) $(LIBGFS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIBGFS) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(call quiet,LINK,$@)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIBGFS) $(LDLIBS)

unit-tests: $(TEST_BINS)

# The whole suite, built with sanitizers in its own build directory, after
# the static checks (formatting, cppcheck) and a short run of every
# libFuzzer target.
check: format-check lint
	$(Q)$(MAKE) --no-print-directory fuzz-smoke FUZZ_TIME=$(CHECK_FUZZ_TIME) FUZZ_SEED=1
	$(Q)$(MAKE) --no-print-directory BUILD=build/san EXTRA_CFLAGS='$(SAN_FLAGS)' \
		EXTRA_LDFLAGS='$(SAN_FLAGS)' OPT='-O1 -g' all unit-tests
	$(Q)GFS_BUILD=build/san tests/run.sh

# A short fuzz run over every target is part of `make check`, with a fixed
# seed so that the gate is the same on every run; hunting for new findings
# is `make fuzz-smoke FUZZ_TIME=600` (a random seed each run).
CHECK_FUZZ_TIME ?= 3

# libFuzzer targets (fuzz/fuzz_*.c), built with clang and ASan + UBSan
# against the project's library in build/fuzz; `make fuzz-smoke` runs
# each for FUZZ_TIME seconds over its seeds in fuzz/corpus/<target>/.
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_SEED ?=
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/%)

fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=build/fuzz CC=$(FUZZ_CC) OPT='-O1 -g' \
		EXTRA_CFLAGS='$(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wno-unknown-warning-option' \
		EXTRA_LDFLAGS='$(FUZZ_SAN)' fuzz-targets

fuzz-targets: $(FUZZ_BINS)

$(BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIBGFS) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(call quiet,LINK,$@)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBGFS) $(LDLIBS)

fuzz-smoke: fuzz
	$(Q)FUZZ_SEED=$(FUZZ_SEED) fuzz/smoke.sh build/fuzz $(FUZZ_TIME)

deps:
	$(Q)packaging/install-deps.sh

demo: all
	$(Q)tests/demo/demo.sh start

demo-stop:
	$(Q)tests/demo/demo.sh stop

# The scale bench (N objects), then the many-CRDs bench of issue 15
# (bench/bench_crds.sh: 300 and 1,000 CRDs over HTTP/1.1 and through an
# HTTP/2 front); `make bench-crds` runs the latter alone.
bench: all
	$(Q)bench/bench.sh
	$(Q)bench/bench.sh mix
	$(Q)bench/bench_crds.sh

bench-crds: all
	$(Q)bench/bench.sh mix
	$(Q)bench/bench_crds.sh

# The fault soak (tests/soak/soak.py): writers and a sync-apply agent for
# SOAK_SECONDS under injected faults, kills and restarts, then checks that
# nothing acknowledged was lost. tests/integration/t_soak.sh runs a short
# one in `make check`.
SOAK_SECONDS ?= 300
soak: all
	$(Q)GFS_BIN=$(BIN) tests/soak/soak.py --seconds $(SOAK_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/gitopsfs
	sed 's/@VERSION@/$(VERSION)/' docs/man/gitopsfs.1 >$(DESTDIR)$(PREFIX)/share/man/man1/gitopsfs.1
	sed 's/@VERSION@/$(VERSION)/' docs/man/gitopsfs.yaml.5 \
		>$(DESTDIR)$(PREFIX)/share/man/man5/gitopsfs.yaml.5
	install -D -m 0644 packaging/bash-completion/gitopsfs \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/gitopsfs

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/gitopsfs $(DESTDIR)$(PREFIX)/share/man/man1/gitopsfs.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/gitopsfs.yaml.5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/gitopsfs

# build/gitopsfs_<version>_<arch>.deb, built by debian/rules (debhelper)
# with Debian's hardening flags in build/deb (kept, so the next run is
# incremental); then lintian, when installed (packaging/README.md explains
# what it may still say).
DEB := $(BUILD)/gitopsfs_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb
deb:
	$(Q)command -v dh >/dev/null && command -v dpkg-checkbuilddeps >/dev/null || \
		{ echo "make deb needs debhelper and dpkg-dev: make deps, or apt-get install debhelper dpkg-dev" >&2; exit 1; }
	$(Q)dpkg-checkbuilddeps
	$(Q)debian/rules binary
	$(Q)dh_clean
	$(Q)if command -v lintian >/dev/null; then lintian --info --fail-on error,warning $(DEB); \
		else echo "deb: lintian is not installed; not checked"; fi
	@echo "deb: $(DEB)"

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_FILES)

format-check:
	$(call quiet,FORMAT,check)clang-format --dry-run --Werror $(C_FILES)

lint:
	$(call quiet,LINT,cppcheck)cppcheck --quiet --enable=warning,performance,portability --inline-suppr \
		--error-exitcode=1 $(INCLUDES) $(LIB_SRCS) $(CLI_SRCS) $(FUZZ_SRCS)

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(wildcard $(BUILD)/fuzz_*.d)
