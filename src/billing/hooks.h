/*
 * hooks.h - wires the billing layers at start-up: the low layers call the
 * ones above them only through hook tables (ledger.h: struct
 * cd_ledger_hooks), so no file includes a file above its own layer
 * (docs/ARCHITECTURE.md "Layers within billing/"). Above every file it
 * wires; included by main.c and the tests only.
 */
#ifndef CD_BILLING_HOOKS_H
#define CD_BILLING_HOOKS_H

/* Sets every hook table (idempotent). Call once at start-up, before any
 * thread uses billing/: until then a ledger entry fails. */
void cd_billing_hooks_install(void);

#endif
