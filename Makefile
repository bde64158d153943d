# Elastos Device Agent. `make run` and `make test` work on a fresh Debian 12 machine with Swift 6.1+.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# Swift toolchain location on the dev/CI image; harmless elsewhere.
export PATH := /opt/swift/usr/bin:$(PATH)

# Every system package the project needs, now and in later milestones (C libraries and test tools).
DEB_PACKAGES := pkg-config binutils libsqlite3-dev libsodium-dev libmosquitto-dev libgpiod-dev libtoxcore-dev \
                libseccomp-dev libqrencode-dev mosquitto mosquitto-clients toxcore-utils python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS := -Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error
STATE_DIR ?= $(CURDIR)/.state
BIN := $(CURDIR)/.build/debug

.PHONY: deps build test run bench release size check-linkage clean

## deps: install missing system packages with apt-get (idempotent, quiet when all are present)
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v swift >/dev/null || { echo "error: swift 6.1+ is not on PATH (https://swift.org/install)"; exit 1; }

## build: debug build of everything, warnings are errors
build: deps
	swift build $(SWIFT_BUILD_FLAGS)

## test: deps + build + every test + the no-Foundation linkage check
test: build
	@mkdir -p .build
	@set -o pipefail; swift test $(SWIFT_BUILD_FLAGS) 2>&1 | tee .build/test.log
	bash scripts/check-linkage.sh $(BIN)/ela-agent $(BIN)/elactl $(BIN)/ela-plugin-gpio $(BIN)/ela-plugin-sensors $(BIN)/ela-plugin-mqtt $(BIN)/ela-carrier $(BIN)/ela-sandbox
	@# libtoxcore is GPL-3.0-or-later: only ela-carrier may link it (Packaging/LICENSES.md).
	@for b in ela-agent elactl ela-plugin-gpio ela-plugin-sensors ela-plugin-mqtt ela-sandbox; do \
	  if ldd $(BIN)/$$b | grep -q libtoxcore; then echo "error: $$b links libtoxcore"; exit 1; fi; done; \
	  ldd $(BIN)/ela-carrier | grep -q libtoxcore && echo "check-linkage: ok   only ela-carrier links libtoxcore"
	@bash scripts/test-summary.sh .build/test.log

## run: the devnet: ela-regtest on loopback, the agent on the sim board syncing from it, its DID published (Ctrl-C stops all)
run: build
	@bash scripts/devnet.sh $(BIN) $(STATE_DIR)

## bench: throughput figures, each next to its baseline measured in the same run
bench: deps
	swift build -c release $(SWIFT_BUILD_FLAGS)
	.build/release/ela-bench

## release: stripped release binaries in .build/release-stripped
release: deps
	swift build -c release --product ela-agent $(SWIFT_BUILD_FLAGS)
	swift build -c release --product elactl $(SWIFT_BUILD_FLAGS)
	@mkdir -p .build/release-stripped
	strip -o .build/release-stripped/ela-agent .build/release/ela-agent
	strip -o .build/release-stripped/elactl .build/release/elactl
	bash scripts/check-linkage.sh .build/release-stripped/ela-agent .build/release-stripped/elactl

## size: release sizes of the shipped binaries
size: release
	@ls -l .build/release-stripped/ | awk 'NR>1 {printf "%-12s %6.1f MB\n", $$9, $$5/1048576}'

clean:
	swift package clean
	rm -rf .state
