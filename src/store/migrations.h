/*
 * migrations.h - the numbered schema migrations compiled into the binary
 * (generated from src/store/migrations/[pg/]NNN_name.sql at build time).
 */
#ifndef CD_STORE_MIGRATIONS_H
#define CD_STORE_MIGRATIONS_H

struct cd_migration {
    int version;
    const char *name;
    const char *sql;
};

/* SQLite's (src/store/migrations/NNN_name.sql) */
extern const struct cd_migration cd_migrations[];
extern const int cd_migrations_count;
/* PostgreSQL's (src/store/migrations/pg/NNN_name.sql): the same versions
 * and names, in that dialect. */
extern const struct cd_migration cd_migrations_pg[];
extern const int cd_migrations_pg_count;

#endif
