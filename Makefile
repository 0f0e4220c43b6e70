# pgmend: the commands the README gives. Each installs what is missing first.
SWIFT ?= swift

.PHONY: all deps build test demo demo-stop bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## make test: build, start a throwaway PostgreSQL (inside the test process), run every test.
test: deps
	@scripts/python-venv.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## make demo: throwaway PostgreSQL under .pgmend/, the drifted demo database, pgmend against it.
demo: deps
	@scripts/python-venv.sh
	$(SWIFT) build
	scripts/demo.sh

demo-stop:
	scripts/demo.sh stop

## make bench: benchmarks against a baseline measured in the same run (never part of make test).
bench: deps
	scripts/bench/run.sh

clean:
	rm -rf .build .pgmend
