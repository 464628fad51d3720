/*
 * proto.c: names of the process kinds, for logs and process titles.
 */
#include "proto.h"

const char *
proc_kind_name(enum proc_kind k)
{
	static const char *const names[PROC_KIND_MAX] = {
		[PROC_MASTER] = "master",
		[PROC_SMTPD] = "smtpd",
		[PROC_QMGR] = "qmgr",
		[PROC_LOOKUP] = "lookup",
		[PROC_LOCAL] = "deliver-local",
	};

	if ((unsigned)k >= PROC_KIND_MAX)
		return "unknown";
	return names[k];
}
