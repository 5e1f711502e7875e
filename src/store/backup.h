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

#endif
