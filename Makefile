# pgmend: the commands the README gives. Each installs what is missing first.
SWIFT ?= swift
PREFIX ?= /usr/local

.PHONY: all deps build test demo demo-stop bench clean
.PHONY: install uninstall

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

## make install: a release build, then pgmend, its man page and its bash, zsh and fish
## completions under $(DESTDIR)$(PREFIX) (docs/install.md; PGMEND_BIN=path installs that binary).
install: deps
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" SWIFT="$(SWIFT)" scripts/install.sh install

## make uninstall: removes exactly the files make install wrote.
uninstall:
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" scripts/install.sh uninstall

clean:
	rm -rf .build .pgmend
