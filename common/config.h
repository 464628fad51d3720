/*
 * config.h: bulwark.conf, parsed into one immutable struct config.
 * The master parses the file; each daemon receives the same text over its
 * control socket (as a sealed memfd) and parses it with the same code, so
 * there is one parser and no second wire format for settings.
 */
#ifndef BULWARK_CONFIG_H
#define BULWARK_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_FILE		(1024 * 1024)	/* bytes of configuration */
#define CONFIG_MAX_LINE		4096
#define CONFIG_MAX_LISTENERS	64
#define CONFIG_ERR_MAX		512

enum listener_kind {
	LISTEN_SMTP,		/* port 25: MX service */
	LISTEN_SUBMISSION,	/* port 587: STARTTLS + AUTH required */
	LISTEN_SUBMISSIONS,	/* port 465: implicit TLS (RFC 8314) */
};

struct cfg_listener {
	char			 host[64];	/* numeric address, no brackets */
	uint16_t		 port;
	enum listener_kind	 kind;
	int			 line;
};

struct cfg_network {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network byte order, masked */
	unsigned	prefix;
};

/* A certificate for the clients that ask for name with SNI. */
struct cfg_sni {
	char	*name;		/* lower-case; "*.example.com" is one label */
	char	*cert;
	char	*key;
	int	 line;
};

struct cfg_strlist {
	char	**v;
	size_t	  n;
};

enum delivery_format {
	DELIVERY_MAILDIR,
	DELIVERY_MBOX,
};

enum bare_lf_policy {
	BARE_LF_REJECT,		/* 550 5.5.2 for the whole message (default) */
	BARE_LF_NORMALIZE,	/* treat a bare LF as CRLF, a bare CR as data */
};

struct config {
	char			*path;		/* name used in messages */

	char			 hostname[256];
	struct cfg_strlist	 local_domains;
	struct cfg_strlist	 virtual_domains;
	struct cfg_listener	*listeners;
	size_t			 nlisteners;
	struct cfg_network	*trusted;
	size_t			 ntrusted;

	uint64_t		 message_size_limit;	/* bytes */
	unsigned		 recipient_limit;
	unsigned		 connection_limit;
	unsigned		 connection_limit_per_ip;
	unsigned		 command_timeout;	/* seconds */
	unsigned		 data_timeout;		/* seconds */
	unsigned		 smtpd_workers;		/* 0: one per core */
	unsigned		 error_limit;
	enum bare_lf_policy	 bare_lf;
	int			 vrfy_enabled;		/* 0: 252 to all */
	int			 expn_enabled;		/* 0: 502 */

	char			*spool_dir;
	char			*daemon_dir;		/* NULL: master's own dir */

	char			*tls_cert;
	int			 tls_cert_line;
	char			*tls_key;
	int			 tls_key_line;
	struct cfg_sni		*tls_sni;
	size_t			 ntls_sni;
	unsigned		 tls_min_version;	/* 12 or 13 */
	char			*tls_ciphers;		/* NULL: tls.c's */
	char			*tls_ciphersuites;	/* TLS 1.3; NULL */

	/* AUTH (RFC 4954) against credentials-table, checked by lookup */
	int			 auth_trusted_plaintext; /* without TLS */
	int			 auth_system_users; /* /etc/shadow too */
	unsigned		 auth_failure_delay;	/* seconds */
	unsigned		 auth_failure_limit;	/* per client, login */
	unsigned		 auth_failure_window;	/* seconds */
	int			 received_show_login;
	char			*sender_login_table;
	struct cfg_strlist	 trusted_users;	/* may use sendmail -f */

	char			*alias_table;		/* "hash:/path" or NULL */
	char			*virtual_table;
	char			*credentials_table;

	enum delivery_format	 delivery_format;
	char			*maildir;	/* relative to home, "Maildir" */
	char			*mbox_path;	/* "%u" is the user: /var/mail/%u */
	char			 recipient_delimiter;	/* '+' or 0 for none */
	int			 maildir_detail_folders; /* +detail: .detail */
	int			 allow_commands; /* |command in aliases */
	int			 allow_files;	/* /file in aliases */
	int			 forward_files;	/* obey ~/.forward */
	char			*virtual_user;	/* writes virtual Maildirs */

	struct cfg_strlist	 milters;	/* "unix:/path", "inet:host:port" */

	/* qmgr: seconds; 0 until the parser sets them: qmgr then uses its
	 * defaults (300, 3600, 5 days, 4 hours) */
	unsigned		 queue_retry_min;	/* queue-retry-min */
	unsigned		 queue_retry_max;	/* queue-retry-max */
	unsigned		 queue_lifetime;	/* queue-lifetime */
	unsigned		 delay_warning;		/* delay-warning */
};

/* Parse a configuration from a file name or from an open descriptor
 * (name is used in messages). On failure return NULL and leave
 * "file:line: message" in err. */
struct config	*config_load(const char *path, char *err, size_t errlen);
struct config	*config_load_fd(int fd, const char *name, char *err,
		    size_t errlen);
/* The raw text (malloc'd, at most CONFIG_MAX_FILE + 1 bytes, so that an
 * over-long file is refused by the parser), for whoever must pass the
 * same bytes on; NULL with err set on failure. */
char		*config_read_file(const char *path, size_t *len, char *err,
		    size_t errlen);
char		*config_read_fd(int fd, const char *name, size_t *len,
		    char *err, size_t errlen);
struct config	*config_parse(const char *text, size_t len, const char *name,
		    char *err, size_t errlen);
/* Check what the master can check before starting anything: the files
 * named by the configuration exist and have safe modes. */
int		 config_check_files(const struct config *, char *err,
		    size_t errlen);
void		 config_free(struct config *);

/* Helpers the daemons share. */
int		 config_is_local_domain(const struct config *, const char *);
/* Is SMTP AUTH possible at all (a credentials table or system users)? */
int		 config_auth_enabled(const struct config *);
int		 config_is_virtual_domain(const struct config *, const char *);
/* addr is a struct sockaddr_in or sockaddr_in6 */
int		 config_is_trusted(const struct config *, const void *sa);
const char	*config_listener_kind_name(enum listener_kind);
/* smtpd-workers, with 0 resolved to the number of cores (1 to 64) */
unsigned	 config_smtpd_workers(const struct config *);

#endif
