# Sluice build. `make` builds the agent, the CLI and the test tools;
# `make test` and `make demo` install missing Debian packages first.

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
BUILD := build

ARCH_INCLUDE := /usr/include/$(shell $(CC) -dumpmachine)
CFLAGS_COMMON := -std=gnu11 -g -Wall -Wextra -Werror -Iinclude -Iuser/lib -Itests/bpf -I$(BUILD)
CFLAGS ?= -O2
LDLIBS := -lbpf -lelf -lz -lyaml -lxxhash -ljson-c -lmicrohttpd
# The agent's Kubernetes source only.
AGENT_LDLIBS := $(LDLIBS) -lcurl
# sluice_build_info's version label (metrics.c only, so a commit does not
# rebuild everything; `make clean` refreshes it).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -Iinclude -Ibpf -Itests/bpf \
	-I$(ARCH_INCLUDE)

# One source per hook family, linked into one object (and one skeleton) in
# which the maps of bpf/lib/maps.h exist once.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(BUILD)/sluice.skel.h
BPF_HDRS := $(wildcard bpf/lib/*.h) $(wildcard include/sluice/*.h)

LIB_SRCS := $(wildcard user/lib/*.c)
AGENT_SRCS := $(wildcard user/agent/*.c)
CLI_SRCS := $(wildcard user/cli/*.c)
USER_HDRS := $(wildcard user/lib/*.h user/agent/*.h user/cli/*.h include/sluice/*.h)

LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
AGENT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_SRCS))
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(LIB_SRCS))
SAN_AGENT_OBJS := $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(AGENT_SRCS))
SAN_CLI_OBJS := $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(CLI_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
BPFTEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
BPFTEST_SKELS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPFTEST_BPF_SRCS))
BPFTEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFTEST_SRCS))
TOOLS := $(BUILD)/sl-probe $(BUILD)/sl-stream

.PHONY: all asan tests deps test demo bench bench-control clean
.SECONDARY:

all: $(BUILD)/sluiced $(BUILD)/sluicectl $(TOOLS)

asan: $(BUILD)/asan/sluiced $(BUILD)/asan/sluicectl

tests: $(UNIT_BINS) $(BPFTEST_BINS)

deps:
	@scripts/deps.sh

# The README's two commands. Both install what they need first, then build.
test: deps
	$(MAKE) all asan tests
	tests/run.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench: deps
	$(MAKE) all
	scripts/bench.sh

bench-control: deps
	$(MAKE) all
	scripts/bench_control.sh

clean:
	rm -rf $(BUILD)

# ---- BPF ----
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/sluice.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(BUILD)/sluice.skel.h: $(BUILD)/bpf/sluice.o
	$(BPFTOOL) gen skeleton $< name sluice_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# ---- userspace ----
$(BUILD)/obj/%.o: %.c $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c $(USER_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/obj/user/agent/metrics.o $(BUILD)/asan/obj/user/agent/metrics.o: \
	CFLAGS_COMMON += -DSL_VERSION='"$(VERSION)"'

$(BUILD)/sluiced: $(AGENT_OBJS) $(LIB_OBJS)
	$(CC) -o $@ $^ $(AGENT_LDLIBS)

$(BUILD)/sluicectl: $(CLI_OBJS) $(LIB_OBJS)
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/sluiced: $(SAN_AGENT_OBJS) $(SAN_LIB_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(AGENT_LDLIBS)

$(BUILD)/asan/sluicectl: $(SAN_CLI_OBJS) $(SAN_LIB_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sl-probe: $(wildcard tests/tools/sl-probe/*.c tests/tools/sl-probe/*.h tests/tools/lib/*)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $(filter %.c,$^) -lm

# ---- tests (sanitizers on: they exercise the library code) ----
# Unit tests may include the BPF side's plain-C headers (bpf/lib/bucket.h).
$(BUILD)/tests/unit/%: tests/unit/%.c $(SAN_LIB_OBJS) $(BPF_HDRS) tests/unit/helpers.h \
		tests/unit/maps_fixture.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lcmocka

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(SAN_LIB_OBJS) $(BPFTEST_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -o $@ $< $(SAN_LIB_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/sl-stream: $(wildcard tests/tools/sl-stream/*.c tests/tools/sl-stream/*.h tests/tools/lib/*)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $(filter %.c,$^)
