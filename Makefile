# libzeroipc: `make` builds the libraries; see README.md for the other targets.
#
#   make [all]            libzeroipc.a and libzeroipc.so.$(SOVERSION) in build/
#   make demo             build and run the Array demo (writer + reader processes)
#   make test             the test suite (FAST and MEDIUM; ZIPC_TEST_CATEGORIES to change)
#   make test-asan        the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-tsan        the thread variants under ThreadSanitizer
#   make fuzz             build the libFuzzer targets (clang); make fuzz-smoke runs them briefly
#   make examples bench   example and benchmark programs (bench: apt-get install dpdk-dev libck-dev)
#   make benchmark        run the benchmarks; rewrites docs/benchmarks.md and docs/benchmarks.png
#   make install PREFIX=/usr/local DESTDIR=
#   make clean

CC        ?= cc
PREFIX    ?= /usr/local
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
BINDIR    ?= $(PREFIX)/bin
VERSION   := 0.1.0
SOVERSION := 0
B         ?= build

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-missing-field-initializers
CSTD      := -std=c11 -D_GNU_SOURCE
OPT       ?= -O2 -g
SAN       ?=
BASEFLAGS  = $(CSTD) $(OPT) $(WARN) $(SAN) -Iinclude -Isrc -fPIC
LIBFLAGS   = $(BASEFLAGS) -DZIPC_BUILDING_LIBRARY -fvisibility=hidden
LDLIBS    := -lpthread -lrt
EXLIBS    := -lm

SRCS      := $(wildcard src/*.c)
OBJS      := $(SRCS:src/%.c=$(B)/obj/%.o)
TOBJS     := $(SRCS:src/%.c=$(B)/tobj/%.o)
TEST_SRCS := $(wildcard tests/*.c)
EXAMPLES  := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
BENCHES   := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
TOOLS     := $(patsubst tools/%.c,$(B)/tools/%,$(wildcard tools/*.c))
HEADERS   := $(wildcard include/zeroipc/*.h)
PRIV_HDRS := $(wildcard src/*.h)

STATIC    := $(B)/libzeroipc.a
SHARED    := $(B)/libzeroipc.so.$(VERSION)
TESTBIN   := $(B)/tests/zipc_tests

.PHONY: all demo test test-asan test-tsan fuzz fuzz-smoke examples bench bench-deps benchmark tools \
        install uninstall clean

all: $(STATIC) $(SHARED) $(TOOLS)

$(B)/obj/%.o: src/%.c $(HEADERS) $(PRIV_HDRS) | $(B)/obj
	$(CC) $(LIBFLAGS) -c $< -o $@

# The library as the tests link it: crash points compiled in (src/testhooks.h).
$(B)/tobj/%.o: src/%.c $(HEADERS) $(PRIV_HDRS) | $(B)/tobj
	$(CC) $(LIBFLAGS) -DZIPC_TEST_HOOKS -c $< -o $@

$(STATIC): $(OBJS)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(OBJS)
	$(CC) $(SAN) -shared -Wl,-soname,libzeroipc.so.$(SOVERSION) -Wl,-z,defs -o $@ $^ $(LDLIBS)
	ln -sf libzeroipc.so.$(VERSION) $(B)/libzeroipc.so.$(SOVERSION)
	ln -sf libzeroipc.so.$(SOVERSION) $(B)/libzeroipc.so

$(TESTBIN): $(TEST_SRCS) tests/harness.h $(TOBJS) $(HEADERS) $(PRIV_HDRS) | $(B)/tests
	$(CC) $(BASEFLAGS) -DZIPC_TEST_HOOKS -Itests -DZIPC_SO_PATH='"$(B)/libzeroipc.so"' \
	    -DZIPC_EXAMPLES_DIR='"$(B)/examples"' -DZIPC_TOOLS_DIR='"$(B)/tools"' -o $@ $(TEST_SRCS) $(TOBJS) $(LDLIBS)

$(B)/examples/%: examples/%.c $(STATIC) $(HEADERS) | $(B)/examples
	$(CC) $(BASEFLAGS) -o $@ $< $(STATIC) $(LDLIBS) $(EXLIBS)

# The benchmarks measure against DPDK rte_ring and Concurrency Kit ck_ring
# (Debian: dpdk-dev libck-dev). Only `make bench`/`make benchmark` need them:
# these variables are expanded by the bench recipes alone. DPDK's include
# directories become -isystem so its headers meet our warning flags as system
# headers; only librte_ring is linked (the rings need no EAL initialisation).
BENCH_DEPS_MSG = the benchmarks need DPDK and Concurrency Kit headers: apt-get install dpdk-dev libck-dev (and gnuplot-nox for the chart)
BENCH_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libdpdk)) \
               -DBENCH_WITH_DPDK -DBENCH_WITH_CK
BENCH_LIBS   = $(shell pkg-config --libs-only-L libdpdk) -lrte_ring

bench-deps:
	@pkg-config --exists libdpdk || { echo "make bench: libdpdk not found; $(BENCH_DEPS_MSG)" >&2; exit 1; }
	@echo '#include <ck_ring.h>' | $(CC) -E -x c - >/dev/null 2>&1 || \
	  { echo "make bench: ck_ring.h not found; $(BENCH_DEPS_MSG)" >&2; exit 1; }

$(B)/bench/%: bench/%.c $(wildcard bench/*.h) $(STATIC) $(HEADERS) $(PRIV_HDRS) | $(B)/bench bench-deps
	$(CC) $(BASEFLAGS) $(BENCH_CFLAGS) -o $@ $< $(STATIC) $(LDLIBS) $(BENCH_LIBS)

$(B)/tools/%: tools/%.c $(STATIC) $(HEADERS) $(PRIV_HDRS) | $(B)/tools
	$(CC) $(BASEFLAGS) -o $@ $< $(STATIC) $(LDLIBS) $(EXLIBS)

$(B)/obj $(B)/tobj $(B)/tests $(B)/examples $(B)/bench $(B)/tools $(B)/fuzz:
	mkdir -p $@

examples: $(EXAMPLES)
tools: $(TOOLS)
bench: $(BENCHES)

demo: $(B)/examples/demo
	$(B)/examples/demo

test: $(TESTBIN) $(SHARED) $(EXAMPLES) $(TOOLS)
	$(TESTBIN)

test-asan:
	$(MAKE) B=build/asan SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' test

test-tsan:
	ZIPC_TEST_FILTER=$${ZIPC_TEST_FILTER:-thread} $(MAKE) B=build/tsan SAN='-fsanitize=thread' test

# ---- fuzzing (clang + libFuzzer) ------------------------------------------
FUZZ_CC    ?= clang
# A hostile table shows busy claims everywhere: wait for each only 1 ms.
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
              -DZIPC_HTABLE_BUSY_NS=1000000LL
FUZZERS    := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(wildcard fuzz/*.c))

$(B)/fuzz/%: fuzz/%.c $(SRCS) $(HEADERS) $(PRIV_HDRS) | $(B)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(SRCS) $(LDLIBS)

fuzz: $(FUZZERS)

FUZZ_SECONDS ?= 30
fuzz-smoke: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $(B)/fuzz/corpus-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s (log: $(B)/fuzz/$$n.log)"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -detect_leaks=1 $(B)/fuzz/corpus-$$n fuzz/corpus/$$n \
	       > $(B)/fuzz/$$n.log 2>&1; then tail -n 60 $(B)/fuzz/$$n.log; exit 1; fi; \
	  grep -E '^Done|INFO: Seed' $(B)/fuzz/$$n.log | tail -n 2; done

# Runs every benchmark and regenerates docs/benchmarks.md and docs/benchmarks.png.
benchmark: bench
	B=$(B) bench/run.sh

# ---- install ---------------------------------------------------------------
install: $(STATIC) $(SHARED) $(TOOLS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR)/zeroipc $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/zeroipc
	install -m 644 $(HEADERS) $(DESTDIR)$(INCDIR)/zeroipc/
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libzeroipc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libzeroipc.so.$(SOVERSION)
	ln -sf libzeroipc.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libzeroipc.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' packaging/zeroipc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/zeroipc.pc
	sed -e 's|@VERSION@|$(VERSION)|g' packaging/zeroipcConfig.cmake.in \
	    > $(DESTDIR)$(LIBDIR)/cmake/zeroipc/zeroipcConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' packaging/zeroipcConfigVersion.cmake.in \
	    > $(DESTDIR)$(LIBDIR)/cmake/zeroipc/zeroipcConfigVersion.cmake

uninstall:
	rm -rf $(DESTDIR)$(INCDIR)/zeroipc $(DESTDIR)$(LIBDIR)/cmake/zeroipc
	rm -f $(DESTDIR)$(LIBDIR)/libzeroipc.* $(DESTDIR)$(LIBDIR)/pkgconfig/zeroipc.pc $(DESTDIR)$(BINDIR)/zipc

clean:
	rm -rf build
