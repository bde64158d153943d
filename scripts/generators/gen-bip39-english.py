#!/usr/bin/env python3
"""Writes Sources/ElaCrypto/BIP39EnglishWords.swift from the BIP39 English list (one word per line)."""
import hashlib, sys
src, out = sys.argv[1], sys.argv[2]
raw = open(src, 'rb').read()
words = raw.decode('ascii').split('\n')
assert words[-1] == '' and len(words) == 2049, 'expected 2048 lines ending in a newline'
words = words[:-1]
assert all(w.isalpha() and w.islower() for w in words) and words == sorted(words)
digest = hashlib.sha256(raw).hexdigest()
lines = []
for i in range(0, 2048, 8):
    lines.append('        ' + ', '.join('"%s"' % w for w in words[i:i + 8]) + ',')
with open(out, 'w') as f:
    f.write('''// GENERATED FILE: do not edit. Source: shared/reference/bip39-english.txt (BIP39 English list,
// from Debian python3-mnemonic 0.19, MIT, trezor/python-mnemonic), SHA-256 of the file:
// %s
// Regenerate: python3 Scripts/gen-bip39-english.py bip39-english.txt Sources/ElaCrypto/BIP39EnglishWords.swift

extension Mnemonic {
    /// The 2048 BIP39 English words in list order (index = 11-bit word value).
    public static let englishWords: [String] = [
%s
    ]
}
''' % (digest, '\n'.join(lines)))
