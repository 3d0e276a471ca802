# The two commands that work on a fresh machine (Debian 12 + Swift 6):
#   make run   installs what is missing, builds, starts the sample stack with one fault
#              (SCENARIO=backend-down by default), runs preflight against it, stops the stack
#   make test  installs what is missing, builds, runs every test against real PostgreSQL and HTTP servers
# and, to install it:
#   make install PREFIX=/usr/local   the static release binary (no RPATH), shell completions and the man page
#   make deb                         dist/preflight_<version>_<arch>.deb (dpkg-deb), checked by lintian
#   make dist                        the .deb, a tarball for other systems and dist/SHA256SUMS
SHELL := /bin/bash
SCENARIO ?= backend-down
PREFIX ?= /usr/local

.PHONY: deps build run test install deb dist
deps:
	@scripts/install-deps.sh

build: deps
	swift build

run: build
	@scripts/run-sample.sh "$(SCENARIO)"

test: deps
	@scripts/test.sh

install: deps
	@scripts/install.sh "$(PREFIX)"

deb: deps
	@scripts/deb.sh

dist: deps
	@scripts/dist.sh
