/*
 * test_config.c: unit tests of the bulwark.conf parser (common/config.c):
 * defaults, every keyword's good and bad values, "name:line:" messages,
 * the file checks, and that the sample etc/bulwark.conf parses. The sample
 * is found through argv[1] or else $BULWARK_SAMPLE_CONF.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define NAME	"t.conf"
#define BASE	"hostname mail.example.org\n" \
		"local-domains example.org\n" \
		"listen *:25\n"

#define LONG_LABEL "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz" \
		"abcdefghijklmnopqrstuvwxyz"
#define LONG_PATH LONG_LABEL "/" LONG_LABEL

static const char	*sample_path;
static char		 err[CONFIG_ERR_MAX];

/* Parse text (a C string) as NAME; err holds the message on failure. */
static struct config *
parse(const char *text)
{
	err[0] = '\0';
	return config_parse(text, strlen(text), NAME, err, sizeof(err));
}

/* BASE plus one more line must parse; the caller frees. */
static struct config *
parse_ok(const char *line)
{
	char		 text[CONFIG_MAX_LINE * 2];
	struct config	*cf;

	snprintf(text, sizeof(text), "%s%s\n", BASE, line);
	cf = parse(text);
	if (cf == NULL)
		print_error("unexpected error: %s\n", err);
	assert_non_null(cf);
	return cf;
}

/* BASE plus more lines must fail with exactly this message after
 * "t.conf:LINENO: ". */
static void
parse_bad_n(const char *lines, int lineno, const char *msg)
{
	char		text[CONFIG_MAX_LINE * 2], want[CONFIG_ERR_MAX];
	struct config	*cf;

	snprintf(text, sizeof(text), "%s%s\n", BASE, lines);
	snprintf(want, sizeof(want), NAME ":%d: %s", lineno, msg);
	cf = parse(text);
	if (cf != NULL) {
		config_free(cf);
		fail_msg("\"%s\" was accepted", lines);
	}
	assert_string_equal(err, want);
}

/* BASE plus one more line (line 4) must fail with this message. */
static void
parse_bad(const char *line, const char *msg)
{
	parse_bad_n(line, 4, msg);
}

/* BASE plus one more line must fail at line 4, whatever the message. */
static void
parse_bad_at4(const char *line)
{
	char		text[CONFIG_MAX_LINE * 2];
	struct config	*cf;

	snprintf(text, sizeof(text), "%s%s\n", BASE, line);
	cf = parse(text);
	if (cf != NULL) {
		config_free(cf);
		fail_msg("\"%s\" was accepted", line);
	}
	if (strncmp(err, NAME ":4: ", strlen(NAME ":4: ")) != 0)
		fail_msg("\"%s\": unexpected message \"%s\"", line, err);
}

static void
test_defaults(void **state)
{
	struct config	*cf = parse(BASE);

	(void)state;
	assert_non_null(cf);
	assert_string_equal(cf->path, NAME);
	assert_string_equal(cf->hostname, "mail.example.org");
	assert_int_equal(cf->local_domains.n, 1);
	assert_string_equal(cf->local_domains.v[0], "example.org");
	assert_int_equal(cf->virtual_domains.n, 0);
	assert_int_equal(cf->nlisteners, 1);
	assert_string_equal(cf->listeners[0].host, "0.0.0.0");
	assert_int_equal(cf->listeners[0].port, 25);
	assert_int_equal(cf->listeners[0].kind, LISTEN_SMTP);
	assert_int_equal(cf->listeners[0].line, 3);
	assert_int_equal(cf->ntrusted, 2);
	assert_int_equal(cf->message_size_limit, 26214400);
	assert_int_equal(cf->recipient_limit, 1000);
	assert_int_equal(cf->connection_limit, 1000);
	assert_int_equal(cf->connection_limit_per_ip, 50);
	assert_int_equal(cf->error_limit, 20);
	assert_int_equal(cf->smtpd_workers, 0);
	assert_int_equal(cf->command_timeout, 300);
	assert_int_equal(cf->data_timeout, 180);
	assert_int_equal(cf->bare_lf, BARE_LF_REJECT);
	assert_int_equal(cf->vrfy_enabled, 0);
	assert_int_equal(cf->expn_enabled, 0);
	assert_string_equal(cf->spool_dir, "/var/spool/bulwark");
	assert_null(cf->daemon_dir);
	assert_null(cf->tls_cert);
	assert_null(cf->tls_key);
	assert_null(cf->alias_table);
	assert_null(cf->virtual_table);
	assert_null(cf->credentials_table);
	assert_int_equal(cf->delivery_format, DELIVERY_MAILDIR);
	assert_string_equal(cf->maildir, "Maildir");
	assert_string_equal(cf->mbox_path, "/var/mail/%u");
	assert_int_equal(cf->recipient_delimiter, '+');
	assert_int_equal(cf->milters.n, 0);
	assert_int_equal(cf->maildir_detail_folders, 0);
	assert_int_equal(cf->allow_commands, 1);
	assert_int_equal(cf->allow_files, 1);
	assert_null(cf->virtual_user);
	config_free(cf);
}

/* An empty file: hostname from the system, local-domains from it,
 * the default listener and trusted networks. */
static void
test_defaults_empty(void **state)
{
	struct config	*cf;
	char		 host[256];

	(void)state;
	memset(host, 0, sizeof(host));
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	cf = parse("# nothing\n\n   \t\n");
	if (cf == NULL) {
		/* Only acceptable if the system's name is not a domain. */
		assert_non_null(strstr(err, "set \"hostname\""));
		skip();
	}
	assert_string_equal(cf->hostname, host);
	assert_true(config_is_local_domain(cf, host));
	assert_true(config_is_local_domain(cf, "localhost"));
	assert_int_equal(cf->nlisteners, 1);
	assert_string_equal(cf->listeners[0].host, "127.0.0.1");
	assert_int_equal(cf->listeners[0].port, 25);
	assert_int_equal(cf->listeners[0].kind, LISTEN_SMTP);
	config_free(cf);
}

static void
test_default_local_domains(void **state)
{
	struct config	*cf = parse("hostname Mail.Example.ORG.\n");

	(void)state;
	assert_non_null(cf);
	assert_string_equal(cf->hostname, "Mail.Example.ORG");
	assert_int_equal(cf->local_domains.n, 2);
	assert_string_equal(cf->local_domains.v[0], "mail.example.org");
	assert_string_equal(cf->local_domains.v[1], "localhost");
	config_free(cf);

	cf = parse("hostname localhost\n");
	assert_non_null(cf);
	assert_int_equal(cf->local_domains.n, 1);
	config_free(cf);
}

static void
test_unknown_keyword(void **state)
{
	(void)state;
	parse_bad("lissten 127.0.0.1:25", "unknown keyword \"lissten\"");
	parse_bad("Hostname x", "unknown keyword \"Hostname\"");
	parse_bad("   \tfoo", "unknown keyword \"foo\"");
}

static void
test_duplicate_keyword(void **state)
{
	struct config	*cf;

	(void)state;
	parse_bad("hostname other.example.org",
	    "\"hostname\" already set on line 1");
	cf = parse("recipient-limit 5\n\n# x\nrecipient-limit 6\n");
	assert_null(cf);
	assert_string_equal(err, NAME ":4: \"recipient-limit\" already set "
	    "on line 1");
	/* Repeatable keywords append. */
	cf = parse_ok("local-domains example.net\nlocal-domains example.com");
	assert_int_equal(cf->local_domains.n, 3);
	config_free(cf);
}

static void
test_value_count(void **state)
{
	(void)state;
	parse_bad("recipient-limit", "\"recipient-limit\" needs one value");
	parse_bad("recipient-limit 1 2", "\"recipient-limit\" needs one value");
	parse_bad("virtual-domains", "\"virtual-domains\" needs at least one "
	    "value");
	parse_bad("listen", "\"listen\" needs one or two values");
	parse_bad("listen 127.0.0.1:26 smtp x",
	    "\"listen\" needs one or two values");
	parse_bad("milter", "\"milter\" needs one value");
}

static void
test_listen_ports(void **state)
{
	(void)state;
	parse_bad("listen 127.0.0.1:99999",
	    "bad port \"99999\" in \"127.0.0.1:99999\"");
	parse_bad("listen 127.0.0.1:0", "bad port \"0\" in \"127.0.0.1:0\"");
	parse_bad("listen 127.0.0.1:65536",
	    "bad port \"65536\" in \"127.0.0.1:65536\"");
	parse_bad("listen 127.0.0.1:smtp",
	    "bad port \"smtp\" in \"127.0.0.1:smtp\"");
	parse_bad("listen 127.0.0.1:", "bad port \"\" in \"127.0.0.1:\"");
	parse_bad("listen 127.0.0.1:-25",
	    "bad port \"-25\" in \"127.0.0.1:-25\"");
	parse_bad("listen 127.0.0.1:2 5", "unknown listener kind \"5\" (smtp, "
	    "submission or submissions)");
	parse_bad_at4("listen 127.0.0.1");
	parse_bad_at4("listen :25");
	parse_bad_at4("listen 127.0.0.1:25:25");
	parse_bad("listen 256.0.0.1:25",
	    "bad address \"256.0.0.1\" in \"256.0.0.1:25\"");
	parse_bad_at4("listen localhost:25");
	parse_bad_at4("listen 127.0.0.1:25 pop3");
}

static void
test_listen(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("listen [::1]:587 submission\n"
	    "listen [2001:DB8:0::1]:465 submissions\n"
	    "listen 127.0.0.1:65535 smtp\n"
	    "tls-certificate /c\ntls-key /k");
	assert_int_equal(cf->nlisteners, 4);
	assert_string_equal(cf->listeners[1].host, "::1");
	assert_int_equal(cf->listeners[1].port, 587);
	assert_int_equal(cf->listeners[1].kind, LISTEN_SUBMISSION);
	assert_int_equal(cf->listeners[1].line, 4);
	assert_string_equal(cf->listeners[2].host, "2001:db8::1");
	assert_int_equal(cf->listeners[2].kind, LISTEN_SUBMISSIONS);
	assert_int_equal(cf->listeners[3].port, 65535);
	config_free(cf);

	parse_bad_at4("listen ::1:25");
	parse_bad_at4("listen [::1]25");
	parse_bad_at4("listen [::1:25");
	parse_bad_at4("listen []:25");
	parse_bad("listen [127.0.0.1]:25",
	    "bad address \"127.0.0.1\" in \"[127.0.0.1]:25\"");
	parse_bad("listen [::1]:0", "bad port \"0\" in \"[::1]:0\"");
	parse_bad("listen 0.0.0.0:25",
	    "listener 0.0.0.0:25 already defined on line 3");
	parse_bad_n("listen [::1]:587\nlisten [0::1]:587", 5,
	    "listener [::1]:587 already defined on line 4");
}

static void
test_listen_limit(void **state)
{
	char		 text[64 * (CONFIG_MAX_LISTENERS + 2)];
	size_t		 n = 0;
	int		 i;
	struct config	*cf;

	(void)state;
	n += snprintf(text + n, sizeof(text) - n, "hostname a.example\n");
	for (i = 0; i < CONFIG_MAX_LISTENERS; i++)
		n += snprintf(text + n, sizeof(text) - n,
		    "listen 127.0.0.1:%d\n", 1000 + i);
	cf = parse(text);
	assert_non_null(cf);
	assert_int_equal(cf->nlisteners, CONFIG_MAX_LISTENERS);
	config_free(cf);
	snprintf(text + n, sizeof(text) - n, "listen 127.0.0.1:9999\n");
	assert_null(parse(text));
	assert_string_equal(err, NAME ":66: too many listeners (at most 64)");
}

static void
test_listener_kind_name(void **state)
{
	(void)state;
	assert_string_equal(config_listener_kind_name(LISTEN_SMTP), "smtp");
	assert_string_equal(config_listener_kind_name(LISTEN_SUBMISSION),
	    "submission");
	assert_string_equal(config_listener_kind_name(LISTEN_SUBMISSIONS),
	    "submissions");
}

static void
assert_net(const struct cfg_network *n, int family, const char *addr,
    unsigned prefix)
{
	char	buf[INET6_ADDRSTRLEN];

	assert_int_equal(n->family, family);
	assert_non_null(inet_ntop(family, n->addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(n->prefix, prefix);
}

static void
test_trusted_networks(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse(BASE);
	assert_non_null(cf);
	assert_net(&cf->trusted[0], AF_INET, "127.0.0.0", 8);
	assert_net(&cf->trusted[1], AF_INET6, "::1", 128);
	config_free(cf);

	cf = parse_ok("trusted-networks 10.1.2.3/8 192.168.1.77/27\n"
	    "trusted-networks 2001:db8:ffff::1/33 198.51.100.7 fe80::1");
	assert_int_equal(cf->ntrusted, 5);
	assert_net(&cf->trusted[0], AF_INET, "10.0.0.0", 8);
	assert_net(&cf->trusted[1], AF_INET, "192.168.1.64", 27);
	assert_net(&cf->trusted[2], AF_INET6, "2001:db8:8000::", 33);
	assert_net(&cf->trusted[3], AF_INET, "198.51.100.7", 32);
	assert_net(&cf->trusted[4], AF_INET6, "fe80::1", 128);
	config_free(cf);

	parse_bad("trusted-networks 10.0.0.0/33", "bad network "
	    "\"10.0.0.0/33\" (expected ADDR or ADDR/PREFIX)");
	parse_bad_at4("trusted-networks ::/129");
	parse_bad_at4("trusted-networks 10.0.0.0/");
	parse_bad_at4("trusted-networks 10.0.0.0/x");
	parse_bad_at4("trusted-networks 10.0.0.0/-1");
	parse_bad_at4("trusted-networks /8");
	parse_bad_at4("trusted-networks example.org");
	parse_bad_at4("trusted-networks 10.0.0/8");
	parse_bad_at4("trusted-networks 127.0.0.0/8 bogus");
	parse_bad("trusted-networks 0.0.0.0/0", "network \"0.0.0.0/0\" "
	    "matches every address and would make an open relay");
	parse_bad_at4("trusted-networks ::/0");
}

static int
trusted4(const struct config *cf, const char *a)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	return config_is_trusted(cf, &sin);
}

static int
trusted6(const struct config *cf, const char *a)
{
	struct sockaddr_in6	sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	return config_is_trusted(cf, &sin6);
}

static void
test_is_trusted(void **state)
{
	struct config		*cf;
	struct sockaddr		 other;

	(void)state;
	cf = parse_ok("trusted-networks 192.168.1.77/27 2001:db8::/32 "
	    "10.0.0.1");
	assert_true(trusted4(cf, "192.168.1.64"));
	assert_true(trusted4(cf, "192.168.1.95"));
	assert_false(trusted4(cf, "192.168.1.96"));
	assert_false(trusted4(cf, "192.168.1.63"));
	assert_true(trusted4(cf, "10.0.0.1"));
	assert_false(trusted4(cf, "10.0.0.2"));
	assert_false(trusted4(cf, "127.0.0.1"));
	assert_true(trusted6(cf, "2001:db8:1234::5"));
	assert_false(trusted6(cf, "2001:db9::1"));
	assert_false(trusted6(cf, "::1"));
	assert_true(trusted6(cf, "::ffff:192.168.1.70"));
	assert_true(trusted6(cf, "::ffff:10.0.0.1"));
	assert_false(trusted6(cf, "::ffff:192.168.1.96"));
	assert_false(trusted6(cf, "::ffff:10.0.0.2"));
	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;
	assert_false(config_is_trusted(cf, &other));
	config_free(cf);

	/* Defaults; a v4-mapped address matches IPv4 networks only as v4. */
	cf = parse(BASE);
	assert_non_null(cf);
	assert_true(trusted4(cf, "127.0.0.1"));
	assert_true(trusted4(cf, "127.255.0.9"));
	assert_false(trusted4(cf, "128.0.0.1"));
	assert_true(trusted6(cf, "::1"));
	assert_false(trusted6(cf, "::2"));
	assert_true(trusted6(cf, "::ffff:127.0.0.1"));
	assert_false(trusted6(cf, "::ffff:128.0.0.1"));
	assert_false(trusted6(cf, "::127.0.0.1"));
	config_free(cf);
}

static void
test_size(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("message-size-limit 10K");
	assert_int_equal(cf->message_size_limit, 10240);
	config_free(cf);
	cf = parse_ok("message-size-limit 2G");
	assert_int_equal(cf->message_size_limit, 2147483648ULL);
	config_free(cf);
	cf = parse_ok("message-size-limit 1");
	assert_int_equal(cf->message_size_limit, 1);
	config_free(cf);
	cf = parse_ok("message-size-limit 50M");
	assert_int_equal(cf->message_size_limit, 50 * 1024 * 1024);
	config_free(cf);

	parse_bad("message-size-limit 0", "\"message-size-limit\" must be "
	    "from 1 to 2G, not \"0\"");
	parse_bad("message-size-limit 3G", "\"message-size-limit\" must be "
	    "from 1 to 2G, not \"3G\"");
	parse_bad_at4("message-size-limit 2147483649");
	parse_bad_at4("message-size-limit 99999999999999999999999999G");
	parse_bad("message-size-limit 25X", "bad value \"25X\" for "
	    "\"message-size-limit\" (a number of bytes, optionally followed "
	    "by K, M or G)");
	parse_bad_at4("message-size-limit M");
	parse_bad_at4("message-size-limit -1");
	parse_bad_at4("message-size-limit 1.5M");
	parse_bad_at4("message-size-limit 10KB");
	parse_bad_at4("message-size-limit 0x10");
}

static void
test_counts(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("recipient-limit 100000\nconnection-limit 5\n"
	    "connection-limit-per-ip 2\nerror-limit 3\nsmtpd-workers 64");
	assert_int_equal(cf->recipient_limit, 100000);
	assert_int_equal(cf->connection_limit, 5);
	assert_int_equal(cf->connection_limit_per_ip, 2);
	assert_int_equal(cf->error_limit, 3);
	assert_int_equal(cf->smtpd_workers, 64);
	config_free(cf);
	cf = parse_ok("smtpd-workers 0\nrecipient-limit 1");
	assert_int_equal(cf->smtpd_workers, 0);
	assert_int_equal(cf->recipient_limit, 1);
	config_free(cf);

	parse_bad("recipient-limit 0", "\"recipient-limit\" must be from 1 "
	    "to 100000, not \"0\"");
	parse_bad_at4("recipient-limit 100001");
	parse_bad_at4("recipient-limit 99999999999999999999999");
	parse_bad("recipient-limit ten",
	    "bad number \"ten\" for \"recipient-limit\"");
	parse_bad_at4("recipient-limit -1");
	parse_bad_at4("recipient-limit +1");
	parse_bad_at4("recipient-limit 1k");
	parse_bad("smtpd-workers 65", "\"smtpd-workers\" must be from 0 to "
	    "64, not \"65\"");
	parse_bad_at4("connection-limit 0");
	parse_bad_at4("connection-limit-per-ip 0");
	parse_bad_at4("error-limit 0");
}

static void
test_durations(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("command-timeout 5m\ndata-timeout 1h");
	assert_int_equal(cf->command_timeout, 300);
	assert_int_equal(cf->data_timeout, 3600);
	config_free(cf);
	cf = parse_ok("command-timeout 7d\ndata-timeout 1");
	assert_int_equal(cf->command_timeout, 7 * 86400);
	assert_int_equal(cf->data_timeout, 1);
	config_free(cf);
	cf = parse_ok("command-timeout 90s");
	assert_int_equal(cf->command_timeout, 90);
	config_free(cf);

	parse_bad("command-timeout 8d", "\"command-timeout\" must be from 1s "
	    "to 7d, not \"8d\"");
	parse_bad_at4("command-timeout 0");
	parse_bad_at4("data-timeout 0s");
	parse_bad_at4("data-timeout 604801");
	parse_bad("data-timeout 1w", "bad value \"1w\" for \"data-timeout\" "
	    "(a number of seconds, optionally followed by s, m, h or d)");
	parse_bad_at4("data-timeout 5M");
	parse_bad_at4("data-timeout s");
	parse_bad_at4("data-timeout 1h30m");
}

static void
test_switches(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("vrfy on\nexpn on\nbare-linefeed normalize\n"
	    "delivery-format mbox");
	assert_int_equal(cf->vrfy_enabled, 1);
	assert_int_equal(cf->expn_enabled, 1);
	assert_int_equal(cf->bare_lf, BARE_LF_NORMALIZE);
	assert_int_equal(cf->delivery_format, DELIVERY_MBOX);
	config_free(cf);
	cf = parse_ok("vrfy off\nexpn off\nbare-linefeed reject\n"
	    "delivery-format maildir");
	assert_int_equal(cf->vrfy_enabled, 0);
	assert_int_equal(cf->bare_lf, BARE_LF_REJECT);
	assert_int_equal(cf->delivery_format, DELIVERY_MAILDIR);
	config_free(cf);

	parse_bad("vrfy yes", "bad value \"yes\" for \"vrfy\" (off or on)");
	parse_bad_at4("expn ON");
	parse_bad("bare-linefeed accept", "bad value \"accept\" for "
	    "\"bare-linefeed\" (reject or normalize)");
	parse_bad_at4("delivery-format mh");
}

static void
test_paths(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("spool-directory /srv/spool\n"
	    "daemon-directory /usr/lib/bulwark");
	assert_string_equal(cf->spool_dir, "/srv/spool");
	assert_string_equal(cf->daemon_dir, "/usr/lib/bulwark");
	config_free(cf);

	parse_bad("spool-directory spool", "\"spool-directory\" needs an "
	    "absolute path, not \"spool\"");
	parse_bad_at4("daemon-directory ./x");
	parse_bad_n("spool-directory /a\nspool-directory /b", 5,
	    "\"spool-directory\" already set on line 4");
}

static void
test_tls(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("tls-key /etc/k.pem\n# x\ntls-certificate /etc/c.pem");
	assert_string_equal(cf->tls_cert, "/etc/c.pem");
	assert_string_equal(cf->tls_key, "/etc/k.pem");
	assert_int_equal(cf->tls_cert_line, 6);
	assert_int_equal(cf->tls_key_line, 4);
	config_free(cf);

	parse_bad("tls-certificate /etc/c.pem", "\"tls-certificate\" is set "
	    "but \"tls-key\" is not");
	parse_bad("tls-key /etc/k.pem", "\"tls-key\" is set but "
	    "\"tls-certificate\" is not");
	parse_bad_at4("tls-key k.pem");
	parse_bad_at4("tls-certificate c.pem");
	parse_bad("listen 127.0.0.1:465 submissions", "a \"submissions\" "
	    "listener needs \"tls-certificate\" and \"tls-key\"");
}

static void
test_tls_auth(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("tls-certificate /c.pem\ntls-key /k.pem\n"
	    "tls-sni Mail.Example.ORG. /c2.pem /k2.pem\n"
	    "tls-sni *.example.net /c3.pem /k3.pem\n"
	    "tls-min-version TLSv1.3\ntls-ciphers ECDHE-RSA-AES128-GCM-SHA256\n"
	    "auth-trusted-plaintext on\nauth-failure-delay 3s\n"
	    "auth-failure-limit 7\nauth-failure-window 1m\n"
	    "received-show-login on\nsender-login-table hash:/etc/s\n"
	    "trusted-users root www-data\ntrusted-users list");
	assert_int_equal(cf->ntls_sni, 2);
	assert_string_equal(cf->tls_sni[0].name, "mail.example.org");
	assert_string_equal(cf->tls_sni[0].cert, "/c2.pem");
	assert_string_equal(cf->tls_sni[1].name, "*.example.net");
	assert_int_equal(cf->tls_sni[1].line, 7);
	assert_int_equal(cf->tls_min_version, 13);
	assert_string_equal(cf->tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
	assert_int_equal(cf->auth_trusted_plaintext, 1);
	assert_int_equal(cf->auth_failure_delay, 3);
	assert_int_equal(cf->auth_failure_limit, 7);
	assert_int_equal(cf->auth_failure_window, 60);
	assert_int_equal(cf->received_show_login, 1);
	assert_string_equal(cf->sender_login_table, "hash:/etc/s");
	assert_int_equal(cf->trusted_users.n, 3);
	assert_string_equal(cf->trusted_users.v[2], "list");
	config_free(cf);

	cf = parse_ok("");
	assert_int_equal(cf->tls_min_version, 12);
	assert_int_equal(cf->auth_failure_delay, 1);
	assert_int_equal(cf->auth_failure_limit, 5);
	assert_int_equal(cf->auth_failure_window, 300);
	assert_int_equal(cf->auth_trusted_plaintext, 0);
	assert_null(cf->tls_ciphers);
	config_free(cf);

	parse_bad("tls-sni bad_name /c /k", "bad name \"bad_name\" for "
	    "\"tls-sni\" (a host name or *.domain)");
	parse_bad("tls-sni a.example c k", "\"tls-sni\" needs absolute "
	    "paths for the certificate and the key");
	parse_bad_at4("tls-sni a.example /c");
	parse_bad("tls-sni a.example /c /k", "\"tls-sni\" needs a default "
	    "\"tls-certificate\" and \"tls-key\"");
	parse_bad("tls-min-version TLSv1.1", "bad value \"TLSv1.1\" for "
	    "\"tls-min-version\" (TLSv1.2 or TLSv1.3)");
	parse_bad_at4("tls-ciphers \"a b\"");
	parse_bad("auth-failure-limit 0", "\"auth-failure-limit\" must be "
	    "from 1 to 1000, not \"0\"");
	parse_bad_at4("auth-failure-delay 2m");
	parse_bad("trusted-users ok -bad", "bad user name \"-bad\" for "
	    "\"trusted-users\"");
	parse_bad("listen 127.0.0.1:587 submission", "a \"submission\" "
	    "listener needs \"tls-certificate\" and \"tls-key\"");
}

static void
test_tables(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("alias-table hash:/etc/aliases\n"
	    "virtual-table btree:/etc/virtual\n"
	    "credentials-table hash:/etc/bulwark/credentials");
	assert_string_equal(cf->alias_table, "hash:/etc/aliases");
	assert_string_equal(cf->virtual_table, "btree:/etc/virtual");
	assert_string_equal(cf->credentials_table,
	    "hash:/etc/bulwark/credentials");
	config_free(cf);

	parse_bad("alias-table dbm:/etc/aliases", "bad table "
	    "\"dbm:/etc/aliases\" for \"alias-table\" (expected hash:/path "
	    "or btree:/path)");
	parse_bad_at4("alias-table hash:aliases");
	parse_bad_at4("alias-table /etc/aliases");
	parse_bad_at4("alias-table hash:");
	parse_bad_at4("virtual-table hashx:/v");
	parse_bad_at4("credentials-table :/c");
}

static void
test_maildir_mbox(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("maildir Mail/..inbox..\nmbox-path /var/mail/%%/%u");
	assert_string_equal(cf->maildir, "Mail/..inbox..");
	assert_string_equal(cf->mbox_path, "/var/mail/%%/%u");
	config_free(cf);

	parse_bad("maildir /home/x/Maildir", "\"maildir\" needs a path "
	    "relative to the home directory without \"..\", not "
	    "\"/home/x/Maildir\"");
	parse_bad_at4("maildir ..");
	parse_bad_at4("maildir ../x");
	parse_bad_at4("maildir a/../b");
	parse_bad_at4("maildir a/..");
	parse_bad("mbox-path /var/mail/%d", "bad escape \"%d\" in "
	    "\"/var/mail/%d\" (only %u and %% are allowed)");
	parse_bad_at4("mbox-path /var/mail/%");
	parse_bad_at4("mbox-path var/mail/%u");
}

static void
test_delimiter(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("recipient-delimiter -");
	assert_int_equal(cf->recipient_delimiter, '-');
	config_free(cf);
	cf = parse_ok("recipient-delimiter none");
	assert_int_equal(cf->recipient_delimiter, 0);
	config_free(cf);

	parse_bad("recipient-delimiter ++", "bad value \"++\" for "
	    "\"recipient-delimiter\" (one of + - _ = or none)");
	parse_bad_at4("recipient-delimiter a");
	parse_bad_at4("recipient-delimiter .");
}

static void
test_local_delivery(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse_ok("maildir-detail-folders on\nallow-commands off\n"
	    "allow-files off\nvirtual-user vmail");
	assert_int_equal(cf->maildir_detail_folders, 1);
	assert_int_equal(cf->allow_commands, 0);
	assert_int_equal(cf->allow_files, 0);
	assert_string_equal(cf->virtual_user, "vmail");
	config_free(cf);
	cf = parse_ok("virtual-user _mail.box-1");
	assert_string_equal(cf->virtual_user, "_mail.box-1");
	assert_int_equal(cf->forward_files, 1);
	config_free(cf);
	cf = parse_ok("forward-files off");
	assert_int_equal(cf->forward_files, 0);
	config_free(cf);
	parse_bad_at4("forward-files");

	parse_bad("allow-commands yes", "bad value \"yes\" for "
	    "\"allow-commands\" (off or on)");
	parse_bad_at4("allow-files 1");
	parse_bad_at4("maildir-detail-folders");
	parse_bad("virtual-user root", "\"virtual-user\" may not be root");
	parse_bad("virtual-user a/b", "bad user name \"a/b\" for "
	    "\"virtual-user\"");
	parse_bad_at4("virtual-user -x");
	parse_bad_at4("virtual-user abcdefghijklmnopqrstuvwxyz0123456");
	parse_bad_n("virtual-user a\nvirtual-user b", 5,
	    "\"virtual-user\" already set on line 4");
}

static void
test_milters(void **state)
{
	struct config	*cf;
	char		 line[256];

	(void)state;
	cf = parse_ok("milter unix:/run/opendkim.sock\n"
	    "milter inet:127.0.0.1:8891\nmilter inet:filter.example.org:10\n"
	    "milter inet6:[::1]:8892");
	assert_int_equal(cf->milters.n, 4);
	assert_string_equal(cf->milters.v[0], "unix:/run/opendkim.sock");
	assert_string_equal(cf->milters.v[3], "inet6:[::1]:8892");
	config_free(cf);

	parse_bad("milter tcp:1.2.3.4:5", "bad milter \"tcp:1.2.3.4:5\" "
	    "(expected unix:/path, inet:HOST:PORT or inet6:[ADDR]:PORT)");
	parse_bad_at4("milter unix:relative.sock");
	/* sun_path holds 108 bytes with the NUL: 107 fit, 108 do not. */
	snprintf(line, sizeof(line), "milter unix:/%.106s", LONG_PATH);
	cf = parse_ok(line);
	config_free(cf);
	snprintf(line, sizeof(line), "milter unix:/%.107s", LONG_PATH);
	parse_bad_at4(line);
	parse_bad("milter inet:127.0.0.1:0",
	    "bad port \"0\" in \"inet:127.0.0.1:0\"");
	parse_bad_at4("milter inet:127.0.0.1");
	parse_bad_at4("milter inet::25");
	parse_bad_at4("milter inet:bad_host:25");
	parse_bad_at4("milter inet:[::1]:25");
	parse_bad_at4("milter inet6:::1:25");
	parse_bad_at4("milter inet6:[127.0.0.1]:25");
	parse_bad_at4("milter inet6:[::1]25");
	parse_bad("milter inet6:[::1]:x", "bad port \"x\" in "
	    "\"inet6:[::1]:x\"");
}

static void
test_domains(void **state)
{
	struct config	*cf;
	char		 line[400];

	(void)state;
	cf = parse_ok("local-domains Example.NET. LOCALHOST\n"
	    "virtual-domains Virtual.Example.com a-b.c0");
	assert_string_equal(cf->local_domains.v[1], "example.net");
	assert_string_equal(cf->virtual_domains.v[0], "virtual.example.com");
	assert_true(config_is_local_domain(cf, "example.net"));
	assert_true(config_is_local_domain(cf, "EXAMPLE.net."));
	assert_true(config_is_local_domain(cf, "localhost"));
	assert_false(config_is_local_domain(cf, "example.net.."));
	assert_false(config_is_local_domain(cf, "xexample.net"));
	assert_false(config_is_local_domain(cf, "example.ne"));
	assert_false(config_is_local_domain(cf, "virtual.example.com"));
	assert_false(config_is_local_domain(cf, ""));
	assert_false(config_is_local_domain(cf, NULL));
	assert_true(config_is_virtual_domain(cf, "VIRTUAL.example.com."));
	assert_false(config_is_virtual_domain(cf, "example.org"));
	config_free(cf);

	parse_bad("virtual-domains foo.example Example.ORG", "domain "
	    "\"example.org\" cannot be both local and virtual");
	parse_bad_n("virtual-domains v.example\nlocal-domains V.example", 5,
	    "domain \"v.example\" cannot be both local and virtual");
	parse_bad("local-domains example.net EXAMPLE.org.",
	    "domain \"example.org\" is listed twice");
	parse_bad("local-domains exa_mple.org",
	    "bad domain name \"exa_mple.org\"");
	parse_bad_at4("local-domains -example.org");
	parse_bad_at4("local-domains example-.org");
	parse_bad_at4("local-domains example..org");
	parse_bad_at4("local-domains .example.org");
	parse_bad_at4("local-domains example.org..");
	parse_bad_at4("local-domains 192.0.2.1");
	parse_bad_at4("local-domains [192.0.2.1]");
	parse_bad_at4("virtual-domains .");
	/* Labels of 63 characters are fine, of 64 not. */
	snprintf(line, sizeof(line), "local-domains %.63s.org", LONG_LABEL);
	cf = parse_ok(line);
	config_free(cf);
	snprintf(line, sizeof(line), "local-domains %.64s.org", LONG_LABEL);
	parse_bad_at4(line);
	/* Names of 253 characters are fine, of 254 not. */
	strlcpy(line, "local-domains ", sizeof(line));
	while (strlen(line) < strlen("local-domains ") + 250)
		strlcat(line, "abcdefghi.", sizeof(line));
	line[strlen("local-domains ") + 250] = '\0';
	strlcat(line, "a.bc", sizeof(line));		/* 254 */
	parse_bad_at4(line);
	line[strlen(line) - 2] = '\0';
	strlcat(line, "c", sizeof(line));		/* 253 */
	cf = parse_ok(line);
	config_free(cf);

	/* The default local domains (the hostname) against virtual ones. */
	cf = parse("hostname mail.example.org\n\nvirtual-domains a.example "
	    "mail.example.org\n");
	assert_null(cf);
	assert_string_equal(err, NAME ":3: virtual domain \"mail.example.org\" "
	    "is also a local domain by default; set \"local-domains\"");
}

static void
test_hostname(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse("hostname mx1\n");
	assert_non_null(cf);
	assert_string_equal(cf->hostname, "mx1");
	config_free(cf);
	cf = parse("hostname 1-2-3.example\n");
	assert_non_null(cf);
	config_free(cf);

	assert_null(parse("hostname mail_1.example.org\n"));
	assert_string_equal(err, NAME ":1: bad hostname \"mail_1.example.org\"");
	assert_null(parse("hostname 1.2.3.4\n"));
	assert_null(parse("hostname -mail.example.org\n"));
	assert_null(parse("hostname mail.example.org a\n"));
}

static void
test_comments_whitespace(void **state)
{
	struct config	*cf;

	(void)state;
	cf = parse("# comment\r\n\thostname\t\tmx.example.org  # trailing\r\n"
	    "listen 127.0.0.1:2525#no space needed\n   \n"
	    "# caf\xc3\xa9 in a comment is fine\n"
	    "recipient-limit 7");	/* no final newline */
	assert_non_null(cf);
	assert_string_equal(cf->hostname, "mx.example.org");
	assert_int_equal(cf->listeners[0].port, 2525);
	assert_int_equal(cf->recipient_limit, 7);
	config_free(cf);
}

static void
test_bad_bytes(void **state)
{
	static const char	nul[] = "hostname a.example\nrecipient-limit 1\0"
	    "0\n";
	struct config		*cf;

	(void)state;
	cf = config_parse(nul, sizeof(nul) - 1, NAME, err, sizeof(err));
	assert_null(cf);
	assert_string_equal(err, NAME ":2: NUL byte in line");
	/* A NUL in a comment is no better. */
	cf = config_parse("# a\0b\n", 6, NAME, err, sizeof(err));
	assert_null(cf);
	assert_string_equal(err, NAME ":1: NUL byte in line");

	parse_bad("recipient-limit 1\x01", "control character 0x01 in line");
	parse_bad("# bell \a", "control character 0x07 in line");
	parse_bad("recipient-limit 1\x7f", "control character 0x7f in line");
	parse_bad("hostname caf\xc3\xa9", "non-ASCII byte 0xc3 outside a "
	    "comment");
	parse_bad("recipient-limit 1\r2", "control character 0x0d in line");
	parse_bad("recipient-limit 1\f", "control character 0x0c in line");
	parse_bad("recipient-limit 1\v", "control character 0x0b in line");
}

static void
test_long_line(void **state)
{
	char		*text;
	struct config	*cf;
	size_t		 base = strlen(BASE);

	(void)state;
	text = calloc(1, base + CONFIG_MAX_LINE + 16);
	assert_non_null(text);
	memcpy(text, BASE, base);
	/* Exactly CONFIG_MAX_LINE bytes: fine (a comment). */
	text[base] = '#';
	memset(text + base + 1, 'x', CONFIG_MAX_LINE - 1);
	strlcat(text, "\r\n", base + CONFIG_MAX_LINE + 16);
	cf = parse(text);
	assert_non_null(cf);
	config_free(cf);
	/* One more: an error at that line. */
	text[base + CONFIG_MAX_LINE] = 'x';
	text[base + CONFIG_MAX_LINE + 1] = '\n';
	assert_null(parse(text));
	assert_string_equal(err, NAME ":4: line is longer than 4096 bytes");
	/* The longest line of values there can be. */
	memset(text + base, 0, CONFIG_MAX_LINE + 16);
	strlcat(text, "trusted-networks", base + CONFIG_MAX_LINE + 16);
	while (strlen(text) + 3 < base + CONFIG_MAX_LINE)
		strlcat(text, " ::1", base + CONFIG_MAX_LINE + 16);
	cf = parse(text);
	assert_non_null(cf);
	assert_true(cf->ntrusted > 1000);
	config_free(cf);
	free(text);
}

static void
test_large_file(void **state)
{
	char		*text;
	struct config	*cf;

	(void)state;
	text = malloc(CONFIG_MAX_FILE + 1);
	assert_non_null(text);
	memset(text, '\n', CONFIG_MAX_FILE + 1);
	memcpy(text, BASE, strlen(BASE));
	cf = config_parse(text, CONFIG_MAX_FILE, NAME, err, sizeof(err));
	assert_non_null(cf);
	config_free(cf);
	cf = config_parse(text, CONFIG_MAX_FILE + 1, NAME, err, sizeof(err));
	assert_null(cf);
	assert_string_equal(err, NAME ": larger than 1048576 bytes");
	free(text);
}

static void
test_small_err_buffer(void **state)
{
	char	small[12];

	(void)state;
	memset(small, 'z', sizeof(small));
	assert_null(config_parse("lissten x\n", 10, "bulwark.conf", small,
	    sizeof(small)));
	assert_string_equal(small, "bulwark.con");
	assert_null(config_parse("lissten x\n", 10, "b", small, 1));
	assert_null(config_parse("lissten x\n", 10, "b", NULL, 0));
}

/* A fresh directory under TMPDIR for file tests. */
static void
tempdir(char *dir, size_t len)
{
	const char	*tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/test_config.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_load(void **state)
{
	char		 dir[PATH_MAX], path[PATH_MAX + 32], want[PATH_MAX + 64];
	struct config	*cf;
	int		 fd;

	(void)state;
	tempdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/bulwark.conf", dir);

	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err, want);

	write_file(path, BASE "recipient-limit 9\n", 0644);
	cf = config_load(path, err, sizeof(err));
	assert_non_null(cf);
	assert_string_equal(cf->path, path);
	assert_int_equal(cf->recipient_limit, 9);
	config_free(cf);

	/* config_load_fd reads from offset 0 whatever the file offset. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(lseek(fd, 0, SEEK_END) > 0);
	cf = config_load_fd(fd, "memfd", err, sizeof(err));
	assert_non_null(cf);
	assert_string_equal(cf->path, "memfd");
	assert_int_equal(cf->recipient_limit, 9);
	config_free(cf);
	close(fd);

	write_file(path, BASE "lissten x\n", 0644);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: unknown keyword \"lissten\"",
	    path);
	assert_string_equal(err, want);

	/* Not a regular file. */
	assert_null(config_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);

	unlink(path);
	rmdir(dir);
}

static void
test_load_too_large(void **state)
{
	char		 dir[PATH_MAX], path[PATH_MAX + 32], want[PATH_MAX + 64];
	int		 fd;

	(void)state;
	tempdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * CONFIG_MAX_FILE), 0);
	close(fd);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
	assert_string_equal(err, want);
	unlink(path);
	rmdir(dir);
}

static void
test_check_files(void **state)
{
	char		 dir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16];
	char		 text[3 * PATH_MAX], want[2 * PATH_MAX];
	struct config	*cf;

	(void)state;
	tempdir(dir, sizeof(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(text, sizeof(text), BASE "tls-certificate %s\ntls-key %s\n",
	    cert, key);
	cf = parse(text);
	assert_non_null(cf);

	assert_int_equal(config_check_files(cf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), NAME ":4: tls-certificate \"%s\": %s",
	    cert, strerror(ENOENT));
	assert_string_equal(err, want);

	write_file(cert, "-----BEGIN CERTIFICATE-----\n", 0644);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), NAME ":5: tls-key \"%s\": %s", key,
	    strerror(ENOENT));
	assert_string_equal(err, want);

	write_file(key, "-----BEGIN PRIVATE KEY-----\n", 0644);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), NAME ":5: tls-key \"%s\" is accessible "
	    "by others (mode 0644); chmod 600 it", key);
	assert_string_equal(err, want);

	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "(mode 0640)"));

	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), 0);
	assert_int_equal(chmod(key, 0400), 0);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), 0);

	/* A directory is not a certificate. */
	unlink(cert);
	assert_int_equal(mkdir(cert, 0755), 0);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), NAME ":4: tls-certificate \"%s\" is not "
	    "a regular file", cert);
	assert_string_equal(err, want);
	rmdir(cert);
	config_free(cf);

	/* Without TLS there is nothing to check; tables are not checked. */
	cf = parse(BASE "alias-table hash:/nonexistent/aliases\n");
	assert_non_null(cf);
	assert_int_equal(config_check_files(cf, err, sizeof(err)), 0);
	config_free(cf);

	unlink(key);
	rmdir(dir);
}

/* The sample shows defaults and examples as "#keyword value" lines: with
 * the "#" taken away they must parse too. */
static void
sample_uncommented(void)
{
	FILE		*f;
	char		 line[CONFIG_MAX_LINE + 2], *text;
	size_t		 len = 0, n;
	struct config	*cf;

	assert_non_null(f = fopen(sample_path, "r"));
	assert_non_null(text = calloc(1, CONFIG_MAX_FILE + 1));
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz-");
		if (line[0] == '#' && n > 0 &&
		    (line[n + 1] == ' ' || line[n + 1] == '\t'))
			memmove(line, line + 1, strlen(line));
		len = strlcat(text, line, CONFIG_MAX_FILE + 1);
	}
	fclose(f);
	cf = config_parse(text, len, "uncommented", err, sizeof(err));
	if (cf == NULL)
		fail_msg("%s", err);
	assert_true(cf->milters.n > 0);
	assert_true(cf->virtual_domains.n > 0);
	config_free(cf);
	free(text);
}

static void
test_sample(void **state)
{
	struct config	*cf;
	const char	*kinds[] = { "smtp", "submission", "submissions" };
	size_t		 i;

	(void)state;
	if (sample_path == NULL) {
		print_message("no sample: pass its path as argv[1] or in "
		    "BULWARK_SAMPLE_CONF\n");
		skip();
	}
	cf = config_load(sample_path, err, sizeof(err));
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->nlisteners, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(cf->listeners[i].host, "127.0.0.1");
		assert_string_equal(config_listener_kind_name(
		    cf->listeners[i].kind), kinds[i]);
	}
	assert_int_equal(cf->listeners[0].port, 2525);
	assert_int_equal(cf->listeners[1].port, 5870);
	assert_int_equal(cf->listeners[2].port, 4650);
	assert_string_equal(cf->tls_cert, "/etc/bulwark/cert.pem");
	assert_string_equal(cf->tls_key, "/etc/bulwark/key.pem");
	assert_string_equal(cf->spool_dir, "/var/spool/bulwark");
	config_free(cf);
	sample_uncommented();
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_tls_auth),
		cmocka_unit_test(test_defaults_empty),
		cmocka_unit_test(test_default_local_domains),
		cmocka_unit_test(test_unknown_keyword),
		cmocka_unit_test(test_duplicate_keyword),
		cmocka_unit_test(test_value_count),
		cmocka_unit_test(test_listen_ports),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_limit),
		cmocka_unit_test(test_listener_kind_name),
		cmocka_unit_test(test_trusted_networks),
		cmocka_unit_test(test_is_trusted),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_maildir_mbox),
		cmocka_unit_test(test_delimiter),
		cmocka_unit_test(test_local_delivery),
		cmocka_unit_test(test_milters),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_comments_whitespace),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_too_large),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test(test_sample),
	};

	sample_path = argc > 1 ? argv[1] : getenv("BULWARK_SAMPLE_CONF");
	if (sample_path != NULL && sample_path[0] == '\0')
		sample_path = NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
