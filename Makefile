# mpwire — every target does its own setup (npm ci, build) on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json
SHARED_TOOLS ?= $(abspath ../shared/tools)

help:
	@echo "make demo       run the main demo (Node listener, Python clients of every version found)"
	@echo "make test       all tests: unit + cross-version interop against every CPython found"
	@echo "make interop    the interop suites only"
	@echo "make bench      benchmarks against CPython peers and raw sockets"
	@echo "make test-huge  frames over 2 GiB both ways against CPython 3.8+ (needs ~12 GiB of memory)"
	@echo "make pythons    provision CPython 3.14 and 3.15 (Debian builds) into ~/.cache/mpwire/cpython"
	@echo "make interop-docker  interop with the Python peer in Docker (own dockerd; root installs docker.io)"

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

deps: $(NPM_STAMP)

build: deps
	npx tsc -p tsconfig.build.json

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

# CPython 3.14/3.15 are provisioned by the shared test-environment tool when it is present and we
# are root; otherwise the suites run with the interpreters found and print the missing ones.
pythons:
	@if [[ -x "$(SHARED_TOOLS)/build-cpython.sh" && "$$(id -u)" == 0 ]]; then \
	  for v in 3.14 3.15; do bash "$(SHARED_TOOLS)/build-cpython.sh" $$v || echo "note: CPython $$v could not be provisioned"; done; \
	else echo "note: $(SHARED_TOOLS)/build-cpython.sh not usable here; 3.14/3.15 only if already installed"; fi

test: build typecheck pythons
	npx vitest run

test-unit: build
	npx vitest run --project unit

interop: build pythons
	npx vitest run --project interop

demo: build
	node examples/manager-demo.mjs
	node examples/demo.mjs

bench: build
	node bench/wire.mjs
	node bench/pickle/bench.mjs
	node bench/managers/dict.mjs

interop-docker: build
	bash docker/interop.sh

test-huge: build
	MPWIRE_HUGE=1 npx vitest run --project interop interop/huge.test.ts

.PHONY: help deps build typecheck pythons test test-unit interop interop-docker demo bench test-huge
