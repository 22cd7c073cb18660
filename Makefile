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
	@echo "make fuzz       long fuzz run (test/fuzz, >1M inputs, ~10 min); FUZZ_RUNS=n sets inputs per property"
	@echo "make soak       load/backpressure/2 GiB-frame soaks (numbers for the README)"
	@echo "make test-huge  frames over 2 GiB both ways against CPython 3.8+ (needs ~12 GiB of memory)"
	@echo "make pythons    provision CPython 3.14 and 3.15 (Debian builds) into ~/.cache/mpwire/cpython"
	@echo "make interop-docker  interop with the Python peer in Docker (own dockerd; root installs docker.io)"
	@echo "make lint       Biome lint (src, tests, examples) + type-check of examples/ against the built package"
	@echo "make docs       API reference from the TSDoc comments into docs/api (fails on an export without docs/@example)"
	@echo "make check-package  publint + arethetypeswrong + knip + the npm pack file-list test"
	@echo "make readme-matrix  rewrite README's interop tables from the last interop run (interop/.last-matrix.json, interop/.matrices/)"

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
	@bash scripts/numpy-peers.sh

test: build typecheck lint check-package check-docs pythons
	npx vitest run

# Lint: Biome (rules in biome.json), then examples/*.mjs type-checked against dist/ through the
# package's own `exports` (examples/tsconfig.json), so an API change cannot silently break them.
lint: build
	npx biome lint --error-on-warnings
	npx tsc -p examples/tsconfig.json

# Package correctness as a consumer sees it: publint (package.json vs files), arethetypeswrong on
# the packed tarball (every subpath export resolves with types under node16 and bundler, ESM-only
# profile), knip (unused files, exports, dependencies), and the `npm pack` file-list test.
check-package: build
	npx publint --strict
	npx attw --pack . --profile esm-only --format table-flipped
	npx knip
	npx vitest run --project unit test/package

# Every export of the five entry points has a summary and an @example; TypeDoc's validation passes.
# check-docs: every export needs a summary and an @example, every public member a doc comment.
check-docs: deps
	node scripts/check-docs.mjs

docs: deps
	node scripts/check-docs.mjs --emit

readme-matrix: deps
	node scripts/readme-matrix.mjs

test-unit: build
	npx vitest run --project unit

# The fuzzers of test/fuzz with a big budget: MPWIRE_FUZZ_RUNS inputs per property (times its
# weight), over 1M inputs in all; each file prints its inputs per target, summed up at the end.
FUZZ_RUNS ?= 50000
FUZZ_REPORT ?= $(or $(TMPDIR),/tmp)/mpwire-fuzz-report.jsonl
fuzz: deps
	@rm -f "$(FUZZ_REPORT)"
	MPWIRE_FUZZ_RUNS=$(FUZZ_RUNS) MPWIRE_FUZZ_REPORT="$(FUZZ_REPORT)" npx vitest run --project unit test/fuzz --testTimeout=3600000 --hookTimeout=600000
	@node -e 'const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l)); 	  let total = 0; for (const r of rows) { total += r.inputs; console.log(`$${r.file}/$${r.target}: $${r.inputs}`); } 	  console.log(`fuzz inputs in total: $${total}`);' "$(FUZZ_REPORT)"

interop: build pythons
	npx vitest run --project interop

demo: build
	node examples/manager-demo.mjs
	node examples/demo.mjs

bench: build
	node bench/wire.mjs
	node bench/pickle/bench.mjs
	node bench/pickle/floors.mjs
	node bench/managers/dict.mjs

interop-docker: build
	bash docker/interop.sh

soak: build
	node bench/soak/load.mjs
	node bench/soak/managers.mjs
	node bench/soak/backpressure.mjs
	node bench/soak/big-frame.mjs

test-huge: build
	MPWIRE_HUGE=1 npx vitest run --project interop interop/huge.test.ts

.PHONY: help deps build typecheck pythons test test-unit fuzz interop interop-docker demo bench soak test-huge lint check-package check-docs docs readme-matrix
