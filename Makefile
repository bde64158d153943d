# Elastos Device Agent. `make run` and `make test` work on a fresh Debian 12 machine with Swift 6.1+.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# Swift toolchain location on the dev/CI image; harmless elsewhere.
export PATH := /opt/swift/usr/bin:$(PATH)

# Every system package the project needs, now and in later milestones (C libraries and test tools).
DEB_PACKAGES := pkg-config binutils libsqlite3-dev libsodium-dev libmosquitto-dev libgpiod-dev libtoxcore-dev \
                libseccomp-dev libqrencode-dev mosquitto mosquitto-clients toxcore-utils python3 openssl \
                dpkg-dev lintian debootstrap libcap2-bin systemd
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS := -Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error
STATE_DIR ?= $(CURDIR)/.state
BIN := $(CURDIR)/.build/debug

.PHONY: deps build test test-unit run bench size check-linkage deb test-deb test-board clean

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

## test: deps + build + every test + the no-Foundation linkage check + the package install test + the board in a box
test: test-unit test-deb test-board

## test-unit: every Swift test and the linkage check (no package)
test-unit: build
	@mkdir -p .build
	@set -o pipefail; swift test $(SWIFT_BUILD_FLAGS) 2>&1 | tee .build/test.log
	bash scripts/check-linkage.sh $(BIN)/ela $(BIN)/ela-agent $(BIN)/elactl $(BIN)/ela-plugin-gpio $(BIN)/ela-plugin-sensors $(BIN)/ela-plugin-mqtt $(BIN)/ela-carrier $(BIN)/ela-sandbox
	@# libtoxcore is GPL-3.0-or-later: only ela-carrier may link it (Packaging/LICENSES.md).
	@for b in ela ela-agent elactl ela-plugin-gpio ela-plugin-sensors ela-plugin-mqtt ela-sandbox; do \
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

## size: sizes of the shipped programs (from the package's staging tree) and of the package
size: deb
	@cd .build/deb/root && find usr -type f -perm -u+x | sort | xargs ls -l | awk '{printf "%-40s %6.1f MB\n", $$9, $$5/1048576}'
	@awk '/^Installed-Size:/ {printf "installed size: %.1f MB\n", $$2/1024}' .build/deb/root/DEBIAN/control

## deb: .build/deb/ela-agent_<version>_<arch>.deb (static Swift runtime, stripped, dependencies by dpkg-shlibdeps)
deb: deps
	bash scripts/build-deb.sh

## test-deb: install the package into a clean Debian 12 chroot, run it, purge it (needs root)
test-deb: deb
	$(SUDO) bash scripts/test-deb.sh

## test-board: the package in a qemu guest on real kernel GPIO (gpio-sim), checked through the gate (needs root;
## kernel and Debian root cached in $$ELA_CACHE_DIR, default ~/.cache/ela-agent). TEST_BOARD_ARGS="--stage-from DIR"
## runs it on a swift build instead of the package (development only).
test-board: $(if $(TEST_BOARD_ARGS),,deb)
	$(SUDO) bash scripts/test-board.sh $(TEST_BOARD_ARGS)

clean:
	swift package clean
	rm -rf .state
