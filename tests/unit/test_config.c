/*
 * Configuration: defaults, every kind of key, errors as file:line: key: why,
 * the INI file through libinih, secrets from files and masked in dumps,
 * and etc/meterline.conf documenting every key with its real default.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "meterline/conf.h"
#include "meterline/config.h"

static struct config cfg; /* 30 KiB: off the stack */
static char err[4096];
static char dump[65536];

static int
load(const char *text)
{
	return config_load_string(&cfg, "test.conf", text, err, sizeof(err));
}

static void
expect_error(const char *text, const char *want)
{
	if (load(text) == 0)
		fail_msg("loaded, want error %s", want);
	if (strstr(err, want) == NULL)
		fail_msg("error\n%s\ndoes not contain\n%s", err, want);
}

static void
test_defaults(void **state)
{
	struct config_window w;

	(void)state;
	config_defaults(&cfg);
	assert_false(cfg.smpp.enabled);
	assert_false(cfg.http.enabled);
	assert_string_equal(cfg.database.conninfo, "dbname=meterline");
	assert_int_equal(cfg.smpp.port, 2775);
	assert_int_equal(cfg.smpp.bind, CONFIG_BIND_TRANSCEIVER);
	assert_int_equal(cfg.smpp.enquire_link_ms, 30000);
	assert_int_equal(cfg.smpp.temporary_error_status, 0x64);
	assert_int_equal(cfg.dialog.expiry, 30 * 60);
	assert_int_equal(cfg.store.duplicate_window, 10 * 60);
	assert_int_equal(cfg.store.gather_ms, 10);
	assert_int_equal(cfg.log.level, LOG_INFO);
	assert_string_equal(cfg.window.timezone, "Europe/Moscow");
	assert_string_equal(cfg.window.tz.name, "Europe/Moscow");
	assert_int_equal(tz_offset(&cfg.window.tz, 1716000000), 3 * 3600);
	w = config_window_for(&cfg, MODEL_RES_HOT_WATER);
	assert_true(
	    w.from == 18 && w.to == 25 && w.policy == CONFIG_POLICY_REJECT);
	assert_int_equal(cfg.limits.daily_milli[MODEL_RES_ELECTRICITY], 200000);
	assert_int_equal(cfg.limits.daily_milli[MODEL_RES_HOT_WATER], 2000);
	assert_int_equal(cfg.limits.daily_milli[MODEL_RES_COLD_WATER], 3000);
	assert_string_equal(
	    cfg.templates[TPL_ACCEPTED], "Показания приняты. Спасибо.");
	assert_int_equal(config_check(&cfg, NULL, NULL), 0);
}

static void
test_set_values(void **state)
{
	static const struct {
		const char *s, *k, *v;
	} ok[] = {
		{ "smpp", "port", "3000" },
		{ "smpp", "tls", "yes" },
		{ "smpp", "temporary_error_status", "0x58" },
		{ "smpp", "bind", "pair" },
		{ "dialog", "expiry", "45m" },
		{ "window", "days", " 30 - 3" },
		{ "window", "policy", "accept" },
		{ "window", "days.hot_water", "20-28" },
		{ "window", "policy.cold_water", "accept" },
		{ "limits", "hot_water", "2.5" },
		{ "limits", "cold_water", "0.125" },
		{ "store", "duplicate_window", "36h" },
		{ "store", "gather", "0" },
		{ "log", "level", "debug" },
		{ "templates", "accepted", "Дякуємо, {contract}!" },
	};
	char why[256];
	struct config_window w;

	(void)state;
	config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (config_set(
		        &cfg, ok[i].s, ok[i].k, ok[i].v, why, sizeof(why)))
			fail_msg(
			    "%s.%s = %s: %s", ok[i].s, ok[i].k, ok[i].v, why);
	}
	assert_true(cfg.smpp.enabled); /* a key of [smpp] enables it */
	assert_int_equal(cfg.smpp.port, 3000);
	assert_true(cfg.smpp.tls);
	assert_int_equal(cfg.smpp.temporary_error_status, 0x58);
	assert_int_equal(cfg.smpp.bind, CONFIG_BIND_PAIR);
	assert_int_equal(cfg.dialog.expiry, 45 * 60);
	assert_int_equal(cfg.store.duplicate_window, 36 * 3600);
	assert_int_equal(cfg.store.gather_ms, 0);
	assert_int_equal(cfg.log.level, LOG_DEBUG);
	assert_int_equal(cfg.limits.daily_milli[MODEL_RES_HOT_WATER], 2500);
	assert_int_equal(cfg.limits.daily_milli[MODEL_RES_COLD_WATER], 125);
	w = config_window_for(&cfg, MODEL_RES_ELECTRICITY);
	assert_true(
	    w.from == 30 && w.to == 3 && w.policy == CONFIG_POLICY_ACCEPT);
	w = config_window_for(&cfg, MODEL_RES_HOT_WATER);
	assert_true(
	    w.from == 20 && w.to == 28 && w.policy == CONFIG_POLICY_ACCEPT);
	config_set(&cfg, "window", "policy", "reject", why, sizeof(why));
	w = config_window_for(&cfg, MODEL_RES_COLD_WATER);
	assert_true(w.from == 30 && w.policy == CONFIG_POLICY_ACCEPT);
	w = config_window_for(&cfg, MODEL_RES_ELECTRICITY);
	assert_int_equal(w.policy, CONFIG_POLICY_REJECT);
}

static void
test_set_errors(void **state)
{
	static const struct {
		const char *s, *k, *v, *why;
	} bad[] = {
		{ "smpp", "port", "0", "out of range 1..65535" },
		{ "smpp", "port", "80x", "not an integer" },
		{ "smpp", "port", "", "not an integer" },
		{ "smpp", "tls", "maybe", "not true or false" },
		{ "smpp", "bind", "receiver", "not one of transceiver, pair" },
		{ "smpp", "system_id", "a_system_id_too_long",
		    "longer than 15" },
		{ "smpp", "password", "123456789", "longer than 8" },
		{ "smpp", "colour", "red", "unknown key" },
		{ "smtp", "host", "x", "unknown section [smtp]" },
		{ "dialog", "expiry", "30x", "not a duration" },
		{ "dialog", "expiry", "30s", "out of range" },
		{ "dialog", "expiry", "2d", "out of range" },
		{ "store", "gather", "2s", "out of range" },
		{ "window", "days", "0-5", "not days of the month" },
		{ "window", "days", "18-", "not days of the month" },
		{ "window", "days", "18-32", "not days of the month" },
		{ "window", "days", "", "not days of the month" },
		{ "window", "days", "18-25x", "not days of the month" },
		{ "window", "policy", "maybe", "not reject or accept" },
		{ "window", "policy", "", "not reject or accept" },
		{ "limits", "electricity", "2.5555", "not a number" },
		{ "limits", "electricity", "-1", "not a number" },
		{ "limits", "electricity", "1000001", "out of range" },
		{ "templates", "accepted", "{nope}",
		    "unknown placeholder {nope}" },
		{ "templates", "accepted", "{value}",
		    "not available in this reply" },
		{ "templates", "accepted", "", "empty reply" },
		{ "templates", "goodbye", "x", "unknown reply template" },
	};
	char why[256];

	(void)state;
	config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_set(&cfg, bad[i].s, bad[i].k, bad[i].v, why,
		        sizeof(why)) == 0)
			fail_msg("%s.%s = \"%s\" accepted", bad[i].s, bad[i].k,
			    bad[i].v);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s.%s = \"%s\": \"%s\", want \"%s\"",
			    bad[i].s, bad[i].k, bad[i].v, why, bad[i].why);
	}
}

static void
test_load_full(void **state)
{
	(void)state;
	assert_int_equal(load("; comment\n"
	                      "# another\n"
	                      "[database]\n"
	                      "conninfo = host=10.0.0.5 dbname=readings\n"
	                      "\n"
	                      "[smpp]\n"
	                      "host = 10.0.0.7\n"
	                      "port=2776\n"
	                      "system_id = meter01\n"
	                      "password = secret\n"
	                      "bind = pair   ; inline comment\n"
	                      "\n"
	                      "[http]\n"
	                      "listen = [::1]:9090\n"
	                      "secret = k3y\n"
	                      "\n"
	                      "[window]\n"
	                      "days = 20-26\n"
	                      "days.cold_water = 15-20\n"
	                      "timezone = Europe/Kyiv\n"
	                      "\n"
	                      "[templates]\n"
	                      "accepted = Прийнято,\n"
	                      "  дякуємо!\n"),
	    0);
	assert_string_equal(
	    cfg.database.conninfo, "host=10.0.0.5 dbname=readings");
	assert_true(cfg.smpp.enabled && cfg.http.enabled);
	assert_string_equal(cfg.smpp.host, "10.0.0.7");
	assert_int_equal(cfg.smpp.port, 2776);
	assert_string_equal(cfg.smpp.password, "secret");
	assert_int_equal(cfg.smpp.bind, CONFIG_BIND_PAIR);
	assert_string_equal(cfg.http.listen, "[::1]:9090");
	assert_int_equal(cfg.window.all.from, 20);
	assert_int_equal(cfg.window.res[MODEL_RES_COLD_WATER].from, 15);
	assert_string_equal(cfg.window.tz.name, "Europe/Kyiv");
	assert_true(
	    cfg.window.tz.ntimes > 50); /* the real file, with history */
	assert_string_equal(cfg.templates[TPL_ACCEPTED], "Прийнято, дякуємо!");
}

static void
test_load_errors(void **state)
{
	(void)state;
	expect_error("[smpp]\nhost = 10.0.0.7\nport = 99999\n",
	    "test.conf:3: smpp.port: 99999 is out of range 1..65535");
	expect_error("[database]\nconninfo = x\n[dialog]\nexpiry = soon\n",
	    "test.conf:4: dialog.expiry: \"soon\" is not a duration");
	expect_error(
	    "[sms]\nhost = x\n", "test.conf:1: [sms]: unknown section");
	expect_error("[dialog]\nexpiry = 10m\nexpiry = 20m\n",
	    "test.conf:3: dialog.expiry: set twice (first at line 2)");
	expect_error("[dialog]\nthis line has no equals sign\n",
	    "test.conf:2: syntax error");
	expect_error("[window]\ntimezone = Mars/Olympus_Mons\n",
	    "test.conf:2: window.timezone:");
	expect_error("[window]\ntimezone = ../../etc/passwd\n",
	    "is not an IANA time zone name");
	expect_error("[templates]\nprompt = Договор {contract}: {reg}\n",
	    "test.conf:2: templates.prompt: unknown placeholder {reg}");
	/* every problem at once, one per line */
	expect_error("[smpp]\nport = x\n[log]\nlevel = loud\n",
	    "test.conf:2: smpp.port: \"x\" is not an integer\n"
	    "test.conf:4: log.level: \"loud\" is not one of debug, info");
}

static void
test_load_long_line(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "[templates]\nhelp = %0250d\n", 7);
	expect_error(text, "test.conf:2: line longer than 198 bytes");
}

static void
test_channel_sections(void **state)
{
	(void)state;
	/* an empty [smpp] still enables the channel: its keys are required */
	expect_error("[database]\nconninfo = x\n\n[smpp]\n",
	    "test.conf:4: smpp.host: required when [smpp] is present");
	assert_non_null(strstr(err, "test.conf:4: smpp.system_id: required"));
	expect_error("[http]\nlisten = 127.0.0.1\n",
	    "test.conf:2: http.listen: not host:port");
	assert_non_null(strstr(err, "http.secret: required when [http]"));
	expect_error("[smpp]\nhost=1.2.3.4\nsystem_id=x\npassword=a\n"
	             "password_file=/nonexistent\n",
	    "test.conf:5: smpp.password_file: set password or password_file, "
	    "not both");
	assert_int_equal(load("[database]\nconninfo = x\n"), 0);
	assert_false(cfg.smpp.enabled || cfg.http.enabled);
	/* a UTF-8 BOM from a Windows editor before the first section */
	assert_int_equal(load("\xef\xbb\xbf[smpp]\r\nhost = 10.0.0.1\r\n"
	                      "system_id = x\r\n"),
	    0);
	assert_true(cfg.smpp.enabled);
	assert_string_equal(cfg.smpp.host, "10.0.0.1");
}

/* Write text into a new temporary file; returns its path in path. */
static void
temp_file(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/meterline-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_secret_files(void **state)
{
	char pw[64], sec[64], empty[64], text[512];

	(void)state;
	temp_file(pw, sizeof(pw), "pa55\n");
	temp_file(sec, sizeof(sec), "hmac-key-1\r\n");
	temp_file(empty, sizeof(empty), "\n");
	snprintf(text, sizeof(text),
	    "[smpp]\nhost = 10.0.0.1\nsystem_id = x\n"
	    "password_file = %s\n[http]\nsecret_file = %s\n",
	    pw, sec);
	assert_int_equal(load(text), 0);
	assert_string_equal(cfg.smpp.password, "pa55");
	assert_string_equal(cfg.http.secret, "hmac-key-1");
	snprintf(text, sizeof(text), "[http]\n\nsecret_file = %s\n", empty);
	expect_error(text, "test.conf:3: http.secret_file: ");
	assert_non_null(strstr(err, "is empty"));
	expect_error("[http]\nsecret_file = /nonexistent/key\n",
	    "test.conf:2: http.secret_file: /nonexistent/key: No such file");
	unlink(pw);
	unlink(sec);
	unlink(empty);
}

/* Run load(text) with stderr (log_warn) captured into out. */
static int
load_capturing(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/meterline-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), rc;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	rc = load(text);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

/* Secret files open to group or others: a warning, or refused if strict. */
static void
test_secret_file_modes(void **state)
{
	char pw[64], text[512], log[1024];

	(void)state;
	temp_file(pw, sizeof(pw), "pa55\n");
	snprintf(text, sizeof(text),
	    "[smpp]\nhost = 10.0.0.1\nsystem_id = x\npassword_file = %s\n", pw);
	/* 0600 (mkstemp's): quiet */
	assert_int_equal(load_capturing(text, log, sizeof(log)), 0);
	assert_string_equal(log, "");
	assert_int_equal(chmod(pw, 0640), 0);
	assert_int_equal(load_capturing(text, log, sizeof(log)), 0);
	assert_string_equal(cfg.smpp.password, "pa55");
	assert_non_null(strstr(log, "test.conf:4: smpp.password_file: "));
	assert_non_null(strstr(log, "open to group or others (mode 0640)"));
	assert_null(strstr(log, "pa55"));
	/* strict: refused, whatever the order of the sections */
	snprintf(text, sizeof(text),
	    "[smpp]\nhost = 10.0.0.1\nsystem_id = x\npassword_file = %s\n"
	    "[security]\nstrict_secret_files = yes\n",
	    pw);
	expect_error(text, "test.conf:4: smpp.password_file: ");
	assert_non_null(strstr(err, "(mode 0640): chmod 600 it"));
	assert_int_equal(chmod(pw, 0602), 0);
	expect_error(text, "(mode 0602)");
	assert_int_equal(chmod(pw, 0400), 0);
	assert_int_equal(load(text), 0);
	/* the same for [http] secret_file; a directory is no secret file */
	assert_int_equal(chmod(pw, 0644), 0);
	snprintf(text, sizeof(text),
	    "[security]\nstrict_secret_files = true\n[http]\nsecret_file = %s\n",
	    pw);
	expect_error(text, "test.conf:4: http.secret_file: ");
	expect_error("[http]\nsecret_file = /tmp\n",
	    "test.conf:2: http.secret_file: /tmp is not a regular file");
	unlink(pw);
}

static void
test_dump_masks_secrets(void **state)
{
	size_t n;

	(void)state;
	assert_int_equal(
	    load("[database]\n"
	         "conninfo = host=db user=m password=hunter2 dbname=x\n"
	         "[smpp]\nhost = 10.0.0.1\nsystem_id = x\npassword = s3cr3t\n"
	         "[http]\nsecret = t0ps3cr3t\n"),
	    0);
	n = config_dump(&cfg, dump, sizeof(dump));
	assert_int_equal(n, strlen(dump));
	assert_null(strstr(dump, "hunter2"));
	assert_null(strstr(dump, "s3cr3t"));
	assert_null(strstr(dump, "t0ps3cr3t"));
	assert_non_null(strstr(dump,
	    "conninfo = host=db user=m password=*** "
	    "dbname=x\n"));
	assert_non_null(strstr(dump, "\npassword = (set)\n"));
	assert_non_null(strstr(dump, "\nsecret = (set)\n"));
	assert_non_null(strstr(dump, "\ntemporary_error_status = 0x64\n"));
	assert_true(config_key_secret("smpp", "password"));
	assert_false(config_key_secret("smpp", "host"));

	config_set(&cfg, "database", "conninfo",
	    "postgresql://meter:hunter2@db.local/readings", err, sizeof(err));
	config_dump(&cfg, dump, sizeof(dump));
	assert_null(strstr(dump, "hunter2"));
	assert_non_null(
	    strstr(dump, "postgresql://meter:***@db.local/readings"));
	/* a small buffer still gets a NUL-terminated prefix */
	assert_true(config_dump(&cfg, dump, 16) > 16);
	assert_int_equal(strlen(dump), 15);
}

static void
expect_masked(const char *in, const char *want)
{
	char buf[512];
	size_t n = config_mask_conninfo(in, buf, sizeof(buf));

	if (strcmp(buf, want) != 0)
		fail_msg("mask(%s)\n = %s\nwant %s", in, buf, want);
	assert_int_equal(n, strlen(want));
}

/* Every form of a libpq connection string keeps its secrets. */
static void
test_conninfo_masking(void **state)
{
	(void)state;
	/* key=value: bare, spaced, quoted with spaces and escapes */
	expect_masked("host=db password=hunter2 dbname=x",
	    "host=db password=*** dbname=x");
	expect_masked("password=hunter2", "password=***");
	expect_masked("host=db password = hunter2  dbname=x",
	    "host=db password = ***  dbname=x");
	expect_masked("host=db password='pw with spaces' dbname=x",
	    "host=db password=*** dbname=x");
	expect_masked(
	    "password='it\\'s \\\\ here' user=m", "password=*** user=m");
	expect_masked("password=a\\ b user=m", "password=*** user=m");
	expect_masked("password='' user=m", "password=*** user=m");
	expect_masked("sslpassword=k3y sslkey=/k.pem password=p",
	    "sslpassword=*** sslkey=/k.pem password=***");
	expect_masked("\tpassword=x\n", "\tpassword=***\n");
	/* quoted values that look like keys are values */
	expect_masked("application_name='password=x' password=y",
	    "application_name='password=x' password=***");
	/* an unterminated quote or a stray word: masked to the end */
	expect_masked(
	    "host=db password='never closed dbname=x", "host=db password=***");
	expect_masked("host=db hunter2", "host=db ***");
	expect_masked("host=db password", "host=db ***");
	/* a quoted value with more glued to it: masked to the end, and a
	   mask of the mask is the same (fuzz_config, quoted_secret_glued) */
	expect_masked("password='a b'c user=m", "password=***");
	expect_masked("password=***", "password=***");
	expect_masked("host='db'x password=p", "host='db'***");
	expect_masked("host='db'***", "host='db'***");
	/* a dbname that is a connection string is libpq's too */
	expect_masked("dbname='host=h password=p' user=m", "dbname=*** user=m");
	expect_masked("dbname=postgresql://u:p@h/db", "dbname=***");
	expect_masked("dbname=meterline", "dbname=meterline");
	/* URIs: user info, parameters (also %-encoded names), both schemes */
	expect_masked("postgresql://meter:hunter2@db.local/readings",
	    "postgresql://meter:***@db.local/readings");
	expect_masked("postgres://meter:h%40nter@db:5432/r?sslmode=require",
	    "postgres://meter:***@db:5432/r?sslmode=require");
	expect_masked("postgresql://meter@db/r", "postgresql://meter@db/r");
	expect_masked("postgresql://db/r?user=m&password=hunter2&sslmode=x",
	    "postgresql://db/r?user=m&password=***&sslmode=x");
	expect_masked("postgresql://db?sslpassword=k&pass%77ord=p",
	    "postgresql://db?sslpassword=***&pass%77ord=***");
	expect_masked("postgresql://u:a@b/c@h1,h2:5433/r",
	    "postgresql://u:***@h1,h2:5433/r");
	expect_masked("postgresql://u:p?x@h/r", "postgresql://u:***@h/r");
	expect_masked("postgresql:///r", "postgresql:///r");
}

/* serve --check prints conninfo through the same masking. */
static void
test_dump_masks_quoted_password(void **state)
{
	(void)state;
	assert_int_equal(
	    load(
	        "[database]\n"
	        "conninfo = host=db password='pw with \\'spaces\\'' dbname=x\n"),
	    0);
	config_dump(&cfg, dump, sizeof(dump));
	assert_null(strstr(dump, "spaces"));
	assert_non_null(
	    strstr(dump, "conninfo = host=db password=*** dbname=x\n"));
}

/*
 * fuzz_config's finding (tests/fuzz/regress/config/): values must be text
 * the dump writes back exactly. Invalid UTF-8 and control characters are
 * refused where they are, once per line; a value that starts on the line
 * below its "key =" has no leading space.
 */
static void
test_value_text(void **state)
{
	(void)state;
	expect_error("[database]\nconninfo =\n  host=x\xff\n",
	    "test.conf:3: database.conninfo: not valid UTF-8 at byte 7 of the "
	    "value (save the file as UTF-8)");
	expect_error("[templates]\nhelp = \xd0\xa1\xd7\n",
	    "test.conf:2: templates.help: not valid UTF-8 at byte 3");
	expect_error("[database]\nconninfo = host=x\vdbname=y\n",
	    "test.conf:2: database.conninfo: control character U+000B at byte "
	    "7 of the value");
	expect_error("[smpp]\nsystem_id = a\xc2\x85\n",
	    "smpp.system_id: control character U+0085");
	/* a bad first line is reported once, not again with its continuation */
	expect_error("[templates]\nhelp = a\x01\n  b\n[log]\nlevel = loud\n",
	    "test.conf:2: templates.help: control character U+0001 at byte 2 "
	    "of the value\ntest.conf:5: log.level:");
	/* a tab is text; Cyrillic is text */
	assert_int_equal(load("[templates]\nhelp = Счётчик\tПС\n"), 0);
	assert_string_equal(cfg.templates[TPL_HELP], "Счётчик\tПС");
	/* "key =" with the value indented below */
	assert_int_equal(
	    load("[database]\nconninfo =\n  host=x\n  dbname=y\n"), 0);
	assert_string_equal(cfg.database.conninfo, "host=x dbname=y");
}

static void
test_numeric_host(void **state)
{
	static const char *const good[] = { "10.0.0.7", "0.0.0.0",
		"255.255.255.255", "::", "::1", "1::", "fe80::1:2",
		"2001:db8:0:0:0:0:0:1", "2001:DB8::8:800:200C:417A",
		"::ffff:10.0.0.1", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7::" };
	static const char *const bad[] = { "", "localhost", "smsc.example.net",
		"10.0.0", "10.0.0.7.1", "256.0.0.1", "010.0.0.1", "10.0.0.7 ",
		" 10.0.0.7", "1.2.3.-4", "[::1]", ":::", "1:::2", "1::2::3",
		":1", "1:", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:8::", "fe80::1%eth0", "::ffff:1.2.3", "g::1",
		"1.2.3.4::" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!config_numeric_host(good[i]))
			fail_msg("\"%s\" refused", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_numeric_host(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	}
}

/*
 * --check and serve load the config the same way: what serve would refuse
 * at start (an SMSC host that is neither address nor name, a [dns]
 * nameserver that is not an address, a backoff cap below its start, one
 * address for two listeners, a CA file it cannot read) is a config error, reported with the rest.
 */
static void
test_check_what_serve_refuses(void **state)
{
	(void)state;
	expect_error("[smpp]\nhost = smsc_1.example.net\nsystem_id = x\n",
	    "test.conf:2: smpp.host: neither a numeric IPv4 or IPv6 address");
	expect_error("[smpp]\nhost = 10.0.0\nsystem_id = x\n",
	    "test.conf:2: smpp.host: neither a numeric");
	expect_error("[smpp]\nhost = -smsc.net\nsystem_id = x\n",
	    "test.conf:2: smpp.host: neither a numeric");
	expect_error("[smpp]\nhost = smsc..net\nsystem_id = x\n",
	    "test.conf:2: smpp.host: neither a numeric");
	/* host names resolve with evdns at each connect (docs/dns.md) */
	assert_int_equal(
	    load("[smpp]\nhost = smsc.example.net\nsystem_id = x\n"), 0);
	assert_int_equal(load("[smpp]\nhost = smsc1\nsystem_id = x\n"), 0);
	assert_int_equal(load("[dns]\nnameserver = 127.0.0.1:5353\n"
	                      "timeout = 300ms\nattempts = 1\n"),
	    0);
	assert_string_equal(cfg.dns.nameserver, "127.0.0.1:5353");
	assert_int_equal(cfg.dns.timeout_ms, 300);
	assert_int_equal(cfg.dns.attempts, 1);
	assert_int_equal(load("[dns]\nnameserver = ::1\n"), 0);
	expect_error("[dns]\nnameserver = ns.example.net\n",
	    "test.conf:2: dns.nameserver: not a numeric address");
	expect_error("[smpp]\nhost = 10.0.0.1\nsystem_id = x\n"
	             "reconnect_max = 500ms\n",
	    "test.conf:4: smpp.reconnect_max: 500ms is out of range 1..3600");
	expect_error("[http]\nsecret = k\nlisten = 127.0.0.1:8080\n"
	             "admin_listen = 127.0.0.1:8080\n",
	    "test.conf:4: http.admin_listen: the same as listen");
	expect_error("[http]\nsecret = k\nlisten = []:8080\n",
	    "test.conf:3: http.listen: not host:port");
	expect_error("[smpp]\nhost = 10.0.0.1\nsystem_id = x\ntls = true\n"
	             "tls_ca_file = /nonexistent/ca.pem\n",
	    "test.conf:5: smpp.tls_ca_file: /nonexistent/ca.pem: No such file");
	assert_int_equal(load("[smpp]\nhost = ::1\nsystem_id = x\n"
	                      "reconnect_max = 1s\n"),
	    0);
}

/* A bad zone, a bad value and a cross-key problem: all three, in order. */
static void
test_every_problem_at_once(void **state)
{
	(void)state;
	expect_error("[smpp]\nhost = smsc_local\nport = x\nsystem_id = y\n"
	             "[window]\ntimezone = Mars/Olympus_Mons\n"
	             "[http]\nsecret_file = /nonexistent/key\n",
	    "test.conf:3: smpp.port: \"x\" is not an integer\n"
	    "test.conf:6: window.timezone: ");
	assert_non_null(
	    strstr(err, "\ntest.conf:2: smpp.host: neither a numeric"));
	assert_non_null(strstr(err,
	    "\ntest.conf:8: http.secret_file: "
	    "/nonexistent/key: No such file"));
	/* the zone is reported once, not again as "not loaded" */
	assert_null(strstr(err, "zone not loaded"));
	/* a refused value is not reported again as missing */
	expect_error("[smpp]\nhost = 10.0.0.1\nsystem_id = "
	             "much-too-long-system-id\n",
	    "test.conf:3: smpp.system_id: longer than 15 characters");
	assert_null(strstr(err, "system_id: required"));
}

static void
test_check_needs_loaded_zone(void **state)
{
	char why[256];

	(void)state;
	config_defaults(&cfg);
	config_set(&cfg, "window", "timezone", "Europe/Kyiv", why, sizeof(why));
	assert_int_equal(config_check(&cfg, NULL, NULL), 1);
	assert_int_equal(
	    tz_load(&cfg.window.tz, "Europe/Kyiv", why, sizeof(why)), 0);
	assert_int_equal(config_check(&cfg, NULL, NULL), 0);
}

/* Does the section of conf at pos (the last "[x]" before it) equal s? */
static bool
in_section(const char *conf, const char *pos, const char *s)
{
	const char *p = pos, *hdr = NULL;

	/* "[x]" or, for a channel disabled by default, "#[x]" */
	while (p > conf) {
		p--;
		if (*p == '[' &&
		    (p == conf || p[-1] == '\n' ||
		        (p[-1] == '#' && (p - 1 == conf || p[-2] == '\n')))) {
			hdr = p;
			break;
		}
	}
	return hdr != NULL && strncmp(hdr + 1, s, strlen(s)) == 0 &&
	    hdr[1 + strlen(s)] == ']';
}

/*
 * etc/meterline.conf shows every key, commented out, with its default as
 * config_dump prints it; and loading it as is gives the defaults.
 */
static void
test_example_file_documents_defaults(void **state)
{
	static char conf[131072];
	char line[1024], section[64] = "", want[1100];
	FILE *f = fopen(MLINE_SOURCE_DIR "/etc/meterline.conf", "r");
	size_t n;
	struct config defaults;

	(void)state;
	assert_non_null(f);
	n = fread(conf, 1, sizeof(conf) - 1, f);
	fclose(f);
	conf[n] = '\0';
	config_defaults(&cfg);
	cfg.smpp.enabled = cfg.http.enabled = true; /* dump every section */
	config_dump(&cfg, dump, sizeof(dump));
	for (char *p = dump, *nl; *p != '\0'; p = nl + 1) {
		const char *hit;

		nl = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (line[0] == '[') {
			snprintf(section, sizeof(section), "%.*s",
			    (int)strlen(line) - 2, line + 1);
			continue;
		}
		if (line[0] == '\0')
			continue;
		/* "key = " with nothing after is written "#key =" */
		if (line[strlen(line) - 1] == ' ')
			line[strlen(line) - 1] = '\0';
		snprintf(want, sizeof(want), "\n#%s\n", line);
		hit = strstr(conf, want);
		if (hit == NULL || !in_section(conf, hit + 1, section))
			fail_msg("etc/meterline.conf lacks \"#%s\" in [%s]",
			    line, section);
	}
	/* as shipped, every key commented: loads to the defaults */
	assert_int_equal(
	    config_load(
	        &cfg, MLINE_SOURCE_DIR "/etc/meterline.conf", err, sizeof(err)),
	    0);
	config_defaults(&defaults);
	assert_memory_equal(
	    &cfg.templates, &defaults.templates, sizeof(defaults.templates));
	assert_int_equal(cfg.dialog.expiry, defaults.dialog.expiry);
	assert_false(cfg.smpp.enabled || cfg.http.enabled);
}

/* A template longer than inih's 200-byte lines needs no hand-made breaks. */
static void
test_long_template_line(void **state)
{
	char text[2048], want[1024] = "", word[64];

	(void)state;
	for (int i = 0; i < 11; i++) { /* 400 bytes, within TPL_MAX */
		snprintf(word, sizeof(word), "%sПоказания %d приняты.",
		    i ? " " : "", i);
		strcat(want, word);
	}
	assert_true(strlen(want) > 300);
	snprintf(text, sizeof(text), "[templates]\naccepted = %s\n", want);
	assert_int_equal(load(text), 0);
	assert_string_equal(cfg.templates[TPL_ACCEPTED], want);
	/* CRLF: the CR goes, the text stays */
	snprintf(text, sizeof(text), "[templates]\r\naccepted = %s\r\n", want);
	assert_int_equal(load(text), 0);
	assert_string_equal(cfg.templates[TPL_ACCEPTED], want);
	/* nowhere to cut: a clear error, nothing cut silently */
	memset(want, 'x', 300);
	want[300] = '\0';
	snprintf(text, sizeof(text), "[templates]\naccepted = %s\n", want);
	assert_int_equal(load(text), -1);
	assert_non_null(strstr(err, "test.conf:2: line longer than"));
}

/*
 * An inline comment (';' after a blank) ends a value the same way on a
 * short line, a long one inih gets in pieces, and a continuation line:
 * a dump, which writes the value on one line, then loads to the same.
 */
static void
test_inline_comment_everywhere(void **state)
{
	char text[1024], want[512] = "";

	(void)state;
	for (int i = 0; i < 30; i++) /* 240 bytes: cut into pieces */
		strcat(want, i ? " host=xx" : "host=xx");
	snprintf(text, sizeof(text),
	    "[database]\nconninfo = %s ; a comment, long %0150d\n", want, 0);
	assert_int_equal(load(text), 0);
	assert_string_equal(cfg.database.conninfo, want);
	assert_int_equal(load("[database]\nconninfo = host=x ; c\n"), 0);
	assert_string_equal(cfg.database.conninfo, "host=x");
	assert_int_equal(
	    load("[database]\nconninfo = host=x\n  dbname=y\t; c\n"), 0);
	assert_string_equal(cfg.database.conninfo, "host=x dbname=y");
	/* no blank before it: text */
	assert_int_equal(load("[database]\nconninfo = host=x;y\n"), 0);
	assert_string_equal(cfg.database.conninfo, "host=x;y");
}

/*
 * A value that begins with ';' right after the '=' is text to inih, but
 * after "= " a comment: the dump writes it back without the space, so it
 * loads again as it was (fuzz_config, regress/config/value_starts_with_...).
 */
static void
test_dump_value_starting_with_semicolon(void **state)
{
	static char again[sizeof(dump)];
	static struct config c2;

	(void)state;
	assert_int_equal(load("[database]\nconninfo =;host=x\n"
	                      "[templates]\nhelp =;see the site\n"),
	    0);
	assert_string_equal(cfg.database.conninfo, ";host=x");
	assert_string_equal(cfg.templates[TPL_HELP], ";see the site");
	config_dump(&cfg, dump, sizeof(dump));
	assert_non_null(strstr(dump, "\nconninfo =;host=x\n"));
	assert_non_null(strstr(dump, "\nhelp =;see the site\n"));
	assert_int_equal(
	    config_load_string(&c2, "dump", dump, err, sizeof(err)), 0);
	assert_string_equal(c2.database.conninfo, ";host=x");
	assert_string_equal(c2.templates[TPL_HELP], ";see the site");
	config_dump(&c2, again, sizeof(again));
	assert_string_equal(again, dump);
	/* after a space it stays a comment: no conninfo at all */
	assert_int_not_equal(load("[database]\nconninfo = ;host=x\n"), 0);
	assert_non_null(strstr(err, "database.conninfo: required"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_values),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_long_line),
		cmocka_unit_test(test_channel_sections),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_dump_masks_secrets),
		cmocka_unit_test(test_conninfo_masking),
		cmocka_unit_test(test_dump_masks_quoted_password),
		cmocka_unit_test(test_secret_file_modes),
		cmocka_unit_test(test_value_text),
		cmocka_unit_test(test_numeric_host),
		cmocka_unit_test(test_check_what_serve_refuses),
		cmocka_unit_test(test_every_problem_at_once),
		cmocka_unit_test(test_check_needs_loaded_zone),
		cmocka_unit_test(test_example_file_documents_defaults),
		cmocka_unit_test(test_long_template_line),
		cmocka_unit_test(test_inline_comment_everywhere),
		cmocka_unit_test(test_dump_value_starting_with_semicolon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
