/*
 * client.c: smtpd's requests to lookup and qmgr. Each request carries an
 * id; the answer finds its session by that id, so a session that ended
 * meanwhile simply drops the late answer.
 */
#include "smtpd.h"

const struct ipc_rule smtpd_qmgr_rules[] = {
	{ 0, 0, 0, 0 },
};

const struct ipc_rule smtpd_lookup_rules[] = {
	{ 0, 0, 0, 0 },
};

void
smtpd_qmgr_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
}

void
smtpd_lookup_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
}

void
smtpd_qmgr_gone(struct link *l)
{
}

void
smtpd_lookup_gone(struct link *l)
{
}
