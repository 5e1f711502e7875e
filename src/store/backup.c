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
#include <unistd.h>

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
        snprintf(msg, msgsz, "backup: %s", rc == SQLITE_BUSY ||
                 rc == SQLITE_LOCKED || rc == SQLITE_OK
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
