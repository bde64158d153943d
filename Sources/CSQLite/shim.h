// CSQLite: the system libsqlite3 (Debian libsqlite3-dev), plus inline wrappers for what Swift cannot call
// directly: macro-only constants and variadic functions. Only ElaSQLite imports this module.
#ifndef ELA_CSQLITE_SHIM_H
#define ELA_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro ((sqlite3_destructor_type)-1): SQLite copies the bound bytes at once.
static inline sqlite3_destructor_type ela_sqlite3_transient(void) {
    return SQLITE_TRANSIENT;
}

// sqlite3_db_config is variadic. This covers the "int int*" options (DEFENSIVE, DQS_DML, DQS_DDL, ...).
static inline int ela_sqlite3_db_config_flag(sqlite3 *db, int op, int value, int *current) {
    return sqlite3_db_config(db, op, value, current);
}

#endif
