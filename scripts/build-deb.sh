#!/usr/bin/env bash
# Builds ela-agent_<version>_<arch>.deb from a stripped release build (`make deb`).
#
# The Swift runtime is linked statically (--static-swift-stdlib), so the package ships no libswiftCore.so or
# libFoundationEssentials.so of its own and nothing from Foundation or ICU; dpkg-shlibdeps computes the Debian
# libraries it needs. Layout:
#   /usr/sbin/ela-agent, /usr/bin/elactl                 the daemon and the CLI
#   /usr/lib/ela-agent/{ela-sandbox,ela-plugin-*}         the launcher and the built-in plugins' programs
#   /usr/lib/ela-agent/plugins/<name>/plugin.toml         their manifests
#   /usr/share/ela-agent/boards/*.toml                    board descriptions
#   /etc/ela-agent/agent.toml                             the configuration (a conffile)
#   /lib/systemd/system/ela-agent.service                 the unit
#   man pages, bash completions, copyright, changelog, README
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${DEB_OUT:-$REPO/.build/deb}
SWIFT_FLAGS=(-c release --static-swift-stdlib -Xswiftc -warnings-as-errors)

say() { printf '==> %s\n' "$*"; }
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils)"
done

VERSION=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/ElaConfig/AgentVersion.swift)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+.][0-9A-Za-z.~+]*)?$ ]] || die "no version in Sources/ElaConfig/AgentVersion.swift"
CHANGELOG_VERSION=$(sed -n '1s/^ela-agent (\([^)]*\)).*/\1/p' Packaging/debian/changelog)
[ "$CHANGELOG_VERSION" = "$VERSION" ] ||
    die "Packaging/debian/changelog starts with $CHANGELOG_VERSION but the version is $VERSION: add a changelog entry"
ARCH=$(dpkg --print-architecture)

PROGRAMS=(ela-agent elactl ela-sandbox)
PLUGINS=()
for manifest in Plugins/*/plugin.toml; do
    name=$(basename "$(dirname "$manifest")")
    PLUGINS+=("$name")
    PROGRAMS+=("$(sed -n 's/^executable = "\(.*\)"/\1/p' "$manifest")")
done

if [ -z "${DEB_SKIP_BUILD:-}" ]; then
    for product in "${PROGRAMS[@]}"; do
        say "swift build ${SWIFT_FLAGS[*]} --product $product"
        swift build "${SWIFT_FLAGS[@]}" --product "$product"
    done
fi
BIN=$(swift build "${SWIFT_FLAGS[@]}" --show-bin-path)

ROOT=$OUT/root
rm -rf "$ROOT"
mkdir -p "$ROOT/DEBIAN"
install_bin() { install -D -m 0755 "$BIN/$1" "$ROOT/$2" && strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/$2"; }
install_bin ela-agent usr/sbin/ela-agent
install_bin elactl usr/bin/elactl
install_bin ela-sandbox usr/lib/ela-agent/ela-sandbox
for name in "${PLUGINS[@]}"; do
    exe=$(sed -n 's/^executable = "\(.*\)"/\1/p' "Plugins/$name/plugin.toml")
    install_bin "$exe" "usr/lib/ela-agent/$exe"
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

# Man pages and completions come from the programs' own argument parsers, so they cannot drift from the CLI.
say "man pages and bash completions"
MAN=$OUT/man
rm -rf "$MAN" && mkdir -p "$MAN"
python3 scripts/generate-manpage.py --section 1 --date "$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%d)" \
    --version "$VERSION" "$BIN/elactl" >"$MAN/elactl.1"
python3 scripts/generate-manpage.py --section 8 --version "$VERSION" "$BIN/ela-agent" >"$MAN/ela-agent.8"
install -D -m 0644 /dev/null "$ROOT/usr/share/man/man1/elactl.1.gz"
gzip -9n <"$MAN/elactl.1" >"$ROOT/usr/share/man/man1/elactl.1.gz"
install -D -m 0644 /dev/null "$ROOT/usr/share/man/man8/ela-agent.8.gz"
gzip -9n <"$MAN/ela-agent.8" >"$ROOT/usr/share/man/man8/ela-agent.8.gz"
install -d "$ROOT/usr/share/bash-completion/completions"
"$BIN/elactl" --generate-completion-script bash >"$ROOT/usr/share/bash-completion/completions/elactl"
"$BIN/ela-agent" --generate-completion-script bash >"$ROOT/usr/share/bash-completion/completions/ela-agent"
chmod 0644 "$ROOT"/usr/share/bash-completion/completions/*

# Runtime dependencies from the ELF files themselves.
say "dpkg-shlibdeps"
SHLIB=$OUT/shlibdeps
rm -rf "$SHLIB" && mkdir -p "$SHLIB/debian"
printf 'Source: ela-agent\n\nPackage: ela-agent\nArchitecture: any\n' >"$SHLIB/debian/control"
mapfile -t ELF < <(cd "$ROOT" && find usr -type f -perm -u+x -exec sh -c 'head -c4 "$1" | grep -q ELF' _ {} \; -print)
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
