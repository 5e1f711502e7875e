/*
 * backup.h - a consistent copy of the SQLite database while it is in use.
 */
#ifndef CD_STORE_BACKUP_H
#define CD_STORE_BACKUP_H

#include <stddef.h>

/* Copies the SQLite database db into dest (created, mode 0600; an
 * existing dest is refused) with the online backup API: one consistent
 * snapshot even while a server writes. 0, or -1 with msg set (and no
 * dest left behind). */
int cd_store_backup(const char *db, const char *dest, char *msg,
                    size_t msgsz);

/*
 * Before migrations are applied (creditd serve and migrate, with
 * CREDITD_BACKUP_BEFORE_MIGRATE): when the SQLite file db exists and its
 * schema is older than this binary's, copies it with cd_store_backup to
 * "<db>.pre-v<NN>-<UTC time>.bak" (NN: the version the binary brings) and
 * names the copy in written; otherwise (a new file, ":memory:", a
 * PostgreSQL URL, a schema already current or newer) writes nothing and
 * leaves written "". 0, or -1 with msg set.
 */
int cd_store_backup_before_migrate(const char *db, char *written,
                                   size_t writtensz, char *msg, size_t msgsz);

#endif
