#!/usr/bin/env bash
# Board in a box (issue 8): the installed agent drives real kernel GPIO (gpio-sim) in a qemu guest, end to end
# through the gate. Stages: host packages, kernel (cached), Debian 12 root (cached), install the agent into a
# fresh copy of the root, boot, checks in the guest, verdict from qemu's exit status.
#
# Usage: scripts/test-board.sh [--deb FILE | --stage-from BIN_DIR]
#   --deb FILE          install this .deb into the root with apt (default: newest .build/deb/ela-agent_*.deb)
#   --stage-from DIR    no .deb: copy the same files from a `swift build` output directory (development stand-in)
# Environment: ELA_CACHE_DIR (default ~/.cache/ela-agent), ELA_BOARD_TIMEOUT (guest time limit, s, default 300),
#   DEBIAN_MIRROR (default: the mirror apt uses), ELA_BOARD_KEEP=1 keeps the run folder, ELA_BOARD_APPEND: extra
#   guest kernel parameters (the bad-case hooks of guest-init.sh: ela_board_hang, ela_board_forcefail).
# Recipe and measurements: docs/board-in-a-box.md, shared/reference/gpio-sim.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/scripts/board
CACHE=${ELA_CACHE_DIR:-$HOME/.cache/ela-agent}/board
TIMEOUT=${ELA_BOARD_TIMEOUT:-300}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
KERNEL_PKG=linux-source-6.1

T0=$(date +%s.%N)
STAGE_T=$T0
declare -a TIMINGS=()
log() { printf '==> %s\n' "$*"; }
die() { printf 'test-board: error: %s\n' "$*" >&2; exit 2; }
stage_done() { # stage_done NAME DETAIL: record how long the stage took
  local now; now=$(date +%s.%N)
  TIMINGS+=("$(printf '%-22s %7.1f s  %s' "$1" "$(echo "$now - $STAGE_T" | bc)" "$2")")
  printf '==> [%s] %.1f s %s\n' "$1" "$(echo "$now - $STAGE_T" | bc)" "$2"
  STAGE_T=$now
}
print_timings() {
  echo "---- stage timings ----"
  printf '%s\n' "${TIMINGS[@]}"
  printf '%-22s %7.1f s\n' "total" "$(echo "$(date +%s.%N) - $T0" | bc)"
}

DEB=""; STAGE_FROM=""
while [ $# -gt 0 ]; do
  case $1 in
    --deb) DEB=$2; shift 2 ;;
    --stage-from) STAGE_FROM=$2; shift 2 ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done

# ---- host packages -------------------------------------------------------------------------------------------
# tool:package pairs; a tool still missing after apt-get is reported with the package that provides it.
HOST_TOOLS="qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap make:build-essential gcc:build-essential
flex:flex bison:bison bc:bc cpio:cpio zstd:zstd sha256sum:coreutils chroot:coreutils timeout:coreutils"
HOST_PKGS="qemu-system-x86 debootstrap build-essential flex bison bc cpio zstd libelf-dev libssl-dev $KERNEL_PKG"

install_host_packages() {
  local missing="" p
  for p in $HOST_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "installing host packages:$missing"
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null; }; then
      echo "test-board: apt-get could not install:$missing" >&2
    fi
  fi
  local pair tool pkg bad=0
  for pair in $HOST_TOOLS; do
    tool=${pair%%:*}; pkg=${pair#*:}
    local path; path=$(command -v "$tool" || true)
    [ -f "$path" ] && [ -x "$path" ] || { echo "test-board: error: '$tool' not found: install the Debian package '$pkg' (apt-get install $pkg)" >&2; bad=1; }
  done
  [ -f /usr/include/libelf.h ] || { echo "test-board: error: libelf.h not found: install the Debian package 'libelf-dev'" >&2; bad=1; }
  [ -f /usr/include/openssl/ssl.h ] || { echo "test-board: error: openssl/ssl.h not found: install the Debian package 'libssl-dev'" >&2; bad=1; }
  ls /usr/src/linux-source-6.1.tar.* >/dev/null 2>&1 || { echo "test-board: error: /usr/src/linux-source-6.1.tar.xz not found: install the Debian package '$KERNEL_PKG'" >&2; bad=1; }
  [ $bad = 0 ] || exit 2
}

# ---- cache entries ---------------------------------------------------------------------------------------------
# An entry is a folder with its payload and, written last, `complete`: sha256 lines of every payload file. An
# entry without it (a build that was killed) or whose files no longer match it (a corrupt file) is deleted and
# rebuilt.
cache_valid() { # cache_valid DIR
  [ -f "$1/complete" ] && [ -s "$1/complete" ] && (cd "$1" && sha256sum --quiet --status -c complete)
}
cache_seal() { # cache_seal DIR FILE...: write the completion marker last
  local dir=$1; shift
  (cd "$dir" && sha256sum "$@" > complete.tmp && sync -f complete.tmp 2>/dev/null; mv complete.tmp complete)
}

# ---- kernel ---------------------------------------------------------------------------------------------------
kernel_key() {
  local ver; ver=$(dpkg-query -W -f='${Version}' "$KERNEL_PKG")
  { cat "$HERE/kernel.config"; echo "$KERNEL_PKG=$ver"; } | sha256sum | cut -c1-16
}

build_kernel() { # -> sets KERNEL (path of bzImage)
  local dir; dir=$CACHE/kernel-$(kernel_key)
  KERNEL=$dir/bzImage
  if cache_valid "$dir"; then stage_done kernel "cache hit ($dir)"; return; fi
  [ -d "$dir" ] && log "kernel cache entry $dir is partial or corrupt: rebuilding"
  rm -rf "$dir"; mkdir -p "$dir"
  local src=$dir/src; mkdir -p "$src"
  log "building the kernel in $dir (tinyconfig + scripts/board/kernel.config; a few minutes)"
  tar -C "$src" -xf /usr/src/linux-source-6.1.tar.xz
  local k=$src/linux-source-6.1
  (
    cd "$k"
    make -s tinyconfig
    ./scripts/kconfig/merge_config.sh -m .config "$HERE/kernel.config" >/dev/null
    make -s olddefconfig
    local l missing=""
    for l in $(grep -o '^CONFIG_[A-Z0-9_]*' "$HERE/kernel.config"); do grep -qx "$l=y" .config || missing="$missing $l"; done
    [ -z "$missing" ] || { echo "kernel config lacks:$missing" >&2; exit 1; }
    make -s -j"$(nproc)" bzImage
  ) > "$dir/build.log" 2>&1 || { tail -30 "$dir/build.log" >&2; die "kernel build failed (log: $dir/build.log)"; }
  cp "$k/arch/x86/boot/bzImage" "$dir/bzImage"
  cp "$k/.config" "$dir/config"
  rm -rf "$src"
  cache_seal "$dir" bzImage config
  stage_done kernel "built ($(stat -c %s "$dir/bzImage") B)"
}

# ---- Debian 12 root ---------------------------------------------------------------------------------------------
SUITE=bookworm
ARCH=$(dpkg --print-architecture)
MIRROR=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# gpiod: the guest's own view of the chips (gpiodetect, gpioset as a second holder); procps: pgrep. The agent's
# libraries are preinstalled so that installing the package is quick, but apt resolves them from the package anyway.
ROOT_PACKAGES="gpiod,libgpiod2,procps,adduser,libsqlite3-0,libsodium23,libmosquitto1,libtoxcore2,libseccomp2"

build_root() { # -> sets ROOT_TAR
  local key dir
  key=$(echo "$SUITE $ARCH $ROOT_PACKAGES $(debootstrap --version 2>/dev/null)" | sha256sum | cut -c1-16)
  dir=$CACHE/root-$key
  ROOT_TAR=$dir/root.tar.zst
  if cache_valid "$dir"; then stage_done root "cache hit ($dir)"; return; fi
  [ -d "$dir" ] && log "root cache entry $dir is partial or corrupt: rebuilding"
  rm -rf "$dir"; mkdir -p "$dir"
  log "debootstrap --variant=minbase $SUITE from $MIRROR"
  if ! debootstrap --variant=minbase --include="$ROOT_PACKAGES" "$SUITE" "$dir/tree" "$MIRROR" > "$dir/debootstrap.log" 2>&1; then
    tail -20 "$dir/debootstrap.log" >&2; die "debootstrap failed (log: $dir/debootstrap.log)"
  fi
  rm -f "$dir"/tree/var/cache/apt/archives/*.deb
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$dir/tree/etc/apt/sources.list"
  tar -C "$dir/tree" -cf - . | zstd -q -3 -T2 -o "$dir/root.tar.zst"
  rm -rf "$dir/tree"
  cache_seal "$dir" root.tar.zst
  stage_done root "debootstrap ($(du -m "$dir/root.tar.zst" | cut -f1) MB packed)"
}

# ---- the agent in a fresh copy of the root -----------------------------------------------------------------------
RUN=${ELA_BOARD_WORK:-$CACHE/run}
R=$RUN/root
MOUNTED=""
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
unmount_root() { local m; for m in $MOUNTED; do umount -l "$R/$m" 2>/dev/null || true; done; MOUNTED=""; }
cleanup() { unmount_root; [ "${ELA_BOARD_KEEP:-}" = 1 ] || rm -rf "$R"; }
trap cleanup EXIT

fresh_root() {
  rm -rf "$R"; mkdir -p "$R"
  zstd -q -d -c "$ROOT_TAR" | tar -C "$R" -xf -
}

install_deb() { # install_deb FILE: as a user would, with apt
  cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
  mount -t proc proc "$R/proc"; MOUNTED="proc"
  mount --rbind /dev "$R/dev" && mount --make-rslave "$R/dev"; MOUNTED="dev $MOUNTED"
  mkdir -p "$R/root/deb" && cp "$1" "$R/root/deb/"
  in_root apt-get update -qq > "$RUN/install.log" 2>&1 || { cat "$RUN/install.log" >&2; die "apt-get update failed in the root"; }
  in_root sh -c "cd /root/deb && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./$(basename "$1")" >> "$RUN/install.log" 2>&1 ||
    { tail -30 "$RUN/install.log" >&2; die "apt-get install ./$(basename "$1") failed in the root (log: $RUN/install.log)"; }
  grep -q '^Setting up ela-agent' "$RUN/install.log" || die "apt-get did not set up ela-agent (log: $RUN/install.log)"
  rm -rf "$R/root/deb"
  unmount_root
}

# Development stand-in for the .deb: the same files, from a `swift build` output folder, copied into the root.
# A non-static build needs its Swift runtime: copied to /usr/lib/ela-agent/lib and registered with ld.so.
stage_from_build() { # stage_from_build BIN_DIR
  local bin=$1 m name exe lib
  install -D -m 0755 "$bin/ela-agent" "$R/usr/sbin/ela-agent"
  install -D -m 0755 "$bin/elactl" "$R/usr/bin/elactl"
  install -D -m 0755 "$bin/ela-sandbox" "$R/usr/lib/ela-agent/ela-sandbox"
  for m in "$REPO"/Plugins/*/plugin.toml; do
    name=$(basename "$(dirname "$m")")
    exe=$(sed -n 's/^executable = "\(.*\)"/\1/p' "$m")
    [ -x "$bin/$exe" ] || { log "stand-in: $bin/$exe not built: plugin $name left out"; continue; }
    install -D -m 0755 "$bin/$exe" "$R/usr/lib/ela-agent/$exe"
    install -D -m 0644 "$m" "$R/usr/lib/ela-agent/plugins/$name/plugin.toml"
  done
  for m in "$REPO"/Boards/*.toml; do install -D -m 0644 "$m" "$R/usr/share/ela-agent/boards/$(basename "$m")"; done
  install -D -m 0644 "$REPO/Packaging/agent.toml" "$R/etc/ela-agent/agent.toml"
  # Not run (the guest has no systemd), but the guest starts the agent under its UMask and capabilities.
  install -D -m 0644 "$REPO/Packaging/ela-agent.service" "$R/lib/systemd/system/ela-agent.service"
  mkdir -p "$R/usr/lib/ela-agent/lib" "$R/var/lib/ela-agent"
  for lib in $(ldd "$bin/ela-agent" "$bin/elactl" "$bin/ela-plugin-gpio" | awk '/=> \/opt\/swift/ { print $3 }' | sort -u); do
    cp -L "$lib" "$R/usr/lib/ela-agent/lib/"
  done
  # What the package's postinst does: the group that owns the control socket.
  in_root sh -c 'getent group ela-agent >/dev/null || addgroup --quiet --system ela-agent'
  echo /usr/lib/ela-agent/lib > "$R/etc/ld.so.conf.d/ela-agent.conf"
  in_root ldconfig
  local missing; missing=$(for f in usr/sbin/ela-agent usr/bin/elactl usr/lib/ela-agent/ela-plugin-gpio; do in_root ldd "/$f" | grep 'not found' || true; done)
  [ -z "$missing" ] || die "stand-in: libraries missing in the root: $missing"
}

configure_guest() {
  # Configure the agent as its user would: the board in /etc/ela-agent/agent.toml.
  grep -q '^board = ' "$R/etc/ela-agent/agent.toml" || die "/etc/ela-agent/agent.toml has no 'board =' line"
  sed -i 's/^board = .*/board = "qemu-gpio-sim"/' "$R/etc/ela-agent/agent.toml"
  install -m 0755 "$HERE/guest-init.sh" "$R/sbin/ela-board-init"
  mkdir -p "$R/var/lib/ela-agent"
}

# ---- boot ----------------------------------------------------------------------------------------------------------
boot_guest() { # -> sets VERDICT; console in $LOGS/console.log
  local console=$LOGS/console.log rc=0
  log "booting the guest (TCG, limit ${TIMEOUT} s); console: $console"
  timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot -nic none \
    -kernel "$KERNEL" \
    -append "console=ttyS0 root=rootfs rw rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose init=/sbin/ela-board-init panic=-1 ela_epoch=$(date +%s) ${ELA_BOARD_APPEND:-}" \
    -fsdev "local,id=r,path=$R,security_model=passthrough" \
    -device virtio-9p-pci,fsdev=r,mount_tag=rootfs \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    < /dev/null > "$console" 2>&1 || rc=$?
  tr -d '\r' < "$console" > "$console.txt" && mv "$console.txt" "$console"
  grep -E '^(BOARD|    \|)' "$console" || true
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "---- console (last 60 lines) ----"; tail -60 "$console"
    VERDICT="FAIL: the guest did not finish within ${TIMEOUT} s (killed)"
  elif [ $rc = 1 ] && grep -q '^BOARD-RESULT: PASS' "$console"; then
    VERDICT="PASS"
  else
    grep -q '^BOARD-RESULT' "$console" || { echo "---- console (last 60 lines) ----"; tail -60 "$console"; }
    VERDICT="FAIL: qemu exit status $rc, $(grep '^BOARD-RESULT' "$console" || echo 'no result line')"
  fi
}

main() {
  LOGS=$REPO/.build/test-board
  mkdir -p "$LOGS"
  install_host_packages
  stage_done host-packages "apt"
  build_kernel
  build_root
  fresh_root
  if [ -n "$STAGE_FROM" ]; then
    stage_from_build "$STAGE_FROM"
    stage_done install "stand-in: staged from $STAGE_FROM"
  else
    [ -n "$DEB" ] || DEB=$(cat "$REPO/.build/deb/latest" 2>/dev/null || true)
    [ -n "$DEB" ] && [ -f "$DEB" ] || die "no package: run 'make deb' first, or pass --deb FILE or --stage-from BIN_DIR"
    install_deb "$DEB"
    stage_done install "apt-get install ./$(basename "$DEB")"
  fi
  configure_guest
  boot_guest
  stage_done guest "$(grep -c '^BOARD-CHECK: PASS' "$LOGS/console.log") checks passed, $(grep -c '^BOARD-CHECK: FAIL' "$LOGS/console.log") failed"
  grep '^BOARD-STAGE\|^BOARD-CHECK' "$LOGS/console.log" | sed 's/^/    /' > "$LOGS/checks.txt" || true
  print_timings
  echo "guest stages and checks:"; cat "$LOGS/checks.txt"
  echo "test-board: $VERDICT"
  [ "$VERDICT" = PASS ]
}

# Sourced (tests of the cache logic) or run.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main; exit $?; fi
