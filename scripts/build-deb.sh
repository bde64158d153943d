#!/usr/bin/env bash
# Builds ela-agent_<version>_<arch>.deb from a stripped release build (`make deb`).
#
# One multi-call program, `ela` (Sources/ela), holds the daemon, the CLI and the built-in plugins, with the Swift
# runtime linked statically (--static-swift-stdlib): the package ships no libswiftCore.so or
# libFoundationEssentials.so and nothing from Foundation or ICU, and the runtime, SwiftNIO and the crypto code are in
# it once. Optimized for size (-Osize), packed relative relocations, no exported symbols. dpkg-shlibdeps computes the
# Debian libraries it needs. The launcher is plain C, built with the distribution's hardening flags. Layout:
#   /usr/lib/ela-agent/ela                                the program
#   /usr/sbin/ela-agent, /usr/bin/elactl                  links to it: the daemon and the CLI
#   /usr/lib/ela-agent/ela-plugin-*                       links to it: the built-in plugins' programs
#   /usr/lib/ela-agent/ela-sandbox                        the sandbox launcher (C)
#   /usr/lib/ela-agent/plugins/<name>/plugin.toml         their manifests
#   /usr/share/ela-agent/boards/*.toml                    board descriptions
#   /etc/ela-agent/agent.toml                             the configuration (a conffile)
#   /lib/systemd/system/ela-agent.service                 the unit
#   man pages, bash completions, copyright, changelog, README
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${DEB_OUT:-$REPO/.build/deb}
HIDE_SYMBOLS=$REPO/Packaging/no-exports.map
SWIFT_FLAGS=(-c release --static-swift-stdlib -Xswiftc -warnings-as-errors -Xswiftc -Osize -Xswiftc -use-ld=lld
    -Xlinker -z -Xlinker pack-relative-relocs -Xlinker -z -Xlinker now -Xlinker --version-script="$HIDE_SYMBOLS")

say() { printf '==> %s\n' "$*"; }
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps strip gzip cc; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils)"
done

VERSION=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/ElaConfig/AgentVersion.swift)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+.][0-9A-Za-z.~+]*)?$ ]] || die "no version in Sources/ElaConfig/AgentVersion.swift"
CHANGELOG_VERSION=$(sed -n '1s/^ela-agent (\([^)]*\)).*/\1/p' Packaging/debian/changelog)
[ "$CHANGELOG_VERSION" = "$VERSION" ] ||
    die "Packaging/debian/changelog starts with $CHANGELOG_VERSION but the version is $VERSION: add a changelog entry"
ARCH=$(dpkg --print-architecture)

PLUGINS=()
for manifest in Plugins/*/plugin.toml; do PLUGINS+=("$(basename "$(dirname "$manifest")")"); done

# Plugins the multi-call program does not run are separate programs: ela-carrier, the only one linking libtoxcore
# (GPL-3.0-or-later), must stay one.
SEPARATE=(ela-carrier)
if [ -z "${DEB_SKIP_BUILD:-}" ]; then
    for product in ela "${SEPARATE[@]}"; do
        say "swift build ${SWIFT_FLAGS[*]} --product $product"
        swift build "${SWIFT_FLAGS[@]}" --product "$product"
    done
fi
BIN=$(swift build "${SWIFT_FLAGS[@]}" --show-bin-path)

# The Swift runtime is linked in, so the NEEDED check of check-linkage.sh cannot see Foundation; the symbols can.
if nm "$BIN/ela" | grep -q -E '\$s10Foundation|ucol_open|ubrk_open'; then
    die "$BIN/ela contains full Foundation or ICU (an 'import Foundation' somewhere?): not shippable"
fi

ROOT=$OUT/root
rm -rf "$ROOT"
mkdir -p "$ROOT/DEBIAN"
STRIP=(strip --strip-unneeded --remove-section=.comment --remove-section=.note)
install -D -m 0755 "$BIN/ela" "$ROOT/usr/lib/ela-agent/ela" && "${STRIP[@]}" "$ROOT/usr/lib/ela-agent/ela"
install -d "$ROOT/usr/sbin" "$ROOT/usr/bin"
ln -s ../lib/ela-agent/ela "$ROOT/usr/sbin/ela-agent"
ln -s ../lib/ela-agent/ela "$ROOT/usr/bin/elactl"
say "cc ela-sandbox (hardened)"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
# The flags dpkg-buildflags gives a Debian package (fortify, stack protector, full RELRO, PIE, bindnow).
cc $(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -std=gnu11 -Wall -Werror \
    -o "$ROOT/usr/lib/ela-agent/ela-sandbox" Sources/ela-sandbox/*.c $(dpkg-buildflags --get LDFLAGS) -lseccomp
chmod 0755 "$ROOT/usr/lib/ela-agent/ela-sandbox" && "${STRIP[@]}" "$ROOT/usr/lib/ela-agent/ela-sandbox"
RUNS_AS=$("$BIN/ela" 2>&1 || true)
for name in "${PLUGINS[@]}"; do
    exe=$(sed -n 's/^executable = "\(.*\)"/\1/p' "Plugins/$name/plugin.toml")
    if [[ " ${SEPARATE[*]} " == *" $exe "* ]]; then
        install -m 0755 "$BIN/$exe" "$ROOT/usr/lib/ela-agent/$exe" && "${STRIP[@]}" "$ROOT/usr/lib/ela-agent/$exe"
    elif grep -qw -- "$exe" <<<"$RUNS_AS"; then
        ln -s ela "$ROOT/usr/lib/ela-agent/$exe"
    else
        die "Plugins/$name: the multi-call program does not run $exe (add it to Sources/ela/main.swift or to SEPARATE)"
    fi
    install -D -m 0644 "Plugins/$name/plugin.toml" "$ROOT/usr/lib/ela-agent/plugins/$name/plugin.toml"
done
for board in Boards/*.toml; do install -D -m 0644 "$board" "$ROOT/usr/share/ela-agent/boards/$(basename "$board")"; done
install -D -m 0644 Packaging/agent.toml "$ROOT/etc/ela-agent/agent.toml"
install -D -m 0644 Packaging/ela-agent.service "$ROOT/lib/systemd/system/ela-agent.service"

DOC=$ROOT/usr/share/doc/ela-agent
install -D -m 0644 Packaging/debian/copyright "$DOC/copyright"
gzip -9n <Packaging/debian/changelog >"$DOC/changelog.gz"
install -m 0644 README.md "$DOC/README.md"
for f in docs/*.md; do install -m 0644 "$f" "$DOC/$(basename "$f")"; done
install -D -m 0644 Packaging/debian/lintian-overrides "$ROOT/usr/share/lintian/overrides/ela-agent"

bash scripts/check-linkage.sh "$ROOT/usr/lib/ela-agent/ela" "$ROOT/usr/lib/ela-agent/ela-sandbox" "${SEPARATE[@]/#/$ROOT/usr/lib/ela-agent/}"
# Only ela-carrier may link libtoxcore (its licence is the GPL's).
for f in "$ROOT"/usr/lib/ela-agent/ela "$ROOT"/usr/lib/ela-agent/ela-sandbox; do
    if readelf -d "$f" | grep -q 'libtoxcore'; then die "$f links libtoxcore: only ela-carrier may"; fi
done

# Man pages and completions come from the programs' own argument parsers, so they cannot drift from the CLI.
say "man pages and bash completions"
MAN=$OUT/man
rm -rf "$MAN" && mkdir -p "$MAN"
python3 scripts/generate-manpage.py --section 1 --date "$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%d)" \
    --version "$VERSION" "$ROOT/usr/bin/elactl" >"$MAN/elactl.1"
python3 scripts/generate-manpage.py --section 8 --version "$VERSION" "$ROOT/usr/sbin/ela-agent" >"$MAN/ela-agent.8"
install -D -m 0644 /dev/null "$ROOT/usr/share/man/man1/elactl.1.gz"
gzip -9n <"$MAN/elactl.1" >"$ROOT/usr/share/man/man1/elactl.1.gz"
install -D -m 0644 /dev/null "$ROOT/usr/share/man/man8/ela-agent.8.gz"
gzip -9n <"$MAN/ela-agent.8" >"$ROOT/usr/share/man/man8/ela-agent.8.gz"
install -d "$ROOT/usr/share/bash-completion/completions"
# bash sources completions; a #! line would only mislead (lintian: bash-completion-with-hashbang).
"$ROOT/usr/bin/elactl" --generate-completion-script bash | sed '1{/^#!/d}' >"$ROOT/usr/share/bash-completion/completions/elactl"
"$ROOT/usr/sbin/ela-agent" --generate-completion-script bash | sed '1{/^#!/d}' >"$ROOT/usr/share/bash-completion/completions/ela-agent"
chmod 0644 "$ROOT"/usr/share/bash-completion/completions/*

# Runtime dependencies from the ELF files themselves.
say "dpkg-shlibdeps"
SHLIB=$OUT/shlibdeps
rm -rf "$SHLIB" && mkdir -p "$SHLIB/debian"
printf 'Source: ela-agent\n\nPackage: ela-agent\nArchitecture: any\n' >"$SHLIB/debian/control"
ELF=(usr/lib/ela-agent/ela usr/lib/ela-agent/ela-sandbox "${SEPARATE[@]/#/usr/lib/ela-agent/}")
DEPENDS=$(cd "$SHLIB" && dpkg-shlibdeps -O "${ELF[@]/#/$ROOT/}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || die "dpkg-shlibdeps found no dependencies"

INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" -e "s/@DEPENDS@/$DEPENDS/" \
    Packaging/debian/control.in >"$ROOT/DEBIAN/control"
install -m 0644 Packaging/debian/conffiles "$ROOT/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "Packaging/debian/$script" "$ROOT/DEBIAN/$script"; done
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums"
# dpkg-deb takes modes from the tree: directories 0755, no group or world write anywhere.
find "$ROOT" -type d -exec chmod 0755 {} +

DEB=$OUT/ela-agent_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
say "$DEB: $(du -k "$DEB" | cut -f1) KiB, installed size $INSTALLED_SIZE KiB"
echo "$DEB" >"$OUT/latest"
