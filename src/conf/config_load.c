/*
 * Load the INI config file with libinih into struct config: every key goes
 * through config_set() (src/core/config.c); this file adds what needs the
 * file system (the file itself, *_file secrets, the zoneinfo file) and
 * turns problems into "file:line: section.key: why" lines.
 *
 * Debian's libinih is built with a 200-byte line buffer and without line
 * numbers in the handler, so we feed it through our own reader: it counts
 * lines, hands a long value line to inih as continuation lines cut at
 * spaces (the handler joins them with one space, giving the text back
 * exactly: a long Russian template needs no hand-made line breaks),
 * reports the rest of the over-long lines instead of letting inih split
 * them, and records section headers (an empty [smpp] still enables the
 * channel).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define LOAD_FILE_MAX (1024 * 1024)
#define LOAD_KEYS_MAX 128
#define LOAD_NAME_MAX 64

struct load_seen {
	char section[LOAD_NAME_MAX];
	char key[LOAD_NAME_MAX]; /* "" for the section header */
	unsigned line;
	bool bad; /* its value was refused: reported already */
};

struct load_ctx {
	struct config *cfg;
	const char *name; /* file name in messages */
	const char *next; /* reader position in the text */
	unsigned line; /* current line, 1-based */
	bool cont; /* it starts with blank: a continuation */
	const char *rest; /* of a long line cut at a space: the next piece */
	size_t rest_len;
	bool tz_bad; /* the zone did not load: reported already */
	char *err;
	size_t errlen, errused;
	int nerr;
	struct load_seen seen[LOAD_KEYS_MAX];
	size_t nseen;
	char value[TPL_MAX * 2 + 2]; /* joined continuation lines */
};

static void load_error(struct load_ctx *c, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append one "file:line: ..." line to the error buffer. */
static void
load_error(struct load_ctx *c, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->nerr++;
	if (c->errused >= c->errlen)
		return;
	if (line > 0)
		n = snprintf(c->err + c->errused, c->errlen - c->errused,
		    "%s%s:%u: %s", c->errused ? "\n" : "", c->name, line, msg);
	else
		n = snprintf(c->err + c->errused, c->errlen - c->errused,
		    "%s%s: %s", c->errused ? "\n" : "", c->name, msg);
	c->errused = n < 0 ? c->errlen : c->errused + (size_t)n;
}

static struct load_seen *
load_find(struct load_ctx *c, const char *section, const char *key)
{
	for (size_t i = 0; i < c->nseen; i++) {
		if (strcmp(c->seen[i].section, section) == 0 &&
		    strcmp(c->seen[i].key, key) == 0)
			return &c->seen[i];
	}
	return NULL;
}

static void
load_remember(struct load_ctx *c, const char *section, const char *key)
{
	struct load_seen *s;

	if (c->nseen == LOAD_KEYS_MAX || strlen(section) >= LOAD_NAME_MAX ||
	    strlen(key) >= LOAD_NAME_MAX)
		return;
	s = &c->seen[c->nseen++];
	strlcpy_s(s->section, section, sizeof(s->section));
	strlcpy_s(s->key, key, sizeof(s->key));
	s->line = c->line;
}

/* The line of a key, else of its section, else 0 (a default). */
static unsigned
load_line_of(struct load_ctx *c, const char *section, const char *key)
{
	struct load_seen *s = load_find(c, section, key);

	if (s == NULL)
		s = load_find(c, section, "");
	return s != NULL ? s->line : 0;
}

/* A "[name]" header line: remember it and mark the section present. */
static void
load_header(struct load_ctx *c, const char *p, size_t len)
{
	char name[LOAD_NAME_MAX], why[256];
	size_t n = strcspn(p + 1, "]");

	if (n >= sizeof(name) || n + 1 >= len)
		return; /* inih reports the malformed header */
	memcpy(name, p + 1, n);
	name[n] = '\0';
	if (config_section(c->cfg, name, why, sizeof(why)) != 0)
		load_error(c, c->line, "[%s]: %s", name, why);
	else if (load_find(c, name, "") != NULL)
		load_error(c, c->line, "[%s]: section appears twice", name);
	else
		load_remember(c, name, "");
}

/* A long line we may cut: a key = value or a continuation, not a section
   header or a comment. */
static bool
load_splittable(const char *line, size_t len)
{
	size_t blank = strspn(line, " \t");

	if (blank >= len || strchr("[;#", line[blank]))
		return false;
	return blank > 0 || memchr(line, '=', len) != NULL;
}

/* Classify the line inih is about to see. */
static void
load_scan(struct load_ctx *c, const char *line, size_t len)
{
	size_t blank = strspn(line, " \t");
	char first = blank < len ? line[blank] : '\n';

	c->cont = blank > 0 && !strchr("\r\n;#", first);
	if (blank == 0 && first == '[')
		load_header(c, line, len);
}

/* Where the value of a line begins: past "key =" and its blanks. */
static size_t
load_value_at(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t from = strspn(s, " \t");

	if (from == 0 && eq != NULL)
		from = (size_t)(eq - s) + 1 + strspn(eq + 1, " \t");
	return from;
}

/*
 * Where to cut a line of len bytes so its first piece fits in max: past
 * from, at a single space between two non-blanks (dropped, and put back by
 * the one-space join), as late as possible. 0 when there is none.
 */
static size_t
load_cut(const char *s, size_t len, size_t from, size_t max)
{
	for (size_t i = max < len ? max : len - 1; i > from; i--)
		if (s[i] == ' ' && s[i - 1] != ' ' && s[i - 1] != '\t' &&
		    i + 1 < len && s[i + 1] != ' ' && s[i + 1] != '\t')
			return i;
	return 0;
}

/*
 * The value line of len bytes without its inline comment (a ';' after a
 * blank, inside the value) and the blanks before it. inih drops such a
 * comment from a short "key = value" line only, not from a continuation
 * line nor from the pieces of a cut one: without this, a long value kept
 * its comment as text that a dump wrote back on one short line, and that
 * loaded without it (fuzz_config, regress/config/long_line_comment).
 */
static size_t
load_uncomment(const char *s, size_t len)
{
	size_t from = load_value_at(s, len);

	for (size_t i = from + 1; i < len; i++) {
		if (s[i] == ';' && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
			while (
			    i > from && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				i--;
			return i;
		}
	}
	return len;
}

/* Hand inih the next piece of a cut line, as an indented continuation. */
static char *
load_piece(struct load_ctx *c, char *str, size_t num)
{
	size_t n = c->rest_len, cut = 0;

	if (n + 2 >= num && (cut = load_cut(c->rest, n, 0, num - 3)) == 0) {
		load_error(c, c->line,
		    "line longer than %zu bytes with no space to break it at",
		    num - 2);
		cut = n = 0;
	}
	if (cut != 0)
		n = cut;
	str[0] = ' ';
	memcpy(str + 1, c->rest, n);
	str[n + 1] = '\n';
	str[n + 2] = '\0';
	c->cont = true;
	if (cut != 0) {
		c->rest += cut + 1;
		c->rest_len -= cut + 1;
	} else {
		c->rest = NULL;
	}
	return str;
}

/* inih's reader: one line per call, long value lines cut at spaces (see
   the top comment). */
static char *
load_reader(char *str, int num, void *stream)
{
	struct load_ctx *c = stream;
	size_t len, vlen, cut;

	if (c->rest != NULL)
		return load_piece(c, str, (size_t)num);
	if (*c->next == '\0')
		return NULL;
	len = strcspn(c->next, "\n");
	c->line++;
	load_scan(c, c->next, len);
	/* CRLF files: the CR is no part of the value */
	vlen = len > 0 && c->next[len - 1] == '\r' ? len - 1 : len;
	if (load_splittable(c->next, vlen))
		vlen = load_uncomment(c->next, vlen);
	if (vlen + 1 >= (size_t)num && load_splittable(c->next, vlen) &&
	    (cut = load_cut(c->next, vlen, load_value_at(c->next, vlen),
	         (size_t)num - 2)) != 0) {
		memcpy(str, c->next, cut);
		str[cut] = '\n';
		str[cut + 1] = '\0';
		c->rest = c->next + cut + 1;
		c->rest_len = vlen - cut - 1;
		c->next += len + (c->next[len] == '\n');
		return str;
	}
	if (vlen + 1 >= (size_t)num) {
		/* a long comment is harmless: drop it quietly */
		if (!strchr(";#", c->next[strspn(c->next, " \t")]))
			load_error(c, c->line,
			    "line longer than %d bytes (continue a long value on the next line, indented)",
			    num - 2);
		strlcpy_s(str, "\n", (size_t)num);
	} else {
		memcpy(str, c->next, vlen);
		str[vlen] = '\n';
		str[vlen + 1] = '\0';
	}
	c->next += len + (c->next[len] == '\n');
	return str;
}

/*
 * Join an indented continuation line to the previous value of the same
 * key (with one space), so long templates can span lines. Returns the
 * value to set, or NULL when the first occurrence of the key is a repeat.
 */
static const char *
load_value(
    struct load_ctx *c, const char *section, const char *key, const char *value)
{
	struct load_seen *s = load_find(c, section, key);
	size_t used = strlen(c->value);

	if (c->cont && s != NULL) {
		if (used + 1 + strlen(value) >= sizeof(c->value)) {
			load_error(c, c->line,
			    "%s.%s: value longer than %zu bytes", section, key,
			    sizeof(c->value) - 1);
			return NULL;
		}
		/* "key =" then the value indented below: no leading space,
		   which the dump could not write back (fuzz_config) */
		snprintf(c->value + used, sizeof(c->value) - used, "%s%s",
		    used > 0 ? " " : "", value);
		return c->value;
	}
	if (s != NULL) {
		load_error(c, c->line, "%s.%s: set twice (first at line %u)",
		    section, key, s->line);
		return NULL;
	}
	load_remember(c, section, key);
	strlcpy_s(c->value, value, sizeof(c->value));
	return c->value;
}

/*
 * A value is UTF-8 text without control characters (a tab is allowed):
 * a file saved in another encoding, or a stray control octet, is reported
 * here rather than sent to customers or libpq, and config_dump can write
 * every accepted value back as it was read. 0, or -1 with why.
 */
static int
load_text_ok(const char *value, char *why, size_t whylen)
{
	size_t len = strlen(value);

	for (size_t i = 0; i < len;) {
		int32_t cp;
		size_t n = log_utf8_next(value + i, len - i, &cp);

		if (cp < 0) {
			snprintf(why, whylen,
			    "not valid UTF-8 at byte %zu of the value (save the file as UTF-8)",
			    i + 1);
			return -1;
		}
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp < 0xA0)) {
			snprintf(why, whylen,
			    "control character U+%04X at byte %zu of the value",
			    (unsigned)cp, i + 1);
			return -1;
		}
		i += n;
	}
	return 0;
}

/* Report a refused value where it was found (load_report_cb skips it). */
static void
load_refuse(
    struct load_ctx *c, const char *section, const char *key, const char *why)
{
	struct load_seen *s = load_find(c, section, key);

	load_error(c, c->line, "%s.%s: %s", section, key, why);
	if (s != NULL)
		s->bad = true;
}

static int
load_handler(
    void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *c = user;
	const char *joined;
	char why[256];

	if (config_section(c->cfg, section, why, sizeof(why)) != 0)
		return 1; /* reported once, at its header */
	if ((joined = load_value(c, section, key, value)) == NULL)
		return 1;
	if (load_text_ok(value, why, sizeof(why)) != 0)
		load_refuse(c, section, key, why);
	else if (load_text_ok(joined, why, sizeof(why)) != 0)
		; /* an earlier line of the value: reported there */
	else if (config_set(c->cfg, section, key, joined, why, sizeof(why)) !=
	    0)
		load_refuse(c, section, key, why);
	return 1; /* keep going: report every problem at once */
}

static void
load_report_cb(const char *section, const char *key, const char *why, void *arg)
{
	struct load_ctx *c = arg;
	struct load_seen *s = load_find(c, section, key);

	/* a refused value or zone was reported where it was found */
	if ((s != NULL && s->bad) ||
	    (c->tz_bad && strcmp(section, "window") == 0 &&
	        strcmp(key, "timezone") == 0))
		return;
	load_error(
	    c, load_line_of(c, section, key), "%s.%s: %s", section, key, why);
}

/*
 * A secret file must be the owner's alone: one that group or others may
 * read or write is a warning, or with [security] strict_secret_files an
 * error. Returns 0 to go on reading it, -1 when refused.
 */
static int
load_secret_mode(struct load_ctx *c, unsigned line, const char *section,
    const char *key, const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		load_error(c, line, "%s.%s: %s: %s", section, key, path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		load_error(c, line, "%s.%s: %s is not a regular file", section,
		    key, path);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return 0;
	if (c->cfg->security.strict_secret_files) {
		load_error(c, line,
		    "%s.%s: %s is open to group or others (mode %04o): "
		    "chmod 600 it (security.strict_secret_files is on)",
		    section, key, path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	log_warn("%s:%u: %s.%s: %s is open to group or others (mode %04o): "
	         "chmod 600 it",
	    c->name, line, section, key, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Read the first line of a secret file into dst (cap bytes). */
static void
load_secret(struct load_ctx *c, const char *section, const char *key,
    const char *path, char *dst, size_t cap)
{
	unsigned line = load_line_of(c, section, key);
	char buf[1024];
	FILE *f;

	if (path[0] == '\0')
		return;
	if ((f = fopen(path, "r")) == NULL) {
		load_error(c, line, "%s.%s: %s: %s", section, key, path,
		    strerror(errno));
		return;
	}
	if (load_secret_mode(c, line, section, key, path, fileno(f)) != 0) {
		fclose(f);
		return;
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		load_error(c, line, "%s.%s: %s is empty", section, key, path);
	else if (strlen(buf) >= cap)
		load_error(c, line,
		    "%s.%s: the secret in %s is longer than %zu characters",
		    section, key, path, cap - 1);
	else
		strlcpy_s(dst, buf, cap);
	explicit_bzero(buf, sizeof(buf));
}

/* A messenger's token_file and its secret's file (secret_key NULL: none). */
static void
load_messenger_secrets(struct load_ctx *c, const char *section,
    const char *secret_key, struct config_messenger *m)
{
	if (!m->enabled)
		return;
	if (m->token[0] == '\0')
		load_secret(c, section, "token_file", m->token_file, m->token,
		    sizeof(m->token));
	if (secret_key != NULL && m->secret[0] == '\0')
		load_secret(c, section, secret_key, m->secret_file, m->secret,
		    sizeof(m->secret));
}

/* A file the SMPP link reads when it starts: readable now. */
static void
load_readable(
    struct load_ctx *c, const char *section, const char *key, const char *path)
{
	if (path[0] != '\0' && access(path, R_OK) != 0)
		load_error(c, load_line_of(c, section, key), "%s.%s: %s: %s",
		    section, key, path, strerror(errno));
}

/*
 * After the keys: the zone file, cross-key checks, the secrets and the
 * files the channels read at start; every problem is reported, none hides
 * another.
 */
static void
load_finish(struct load_ctx *c)
{
	struct config *cfg = c->cfg;
	char why[256];

	if (tz_load(&cfg->window.tz, cfg->window.timezone, why, sizeof(why)) !=
	    0) {
		load_error(c, load_line_of(c, "window", "timezone"),
		    "window.timezone: %s", why);
		c->tz_bad = true;
	}
	config_check(cfg, load_report_cb, c);
	/* every *_file secret: */
	if (cfg->smpp.enabled && cfg->smpp.password[0] == '\0')
		load_secret(c, "smpp", "password_file", cfg->smpp.password_file,
		    cfg->smpp.password, sizeof(cfg->smpp.password));
	if (cfg->http.enabled && cfg->http.secret[0] == '\0')
		load_secret(c, "http", "secret_file", cfg->http.secret_file,
		    cfg->http.secret, sizeof(cfg->http.secret));
	if (cfg->telegram.enabled && cfg->telegram.token[0] == '\0')
		load_secret(c, "telegram", "token_file",
		    cfg->telegram.token_file, cfg->telegram.token,
		    sizeof(cfg->telegram.token));
	if (cfg->telegram.enabled && cfg->telegram.secret[0] == '\0')
		load_secret(c, "telegram", "secret_token_file",
		    cfg->telegram.secret_file, cfg->telegram.secret,
		    sizeof(cfg->telegram.secret));
	if (cfg->max.enabled && cfg->max.token[0] == '\0')
		load_secret(c, "max", "token_file", cfg->max.token_file,
		    cfg->max.token, sizeof(cfg->max.token));
	if (cfg->max.enabled && cfg->max.secret[0] == '\0')
		load_secret(c, "max", "secret_file", cfg->max.secret_file,
		    cfg->max.secret, sizeof(cfg->max.secret));
	load_messenger_secrets(c, "viber", NULL, &cfg->viber);
	load_messenger_secrets(
	    c, "whatsapp", "app_secret_file", &cfg->whatsapp);
	load_messenger_secrets(c, "vk", "secret_file", &cfg->vk);
	if (cfg->smpp.enabled && cfg->smpp.tls && cfg->smpp.tls_verify)
		load_readable(c, "smpp", "tls_ca_file", cfg->smpp.tls_ca_file);
}

int
config_load_string(struct config *cfg, const char *name, const char *text,
    char *err, size_t errlen)
{
	struct load_ctx *c = xcalloc(1, sizeof(*c));
	int rc, nerr;

	c->cfg = cfg;
	c->name = name;
	c->next = text;
	if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
		c->next += 3; /* a UTF-8 BOM from a Windows editor */
	c->err = err;
	c->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	config_defaults(cfg);
	rc = ini_parse_stream(load_reader, c, load_handler, c);
	if (rc > 0)
		load_error(c, (unsigned)rc,
		    "syntax error: expected [section] or key = value");
	else if (rc < 0)
		load_error(c, 0, "cannot parse (out of memory)");
	if (rc >= 0)
		load_finish(c);
	nerr = c->nerr;
	free(c);
	return nerr == 0 ? 0 : -1;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	text = xmalloc(LOAD_FILE_MAX + 1);
	len = fread(text, 1, LOAD_FILE_MAX + 1, f);
	rc = ferror(f) ? -1 : 0;
	fclose(f);
	if (rc != 0 || len > LOAD_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
		    rc ? "read error" : "larger than 1 MiB");
		free(text);
		return -1;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		rc = -1;
	} else {
		rc = config_load_string(cfg, path, text, err, errlen);
	}
	free(text);
	return rc;
}
