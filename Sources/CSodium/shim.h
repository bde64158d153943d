// libsodium for Swift: the real header plus static inline wrappers for the macro
// constants Swift cannot import (macros built from other macros or expressions).
// Only ElaSodium imports this module.
#ifndef CSODIUM_SHIM_H
#define CSODIUM_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

// Argon2id (crypto_pwhash with ALG_ARGON2ID13).
static inline int csodium_pwhash_alg_argon2id13(void) { return crypto_pwhash_ALG_ARGON2ID13; }
static inline size_t csodium_pwhash_saltbytes(void) { return crypto_pwhash_argon2id_SALTBYTES; }
static inline size_t csodium_pwhash_bytes_min(void) { return crypto_pwhash_argon2id_BYTES_MIN; }
static inline size_t csodium_pwhash_bytes_max(void) { return crypto_pwhash_argon2id_BYTES_MAX; }
static inline size_t csodium_pwhash_passwd_max(void) { return crypto_pwhash_argon2id_PASSWD_MAX; }
static inline unsigned long long csodium_pwhash_opslimit_min(void) { return crypto_pwhash_argon2id_OPSLIMIT_MIN; }
static inline unsigned long long csodium_pwhash_opslimit_max(void) { return crypto_pwhash_argon2id_OPSLIMIT_MAX; }
static inline size_t csodium_pwhash_memlimit_min(void) { return crypto_pwhash_argon2id_MEMLIMIT_MIN; }
static inline size_t csodium_pwhash_memlimit_max(void) { return crypto_pwhash_argon2id_MEMLIMIT_MAX; }
static inline unsigned long long csodium_pwhash_opslimit_interactive(void) { return crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE; }
static inline size_t csodium_pwhash_memlimit_interactive(void) { return crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE; }
static inline unsigned long long csodium_pwhash_opslimit_moderate(void) { return crypto_pwhash_argon2id_OPSLIMIT_MODERATE; }
static inline size_t csodium_pwhash_memlimit_moderate(void) { return crypto_pwhash_argon2id_MEMLIMIT_MODERATE; }
static inline unsigned long long csodium_pwhash_opslimit_sensitive(void) { return crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE; }
static inline size_t csodium_pwhash_memlimit_sensitive(void) { return crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE; }

// XChaCha20-Poly1305 (IETF AEAD construction). Note: Swift imports size_t as Int, so
// SIZE_MAX-based values need UInt(bitPattern:) on the Swift side.
static inline size_t csodium_xchacha_keybytes(void) { return crypto_aead_xchacha20poly1305_ietf_KEYBYTES; }
static inline size_t csodium_xchacha_npubbytes(void) { return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES; }
static inline size_t csodium_xchacha_abytes(void) { return crypto_aead_xchacha20poly1305_ietf_ABYTES; }
static inline size_t csodium_xchacha_messagebytes_max(void) { return crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX; }

// BLAKE2b (crypto_generichash).
static inline size_t csodium_generichash_bytes_min(void) { return crypto_generichash_BYTES_MIN; }
static inline size_t csodium_generichash_bytes_max(void) { return crypto_generichash_BYTES_MAX; }
static inline size_t csodium_generichash_keybytes_min(void) { return crypto_generichash_KEYBYTES_MIN; }
static inline size_t csodium_generichash_keybytes_max(void) { return crypto_generichash_KEYBYTES_MAX; }

#endif
