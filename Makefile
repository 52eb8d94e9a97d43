# Coffer - encrypted record vault.  `make` builds, `make check` tests.
# Every variable below can be overridden on the command line.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DESTDIR  ?=
CC       ?= cc
PKG_CONFIG ?= pkg-config
O        ?= build
SAN      ?= 0        # 1: AddressSanitizer + UndefinedBehaviorSanitizer
WERROR   ?= 0        # 1: warnings are errors (CI)
FUZZ_SECONDS ?= 20   # per harness, in `make check`
# 1: benchmark-only daemon that does not audit requests (docs/performance.md);
# always built into its own directory and never installable.
BENCH_AUDIT_OFF ?= 0
# 1: cofferd reads COFFER_AUDIT_FAIL_AFTER/TIMES (fault injection for the
# tests, docs/audit-format.md §7).  `make install` builds without them.
TEST_HOOKS ?= 1

ifeq ($(strip $(BENCH_AUDIT_OFF)),1)
  override O := build-bench-noaudit
  ifneq ($(filter install,$(MAKECMDGOALS)),)
    $(error BENCH_AUDIT_OFF=1 builds a benchmark-only daemon; it is never installed)
  endif
endif
OUT      := $(O)
PKGS     := libsodium libcbor sqlcipher yaml-0.1 xlsxwriter
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wvla \
            -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
BASE_CFLAGS := -std=c11 $(WARN) -fstack-protector-strong -fPIE -pthread \
            $(shell $(PKG_CONFIG) --cflags $(PKGS))
BASE_CPPFLAGS := -Iinclude -D_GNU_SOURCE \
            -DSQLITE_HAS_CODEC
BASE_LDFLAGS := -pie -Wl,-z,relro,-z,now -pthread
# libcsv (lead-list import) ships no pkg-config file, hence the bare -lcsv.
LIBS     := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lcsv

ifeq ($(strip $(SAN)),1)
  OUT := $(O)-san
  BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined
  BASE_LDFLAGS += -fsanitize=address,undefined
else
  BASE_CPPFLAGS += -D_FORTIFY_SOURCE=2
endif
ifeq ($(strip $(WERROR)),1)
  BASE_CFLAGS += -Werror
endif

ALL_CFLAGS   = $(BASE_CFLAGS) $(CFLAGS)
# COFFER_BENCH_NO_AUDIT can only come from BENCH_AUDIT_OFF=1, never from
# CPPFLAGS: every other build undefines it last.
ifeq ($(strip $(BENCH_AUDIT_OFF)),1)
  AUDIT_GUARD := -DCOFFER_BENCH_NO_AUDIT
else
  AUDIT_GUARD := -UCOFFER_BENCH_NO_AUDIT
endif
# Likewise the test hooks come only from TEST_HOOKS=1.
ifeq ($(strip $(TEST_HOOKS)),1)
  AUDIT_GUARD += -DCOFFER_TEST_HOOKS
else
  AUDIT_GUARD += -UCOFFER_TEST_HOOKS
endif
ALL_CPPFLAGS = $(BASE_CPPFLAGS) $(CPPFLAGS) $(AUDIT_GUARD)
ALL_LDFLAGS  = $(BASE_LDFLAGS) $(LDFLAGS)

# Each program has one main file; everything else is the shared library.
MAINS    := src/daemon/cofferd.c src/client/coffer.c src/admin/coffer-admin.c \
            tools/coffer-verify.c
LIB_SRC  := $(filter-out $(MAINS),$(wildcard src/*/*.c))
# The default policy compiled in (cofferd's fallback, coffer-admin init).
GEN_POLICY := $(OUT)/gen/default_policy.c
LIB_OBJ  := $(LIB_SRC:%.c=$(OUT)/obj/%.o) $(OUT)/obj/$(GEN_POLICY:.c=.o)
LIB      := $(OUT)/libcoffer.a
PROGS    := $(OUT)/bin/cofferd $(OUT)/bin/coffer $(OUT)/bin/coffer-admin
PROGS    += $(if $(wildcard tools/coffer-verify.c),$(OUT)/bin/coffer-verify)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
UNIT_HELPER_OBJ := $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard tests/unit/helper_*.c))

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/fuzz/%)

# Objects made through pattern-rule chains are kept (not "intermediate"),
# so a second make rebuilds nothing; a target whose recipe fails is removed.
.SECONDARY:
.DELETE_ON_ERROR:

.PHONY: all check unit fuzz-bins fuzz demo install uninstall clean deps \
        bench bench-quick bench-bins
all: $(PROGS)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# policy/default.yaml as a C array; od and awk, since xxd may be missing.
$(GEN_POLICY): policy/default.yaml
	@mkdir -p $(@D)
	{ echo '/* Generated from $< by make: do not edit. */'; \
	  echo '#include "coffer/access.h"'; \
	  echo 'const unsigned char access_default_policy[] = {'; \
	  od -An -v -tu1 $< | awk '{ for (i = 1; i <= NF; i++) \
	    printf "%s,", $$i; printf "\n" }'; \
	  echo '};'; \
	  echo 'const size_t access_default_policy_len ='; \
	  echo '    sizeof(access_default_policy);'; } >$@.tmp && mv $@.tmp $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(OUT)/bin/%: $(OUT)/obj/src/daemon/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(OUT)/bin/%: $(OUT)/obj/src/client/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(OUT)/bin/%: $(OUT)/obj/src/admin/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(OUT)/bin/%: $(OUT)/obj/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(OUT)/tests/%: $(OUT)/obj/tests/unit/%.o $(UNIT_HELPER_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# libFuzzer harnesses need clang; they are built with their own flags.
# The library is compiled once for all of them (instrumented, without
# libFuzzer's main), each harness links against that archive.
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined
FUZZ_FLAGS := -g -O1 $(FUZZ_SAN) $(ALL_CPPFLAGS) -Isrc/audit \
              -U_FORTIFY_SOURCE $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_OBJ := $(LIB_SRC:%.c=$(OUT)/fuzzobj/%.o) $(OUT)/fuzzobj/gen/default_policy.o
FUZZ_LIB := $(OUT)/libcoffer-fuzz.a
$(OUT)/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(OUT)/fuzzobj/gen/default_policy.o: $(GEN_POLICY)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
$(OUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

# Tools the end-to-end tests use (hostile clients) and coffer-leadcheck,
# the stand-alone lead-list check (docs/import.md); never installed.
TEST_TOOLS := $(OUT)/tests/coffer-probe $(OUT)/tests/coffer-tamper \
              $(OUT)/tests/coffer-leadcheck
$(OUT)/tests/coffer-%: $(OUT)/obj/tests/tools/coffer-%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
# the tamper tool reads the audit module's internal header
$(OUT)/obj/tests/tools/coffer-tamper.o: CPPFLAGS += -Isrc/audit

unit: $(UNIT_BIN) $(TEST_TOOLS)
# The whole suite: warnings are errors, and every unit and end-to-end test
# runs twice, on the normal build and on the ASan+UBSan build (SANCHECK=0
# skips the second for a quicker local run).  One summary line at the end.
SANCHECK ?= 1
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check:
	@$(MAKE) --no-print-directory -j$(JOBS) WERROR=1 SAN=0 all unit fuzz-bins
	@if [ "$(SANCHECK)" = 1 ]; then $(MAKE) --no-print-directory -j$(JOBS) WERROR=1 SAN=1 all unit; fi
	@BUILDS="$(O) $(if $(filter 1,$(SANCHECK)),$(O)-san)" FUZZ_DIR=$(O)/fuzz \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/run-all.sh
fuzz-bins: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do mkdir -p $(OUT)/corpus/$$(basename $$f); \
	  $$f -max_total_time=600 $(OUT)/corpus/$$(basename $$f) \
	      tests/fuzz/corpus/$$(basename $$f) || exit 1; done

deps:
	sh tools/install-deps

# Benchmarks (docs/performance.md); never part of `make check`.  bench/run.sh
# builds this tree, the audit-off daemon (BENCH_AUDIT_OFF=1) and the load
# generator, sets up the cached data and runs everything in one go.
BENCH_PROGS := $(OUT)/bin/coffer-bench
bench-bins: $(BENCH_PROGS)
bench:
	MAKE="$(MAKE)" sh bench/run.sh full
bench-quick:
	MAKE="$(MAKE)" sh bench/run.sh quick

# The quick start: install what is missing, build, make the demo vault
# under var/demo if there is none, and run the daemon in the foreground.
demo: deps
	$(MAKE) all
	sh tools/demo-run

# What is installed is built apart, in $(O)-release, without the test
# hooks: a shipped daemon cannot be told to fail its audit log.
REL_PROGS = $(patsubst $(OUT)/%,$(O)-release/%,$(PROGS))
install:
	$(MAKE) O=$(O)-release SAN=0 TEST_HOOKS=0 all
	! grep -q COFFER_AUDIT_FAIL $(O)-release/bin/cofferd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(REL_PROGS) $(DESTDIR)$(BINDIR)/
	for m in docs/man/*.1; do [ -f "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in docs/man/*.8; do [ -f "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/; done; true

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS)))

clean:
	rm -rf build build-san build-bench-noaudit build-release

-include $(shell find $(OUT)/obj $(OUT)/fuzzobj -name '*.d' 2>/dev/null)
