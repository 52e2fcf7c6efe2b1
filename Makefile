# activekv — every target sets itself up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test check lint typecheck redis-tools clean bench-throughput bench-conflicts bench-cpu bench-instructions bench-scaling

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

redis-tools:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null \
	  && command -v openssl >/dev/null || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q redis-tools redis-server openssl; }

run: $(STAMP)
	$(PY) -m server.localrun --base-port 6379 --data ./data $(if $(TLS),--tls)

test: $(STAMP) redis-tools
	$(PY) -m pytest -q tests

bench-throughput: $(STAMP) redis-tools
	$(PY) -m benchmarks.throughput $(BENCH_ARGS)

# three regions with a 40 ms one-way delay: activekv vs a single primary vs key-level LWW;
# options: make bench-conflicts BENCH_ARGS='--delay-ms 80 --seconds 10'
bench-conflicts: $(STAMP) redis-tools
	$(PY) -m benchmarks.concurrent_writes $(BENCH_ARGS)

# queue and leaderboard operations on a 1,000,000-element key vs a 10-element one, vs redis-server
bench-scaling: $(STAMP) redis-tools
	$(PY) -m benchmarks.scaling $(BENCH_ARGS)

# CPU per command in-process (no sockets); options: BENCH_ARGS='--pipeline 1 --peers 0 --profile'
bench-cpu: $(STAMP)
	$(PY) -m benchmarks.inprocess $(BENCH_ARGS)

# instructions per command under callgrind (noise-free); compare with another checkout:
# make bench-instructions BENCH_ARGS='--baseline-dir ../base'
bench-instructions: $(STAMP)
	@command -v valgrind >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q valgrind; }
	$(PY) -m benchmarks.instructions $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check server crdt replication tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
