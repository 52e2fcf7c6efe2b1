# activekv — every target sets itself up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run build test test-pure test-smoke-pure check lint typecheck redis-tools clean bench-throughput bench-conflicts bench-cpu bench-instructions bench-scaling bench-suite

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	ACTIVEKV_COMPILE=0 $(PY) -m pip install -q -e '.[dev]'  # dependencies; `build` compiles
	touch $(STAMP)

# The hot modules (compiled_modules.txt) compiled in place with mypyc, rebuilt whenever one of
# them, the list or setup.py changes; ACTIVEKV_COMPILE=0 removes the compiled modules instead.
# At import time activekv_buildguard.py runs the .py sources if the build is stale anyway.
# Run the sources uncompiled without rebuilding: ACTIVEKV_PURE=1 (see test-pure).
ACTIVEKV_COMPILE ?= 1
COMPILED_SRC := $(shell sed -e 's/\#.*//' compiled_modules.txt)
BUILT := build/.built-$(ACTIVEKV_COMPILE)
NATIVE := $(wildcard activekv_native__mypyc*.so crdt/*.so crdt/*/*.so server/*.so server/*/*.so replication/*.so)

# (and every source byte-compiled: a server starts ~0.3 s sooner where PYTHONDONTWRITEBYTECODE is set)
build: $(BUILT)
	@$(PY) -m compileall -q -j0 server crdt replication activekv_buildguard.py > /dev/null

$(BUILT): setup.py compiled_modules.txt $(COMPILED_SRC) | $(STAMP)
	rm -f build/.built-*
ifeq ($(ACTIVEKV_COMPILE),0)
	rm -f $(NATIVE) crdt/_compiled_manifest.json
else
	$(PY) setup.py -q build_ext --inplace -j2
endif
	mkdir -p build && touch $@

redis-tools:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null \
	  && command -v openssl >/dev/null || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q redis-tools redis-server openssl; }

run: build
	$(PY) -m server.localrun --base-port 6379 --data ./data $(if $(TLS),--tls)

# the whole suite on the compiled build, then a quick run of the uncompiled sources
test: build redis-tools
	$(PY) -m pytest -q tests
	$(MAKE) test-smoke-pure

# under a minute: the guard, SEMANTICS rows, hot counters, the op log, the pipeline, two compat files
SMOKE_TESTS := tests/unit/test_buildguard.py tests/crdt/test_semantics_rows.py tests/crdt/test_hot_counters.py \
	tests/unit/test_oplog.py tests/unit/test_pipeline.py tests/compat/test_strings_vs_redis.py \
	tests/compat/test_hashes_vs_redis.py
test-smoke-pure: build redis-tools
	ACTIVEKV_PURE=1 $(PY) -m pytest -q $(SMOKE_TESTS)

test-pure: build redis-tools
	ACTIVEKV_PURE=1 $(PY) -m pytest -q tests

bench-throughput: build redis-tools
	$(PY) -m benchmarks.throughput $(BENCH_ARGS)

# three regions with a 40 ms one-way delay: activekv vs a single primary vs key-level LWW;
# options: make bench-conflicts BENCH_ARGS='--delay-ms 80 --seconds 10'
bench-conflicts: build redis-tools
	$(PY) -m benchmarks.concurrent_writes $(BENCH_ARGS)

# redis-benchmark's default test set (as `redis-benchmark -q` runs it) vs redis-server
bench-suite: build redis-tools
	$(PY) -m benchmarks.throughput --suite default $(BENCH_ARGS)

# queue and leaderboard operations on a 1,000,000-element key vs a 10-element one, vs redis-server
bench-scaling: build redis-tools
	$(PY) -m benchmarks.scaling $(BENCH_ARGS)

# CPU per command in-process (no sockets); options: BENCH_ARGS='--pipeline 1 --peers 0 --profile'
bench-cpu: build
	$(PY) -m benchmarks.inprocess $(BENCH_ARGS)

# instructions per command under callgrind (noise-free); compare with another checkout:
# make bench-instructions BENCH_ARGS='--baseline-dir ../base'
bench-instructions: build
	@command -v valgrind >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q valgrind; }
	$(PY) -m benchmarks.instructions $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check server crdt replication tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -f $(NATIVE) crdt/_compiled_manifest.json
