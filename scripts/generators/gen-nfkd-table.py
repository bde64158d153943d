#!/usr/bin/env python3
"""Writes Sources/ElaCrypto/NFKDTable.swift: the full NFKD decomposition of every scalar whose NFKD differs from
itself (Hangul syllables excluded: they decompose algorithmically). Data comes from ICU's `uconv -x Any-NFKD`
(ICU 72.1 = Unicode 15.0 on Debian 12) and is cross-checked against Python's unicodedata (Unicode 14.0)."""
import subprocess, sys, unicodedata
out = sys.argv[1]
skip = {0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029}  # line breaks: none has a decomposition
cps = [cp for cp in range(0x110000) if not (0xD800 <= cp <= 0xDFFF) and cp not in skip]
text = ''.join('%X\t%s\n' % (cp, chr(cp)) for cp in cps)
version = subprocess.run(['uconv', '--version'], capture_output=True, text=True).stdout.strip()
res = subprocess.run(['uconv', '-f', 'utf-8', '-t', 'utf-8', '-x', 'Any-NFKD'], input=text.encode('utf-8', 'surrogatepass'),
                     capture_output=True, check=True).stdout.decode('utf-8', 'surrogatepass')
entries = []
for line in res.split('\n')[:-1]:
    h, _, s = line.partition('\t')
    cp = int(h, 16)
    if 0xAC00 <= cp <= 0xD7A3 or s == chr(cp):
        continue
    if unicodedata.category(chr(cp)) != 'Cn':
        assert unicodedata.normalize('NFKD', chr(cp)) == s, hex(cp)
    entries.append((cp, [ord(c) for c in s]))
for cp in skip:
    assert unicodedata.normalize('NFKD', chr(cp)) == chr(cp)
rows = ['%X:%s' % (cp, ' '.join('%X' % d for d in ds)) for cp, ds in entries]
lines, cur = [], ''
for r in rows:
    if len(cur) + len(r) + 1 > 110:
        lines.append(cur); cur = ''
    cur += r + ';'
lines.append(cur)
with open(out, 'w') as f:
    f.write('''// GENERATED FILE: do not edit. %d entries: scalar -> its full NFKD decomposition (already recursively decomposed
// and canonically ordered), for every scalar assigned in Unicode 15.0 whose NFKD is not itself, except Hangul
// syllables (algorithmic). Source: %s (Unicode 15.0), cross-checked against Python unicodedata 14.0.
// Format: "HEX:HEX HEX;" repeated. Regenerate: python3 Scripts/gen-nfkd-table.py Sources/ElaCrypto/NFKDTable.swift

extension UnicodeNFKD {
    /// The Unicode version the table was built from; scalars assigned later are reported as unsupported.
    static let tableVersion = (major: 15, minor: 0)

    static let encodedTable: String = """
%s
        """
}
''' % (len(entries), version, '\n'.join('        ' + l for l in lines)))
print(len(entries), 'entries')
