# timon — build, run and test. `make run` and `make test` are the README's two commands.
#
# Variables: BUILD (output folder, default build), SAN=1 (ASan+UBSan build), JEMALLOC=0
# (glibc's malloc instead of jemalloc), CC.

CC ?= cc
BUILD ?= build
PKGS := libuv openssl jansson yaml-0.1 sqlite3 libcurl libarchive libnftables zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wstrict-prototypes -fno-strict-aliasing -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS += $(PKG_LIBS) -lhttp_parser -lpthread -lm
# jemalloc replaces malloc for the whole process (decision 0009); ASan brings its own.
# JEMALLOC=0 builds with glibc's malloc (for comparisons).
JEMALLOC ?= 1
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
JEMALLOC := 0
endif
ifeq ($(JEMALLOC),1)
CFLAGS += -DTIMON_JEMALLOC
LDLIBS += -ljemalloc
endif

LIB_SRC := $(shell find src -name '*.c' ! -name main.c | sort)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps run test unit integration fuzz-replay asan clean format bench

all: $(BUILD)/timon $(UNIT_BIN) $(FUZZ_BIN)

deps:
	@scripts/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtimon.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The whole library goes in: controllers register themselves from their own files.
$(BUILD)/timon: $(BUILD)/src/main.o $(BUILD)/libtimon.a
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/src/main.o -Wl,--whole-archive $(BUILD)/libtimon.a -Wl,--no-whole-archive $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtimon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libtimon.a $(LDLIBS)

# Fuzz targets define LLVMFuzzerTestOneInput; tests/fuzz/replay.c drives them over their
# corpus so `make test` replays it without libFuzzer.
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libtimon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libtimon.a $(LDLIBS)

run: deps
	$(MAKE) $(BUILD)/timon
	$(BUILD)/timon server

test: deps
	$(MAKE) all
	@BUILD=$(BUILD) tests/run-all

asan:
	$(MAKE) BUILD=build-asan SAN=1 all

bench: all
	bench/run-all

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d
