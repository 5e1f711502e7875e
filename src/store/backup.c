/*
 * backup.c - `creditd backup <file>`: SQLite's online backup API from the
 * database file into a new file. One sqlite3_backup_step(-1) copies every
 * page inside one read transaction, so the copy is one consistent
 * snapshot (the last commit before the step) while a server keeps writing:
 * in WAL mode the read blocks no writer.
 */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/migrations.h"
#include "store/store.h"

#define BUSY_WAIT_MS 10000

/* Creates dest, which must not exist, with mode 0600. */
static int create_dest(const char *dest, char *msg, size_t msgsz)
{
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) {
        snprintf(msg, msgsz, "%s: %s%s", dest, strerror(errno),
                 errno == EEXIST ? " (choose a new file name)" : "");
        return -1;
    }
    close(fd);
    return 0;
}

static int copy_pages(sqlite3 *src, sqlite3 *dst, char *msg, size_t msgsz)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc, waited = 0;

    if (!b) {
        snprintf(msg, msgsz, "backup: %s", sqlite3_errmsg(dst));
        return -1;
    }
    do {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            sqlite3_sleep(50);
            waited += 50;
        }
    } while ((rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
             waited < BUSY_WAIT_MS);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        snprintf(msg, msgsz, "backup: %s",
                 rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_OK
                     ? "the database stayed locked"
                     : sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

int cd_store_backup(const char *db, const char *dest, char *msg, size_t msgsz)
{
    sqlite3 *src = NULL, *dst = NULL;
    int rc = -1;

    if (access(db, R_OK) != 0) {
        snprintf(msg, msgsz, "%s: %s", db, strerror(errno));
        return -1;
    }
    if (sqlite3_open_v2(db, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(msg, msgsz, "%s: %s", db,
                 src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, BUSY_WAIT_MS);
    if (create_dest(dest, msg, msgsz) != 0)
        goto out;
    if (sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        snprintf(msg, msgsz, "%s: %s", dest,
                 dst ? sqlite3_errmsg(dst) : "out of memory");
        unlink(dest);
        goto out;
    }
    rc = copy_pages(src, dst, msg, msgsz);
    if (rc != 0)
        unlink(dest);
out:
    sqlite3_close(dst);
    sqlite3_close(src);
    return rc;
}

/* The highest migration recorded in the SQLite file db, -1 when it has
 * none (no schema_migrations table yet); -2 when it cannot be read. */
static int file_schema_version(const char *db, char *msg, size_t msgsz)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    int v = -2;

    if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(msg, msgsz, "%s: %s", db,
                 c ? sqlite3_errmsg(c) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(c, BUSY_WAIT_MS);
    if (sqlite3_prepare_v2(c,
                           "SELECT name FROM sqlite_master WHERE type = "
                           "'table' AND name = 'schema_migrations'",
                           -1, &st, NULL) != SQLITE_OK)
        goto failed;
    if (sqlite3_step(st) != SQLITE_ROW) {
        v = -1;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(c,
                           "SELECT COALESCE(MAX(version), -1) FROM "
                           "schema_migrations",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto failed;
    v = sqlite3_column_int(st, 0);
    goto out;
failed:
    snprintf(msg, msgsz, "%s: schema version: %s", db, sqlite3_errmsg(c));
out:
    sqlite3_finalize(st);
    sqlite3_close(c);
    return v;
}

int cd_store_backup_before_migrate(const char *db, char *written,
                                   size_t writtensz, char *msg, size_t msgsz)
{
    int latest = cd_migrations_count > 0
                     ? cd_migrations[cd_migrations_count - 1].version
                     : 0;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int v, n;

    written[0] = '\0';
    if (!db || cd_store_is_postgres(db) || strcmp(db, ":memory:") == 0 ||
        access(db, F_OK) != 0)
        return 0;
    if ((v = file_schema_version(db, msg, msgsz)) == -2)
        return -1;
    if (v < 0 || v >= latest)
        return 0;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    n = snprintf(written, writtensz, "%s.pre-v%d-%s.bak", db, latest, stamp);
    if (n < 0 || (size_t)n >= writtensz) {
        written[0] = '\0';
        snprintf(msg, msgsz, "the backup's file name is too long");
        return -1;
    }
    if (cd_store_backup(db, written, msg, msgsz) != 0) {
        written[0] = '\0';
        return -1;
    }
    return 0;
}
