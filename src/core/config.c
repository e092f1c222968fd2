/*
 * Configuration: the table of every key with its type, bounds and default,
 * setting a key from text, cross-key checks and a dump with secrets masked.
 * Pure: reading files (the INI file, *_file secrets, zoneinfo) is
 * config_load's job in src/conf/config_load.c.
 *
 * Like Redis's static_configs[], the table writes straight into the structs
 * the modules run on (struct config_smpp is the SMPP link's, struct
 * config_http the HTTP intake's), in the units they use: no module has a
 * defaults function or range checks of its own for these keys.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/ascii.h"
#include "meterline/config.h"
#include "meterline/xmalloc.h"

enum cfg_type {
	CFG_STR, /* char array; size is the array's */
	CFG_INT, /* integer of 1, 2, 4 or 8 bytes; decimal or 0x hex */
	CFG_BOOL,
	CFG_DURATION, /* seconds, "90", "90s", "30m", "2h", "7d" */
	CFG_MSEC, /* the same (and "500ms") in milliseconds; bounds in ms */
	CFG_ENUM, /* int-sized enum, value is the index in names */
	CFG_DAYS, /* struct config_window days "18-25" */
	CFG_POLICY, /* enum config_policy */
	CFG_LIMIT, /* uint32 thousandths, "200", "2.5" */
	CFG_TZ, /* IANA name; config_load loads the zone */
	CFG_DAYLIST, /* struct config_daylist "20,24" */
	CFG_CLOCK, /* int16 minutes after midnight "10:00" */
	CFG_CLOCKS, /* struct config_clock_range "21:00-09:00", "" none */
};

#define CFG_SECRET 0x1 /* never printed */
#define CFG_UNSET_OK 0x2 /* "" means inherit from [window] */
#define CFG_HEX 0x4 /* an unsigned 32-bit status, printed in hex */

struct cfg_key {
	const char *section, *key;
	enum cfg_type type;
	size_t off, size;
	int64_t min, max;
	const char *const *names; /* CFG_ENUM: NULL-terminated */
	const char *def;
	unsigned flags;
};

#define F(m) offsetof(struct config, m), sizeof(((struct config *)0)->m)
#define SECS(x) ((int64_t)(x))
#define MSECS(x) ((int64_t)(x)*1000)
#define MINUTE 60
#define HOUR 3600
#define DAY 86400

static const char *const bind_names[] = { "transceiver", "pair", NULL };
static const char *const pooler_names[] = { "none", "transaction", NULL };
static const char *const verify_names[] = { "off", "bound", "challenge", NULL };
static const char *const level_names[] = { "debug", "info", "warn", "error",
	NULL };

/*
 * Every key, its bounds and its default: config_defaults() applies the
 * defaults through config_set(), so this table is their only home.
 */
static const struct cfg_key cfg_keys[] = {
	{ "database", "conninfo", CFG_STR, F(database.conninfo), 0, 0, NULL,
	    "dbname=meterline", CFG_SECRET },
	{ "database", "pooler", CFG_ENUM, F(database.pooler), 0, 0,
	    pooler_names, "none", 0 },

	{ "smpp", "host", CFG_STR, F(smpp.host), 0, 0, NULL, "", 0 },
	{ "smpp", "port", CFG_INT, F(smpp.port), 1, 65535, NULL, "2775", 0 },
	{ "smpp", "system_id", CFG_STR, F(smpp.system_id), 0, 0, NULL, "", 0 },
	{ "smpp", "password", CFG_STR, F(smpp.password), 0, 0, NULL, "",
	    CFG_SECRET },
	{ "smpp", "password_file", CFG_STR, F(smpp.password_file), 0, 0, NULL,
	    "", 0 },
	{ "smpp", "system_type", CFG_STR, F(smpp.system_type), 0, 0, NULL, "",
	    0 },
	{ "smpp", "bind", CFG_ENUM, F(smpp.bind), 0, 0, bind_names,
	    "transceiver", 0 },
	{ "smpp", "addr_ton", CFG_INT, F(smpp.addr_ton), 0, 6, NULL, "0", 0 },
	{ "smpp", "addr_npi", CFG_INT, F(smpp.addr_npi), 0, 18, NULL, "0", 0 },
	{ "smpp", "address_range", CFG_STR, F(smpp.address_range), 0, 0, NULL,
	    "", 0 },
	{ "smpp", "window", CFG_INT, F(smpp.window), 1, 1000, NULL, "10", 0 },
	{ "smpp", "enquire_link_interval", CFG_MSEC, F(smpp.enquire_link_ms),
	    MSECS(5), MSECS(10 * MINUTE), NULL, "30s", 0 },
	{ "smpp", "response_timeout", CFG_MSEC, F(smpp.response_timeout_ms),
	    MSECS(1), MSECS(5 * MINUTE), NULL, "10s", 0 },
	{ "smpp", "reconnect_max", CFG_MSEC, F(smpp.reconnect_max_ms), MSECS(1),
	    MSECS(HOUR), NULL, "1m", 0 },
	{ "smpp", "temporary_error_status", CFG_INT,
	    F(smpp.temporary_error_status), 1, 0xffffffffLL, NULL, "0x64",
	    CFG_HEX },
	{ "smpp", "reply_ton", CFG_INT, F(smpp.reply_ton), 0, 6, NULL, "0", 0 },
	{ "smpp", "reply_npi", CFG_INT, F(smpp.reply_npi), 0, 18, NULL, "1",
	    0 },
	{ "smpp", "registered_delivery", CFG_BOOL, F(smpp.registered_delivery),
	    0, 0, NULL, "true", 0 },
	{ "smpp", "tls", CFG_BOOL, F(smpp.tls), 0, 0, NULL, "false", 0 },
	{ "smpp", "tls_ca_file", CFG_STR, F(smpp.tls_ca_file), 0, 0, NULL, "",
	    0 },
	{ "smpp", "tls_server_name", CFG_STR, F(smpp.tls_server_name), 0, 0,
	    NULL, "", 0 },
	{ "smpp", "tls_verify", CFG_BOOL, F(smpp.tls_verify), 0, 0, NULL,
	    "true", 0 },
	{ "smpp", "max_message_length", CFG_INT, F(smpp.max_message_length),
	    256, 65536, NULL, "4096", 0 },
	{ "smpp", "ack_lost", CFG_MSEC, F(smpp.ack_lost_ms), 100, MSECS(HOUR),
	    NULL, "5s", 0 },
	{ "smpp", "concat_timeout", CFG_MSEC, F(smpp.concat_timeout_ms), 100,
	    MSECS(HOUR), NULL, "1m", 0 },

	{ "http", "listen", CFG_STR, F(http.listen), 0, 0, NULL,
	    "127.0.0.1:8080", 0 },
	{ "http", "admin_listen", CFG_STR, F(http.admin_listen), 0, 0, NULL, "",
	    0 },
	{ "http", "secret", CFG_STR, F(http.secret), 0, 0, NULL, "",
	    CFG_SECRET },
	{ "http", "secret_file", CFG_STR, F(http.secret_file), 0, 0, NULL, "",
	    0 },
	{ "http", "rate_limit", CFG_INT, F(http.rate_limit), 0, 100000, NULL,
	    "20", 0 },
	{ "http", "rate_burst", CFG_INT, F(http.rate_burst), 1, 100000, NULL,
	    "20", 0 },
	{ "http", "max_body", CFG_INT, F(http.max_body), 256, 1048576, NULL,
	    "16384", 0 },
	{ "http", "max_connections", CFG_INT, F(http.max_connections), 0,
	    1000000, NULL, "0", 0 },
	{ "http", "request_timeout", CFG_DURATION, F(http.request_timeout),
	    SECS(1), SECS(HOUR), NULL, "10s", 0 },
	{ "http", "idle_timeout", CFG_DURATION, F(http.idle_timeout), SECS(1),
	    SECS(HOUR), NULL, "10s", 0 },
	{ "http", "max_skew", CFG_DURATION, F(http.max_skew), 0, SECS(DAY),
	    NULL, "5m", 0 },
	{ "http", "require_timestamp", CFG_BOOL, F(http.require_timestamp), 0,
	    0, NULL, "false", 0 },

	{ "console", "listen", CFG_STR, F(console.listen), 0, 0, NULL,
	    "127.0.0.1:8090", 0 },
	{ "console", "session_idle", CFG_DURATION, F(console.session_idle),
	    SECS(MINUTE), SECS(DAY), NULL, "30m", 0 },
	{ "console", "session_max", CFG_DURATION, F(console.session_max),
	    SECS(MINUTE), SECS(7 * DAY), NULL, "12h", 0 },
	{ "console", "login_max_failures", CFG_INT,
	    F(console.login_max_failures), 1, 1000, NULL, "5", 0 },
	{ "console", "login_max_failures_addr", CFG_INT,
	    F(console.login_max_failures_addr), 1, 100000, NULL, "20", 0 },
	{ "console", "login_window", CFG_DURATION, F(console.login_window),
	    SECS(MINUTE), SECS(DAY), NULL, "15m", 0 },
	{ "console", "max_connections", CFG_INT, F(console.max_connections), 1,
	    10000, NULL, "64", 0 },
	{ "console", "request_timeout", CFG_DURATION,
	    F(console.request_timeout), SECS(1), SECS(HOUR), NULL, "20s", 0 },
	{ "console", "idle_timeout", CFG_DURATION, F(console.idle_timeout),
	    SECS(1), SECS(HOUR), NULL, "1m", 0 },
	{ "console", "trust_forwarded", CFG_BOOL, F(console.trust_forwarded), 0,
	    0, NULL, "false", 0 },

	{ "dialog", "expiry", CFG_DURATION, F(dialog.expiry), SECS(MINUTE),
	    SECS(DAY), NULL, "30m", 0 },

	{ "verify", "mode", CFG_ENUM, F(verify.mode), 0, 0, verify_names, "off",
	    0 },
	{ "verify", "lockout", CFG_DURATION, F(verify.lockout), SECS(MINUTE),
	    SECS(30 * DAY), NULL, "1h", 0 },
	{ "verify", "attempts", CFG_INT, F(verify.attempts), 1, 10, NULL, "3",
	    0 },

	{ "window", "days", CFG_DAYS, F(window.all), 0, 0, NULL, "18-25", 0 },
	{ "window", "timezone", CFG_TZ, F(window.timezone), 0, 0, NULL,
	    "Europe/Moscow", 0 },
	{ "window", "policy", CFG_POLICY, F(window.all.policy), 0, 0, NULL,
	    "reject", 0 },
	{ "window", "days.electricity", CFG_DAYS,
	    F(window.res[MODEL_RES_ELECTRICITY]), 0, 0, NULL, "",
	    CFG_UNSET_OK },
	{ "window", "days.hot_water", CFG_DAYS,
	    F(window.res[MODEL_RES_HOT_WATER]), 0, 0, NULL, "", CFG_UNSET_OK },
	{ "window", "days.cold_water", CFG_DAYS,
	    F(window.res[MODEL_RES_COLD_WATER]), 0, 0, NULL, "", CFG_UNSET_OK },
	{ "window", "policy.electricity", CFG_POLICY,
	    F(window.res[MODEL_RES_ELECTRICITY].policy), 0, 0, NULL, "",
	    CFG_UNSET_OK },
	{ "window", "policy.hot_water", CFG_POLICY,
	    F(window.res[MODEL_RES_HOT_WATER].policy), 0, 0, NULL, "",
	    CFG_UNSET_OK },
	{ "window", "policy.cold_water", CFG_POLICY,
	    F(window.res[MODEL_RES_COLD_WATER].policy), 0, 0, NULL, "",
	    CFG_UNSET_OK },

	{ "limits", "electricity", CFG_LIMIT,
	    F(limits.daily_milli[MODEL_RES_ELECTRICITY]), 0, 1000000, NULL,
	    "200", 0 },
	{ "limits", "hot_water", CFG_LIMIT,
	    F(limits.daily_milli[MODEL_RES_HOT_WATER]), 0, 1000000, NULL, "2",
	    0 },
	{ "limits", "cold_water", CFG_LIMIT,
	    F(limits.daily_milli[MODEL_RES_COLD_WATER]), 0, 1000000, NULL, "3",
	    0 },

	/* Each message of a batch holds its sender's advisory lock until
	 * COMMIT: batch_max x connections must stay well inside the server's
	 * lock table (max_locks_per_transaction x max_connections). */
	{ "store", "batch_max", CFG_INT, F(store.batch_max), 1, 2000, NULL,
	    "1000", 0 },
	{ "store", "connections", CFG_INT, F(store.connections), 1, 4, NULL,
	    "2", 0 },
	{ "store", "duplicate_window", CFG_DURATION, F(store.duplicate_window),
	    SECS(0), SECS(7 * DAY), NULL, "10m", 0 },
	/* A batch of messages whose sources may send more waits up to this
	 * for them (docs/store.md "Gathering"); 0: never waits. */
	{ "store", "gather", CFG_MSEC, F(store.gather_ms), 0, MSECS(1), NULL,
	    "10ms", 0 },

	{ "intake", "max_future_skew", CFG_DURATION, F(intake.max_future_skew),
	    SECS(0), SECS(DAY), NULL, "5m", 0 },
	{ "intake", "max_age", CFG_DURATION, F(intake.max_age), SECS(0),
	    SECS(366 * DAY), NULL, "7d", 0 },

	/* 0 keeps forever; otherwise at least a day (config_check) */
	{ "retention", "messages", CFG_DURATION, F(retention.messages), 0,
	    SECS(100) * 366 * DAY, NULL, "0", 0 },
	{ "retention", "outbox", CFG_DURATION, F(retention.outbox), 0,
	    SECS(100) * 366 * DAY, NULL, "0", 0 },
	{ "retention", "photos", CFG_DURATION, F(retention.photos), 0,
	    SECS(100) * 366 * DAY, NULL, "0", 0 },
	{ "retention", "message_ids", CFG_DURATION, F(retention.message_ids), 0,
	    SECS(100) * 366 * DAY, NULL, "0", 0 },
	{ "retention", "interval", CFG_DURATION, F(retention.interval), 0,
	    SECS(7 * DAY), NULL, "1d", 0 },

	{ "log", "level", CFG_ENUM, F(log.level), 0, 0, level_names, "info",
	    0 },

	{ "security", "strict_secret_files", CFG_BOOL,
	    F(security.strict_secret_files), 0, 0, NULL, "false", 0 },

	{ "dns", "nameserver", CFG_STR, F(dns.nameserver), 0, 0, NULL, "", 0 },
	{ "dns", "timeout", CFG_MSEC, F(dns.timeout_ms), 100, MSECS(MINUTE),
	    NULL, "5s", 0 },
	{ "dns", "attempts", CFG_INT, F(dns.attempts), 1, 10, NULL, "2", 0 },

	{ "telegram", "token", CFG_STR, F(telegram.token), 0, 0, NULL, "",
	    CFG_SECRET },
	{ "telegram", "token_file", CFG_STR, F(telegram.token_file), 0, 0, NULL,
	    "", 0 },
	{ "telegram", "secret_token", CFG_STR, F(telegram.secret), 0, 0, NULL,
	    "", CFG_SECRET },
	{ "telegram", "secret_token_file", CFG_STR, F(telegram.secret_file), 0,
	    0, NULL, "", 0 },
	{ "telegram", "api_base", CFG_STR, F(telegram.api_base), 0, 0, NULL,
	    "https://api.telegram.org", 0 },
	{ "telegram", "webhook_path", CFG_STR, F(telegram.webhook_path), 0, 0,
	    NULL, "/v1/telegram", 0 },
	{ "telegram", "send_rate", CFG_INT, F(telegram.send_rate), 1, 100000,
	    NULL, "30", 0 },
	{ "telegram", "photo_max", CFG_INT, F(telegram.photo_max), 1024,
	    104857600, NULL, "10485760", 0 },

	{ "max", "token", CFG_STR, F(max.token), 0, 0, NULL, "", CFG_SECRET },
	{ "max", "token_file", CFG_STR, F(max.token_file), 0, 0, NULL, "", 0 },
	{ "max", "secret", CFG_STR, F(max.secret), 0, 0, NULL, "", CFG_SECRET },
	{ "max", "secret_file", CFG_STR, F(max.secret_file), 0, 0, NULL, "",
	    0 },
	{ "max", "api_base", CFG_STR, F(max.api_base), 0, 0, NULL,
	    "https://platform-api2.max.ru", 0 },
	{ "max", "webhook_path", CFG_STR, F(max.webhook_path), 0, 0, NULL,
	    "/v1/max", 0 },
	{ "max", "send_rate", CFG_INT, F(max.send_rate), 1, 100000, NULL, "30",
	    0 },
	{ "max", "photo_max", CFG_INT, F(max.photo_max), 1024, 104857600, NULL,
	    "10485760", 0 },

	{ "viber", "token", CFG_STR, F(viber.token), 0, 0, NULL, "",
	    CFG_SECRET },
	{ "viber", "token_file", CFG_STR, F(viber.token_file), 0, 0, NULL, "",
	    0 },
	{ "viber", "api_base", CFG_STR, F(viber.api_base), 0, 0, NULL,
	    "https://chatapi.viber.com", 0 },
	{ "viber", "webhook_path", CFG_STR, F(viber.webhook_path), 0, 0, NULL,
	    "/v1/viber", 0 },
	{ "viber", "send_rate", CFG_INT, F(viber.send_rate), 1, 100000, NULL,
	    "30", 0 },
	{ "viber", "photo_max", CFG_INT, F(viber.photo_max), 1024, 104857600,
	    NULL, "10485760", 0 },
	{ "viber", "bot_name", CFG_STR, F(viber.bot_name), 0, 0, NULL,
	    "meterline", 0 },

	{ "whatsapp", "token", CFG_STR, F(whatsapp.token), 0, 0, NULL, "",
	    CFG_SECRET },
	{ "whatsapp", "token_file", CFG_STR, F(whatsapp.token_file), 0, 0, NULL,
	    "", 0 },
	{ "whatsapp", "app_secret", CFG_STR, F(whatsapp.secret), 0, 0, NULL, "",
	    CFG_SECRET },
	{ "whatsapp", "app_secret_file", CFG_STR, F(whatsapp.secret_file), 0, 0,
	    NULL, "", 0 },
	{ "whatsapp", "api_base", CFG_STR, F(whatsapp.api_base), 0, 0, NULL,
	    "https://graph.facebook.com/v21.0", 0 },
	{ "whatsapp", "webhook_path", CFG_STR, F(whatsapp.webhook_path), 0, 0,
	    NULL, "/v1/whatsapp", 0 },
	{ "whatsapp", "send_rate", CFG_INT, F(whatsapp.send_rate), 1, 100000,
	    NULL, "30", 0 },
	{ "whatsapp", "photo_max", CFG_INT, F(whatsapp.photo_max), 1024,
	    104857600, NULL, "10485760", 0 },
	{ "whatsapp", "verify_token", CFG_STR, F(whatsapp.verify_token), 0, 0,
	    NULL, "", CFG_SECRET },
	{ "whatsapp", "phone_number_id", CFG_STR, F(whatsapp.account_id), 0, 0,
	    NULL, "", 0 },
	{ "whatsapp", "template", CFG_STR, F(whatsapp.template_name), 0, 0,
	    NULL, "", 0 },
	{ "whatsapp", "template_lang", CFG_STR, F(whatsapp.template_lang), 0, 0,
	    NULL, "ru", 0 },

	{ "vk", "token", CFG_STR, F(vk.token), 0, 0, NULL, "", CFG_SECRET },
	{ "vk", "token_file", CFG_STR, F(vk.token_file), 0, 0, NULL, "", 0 },
	{ "vk", "secret", CFG_STR, F(vk.secret), 0, 0, NULL, "", CFG_SECRET },
	{ "vk", "secret_file", CFG_STR, F(vk.secret_file), 0, 0, NULL, "", 0 },
	{ "vk", "api_base", CFG_STR, F(vk.api_base), 0, 0, NULL,
	    "https://api.vk.com", 0 },
	{ "vk", "webhook_path", CFG_STR, F(vk.webhook_path), 0, 0, NULL,
	    "/v1/vk", 0 },
	{ "vk", "send_rate", CFG_INT, F(vk.send_rate), 1, 100000, NULL, "30",
	    0 },
	{ "vk", "photo_max", CFG_INT, F(vk.photo_max), 1024, 104857600, NULL,
	    "10485760", 0 },
	{ "vk", "group_id", CFG_STR, F(vk.account_id), 0, 0, NULL, "", 0 },
	{ "vk", "confirmation", CFG_STR, F(vk.verify_token), 0, 0, NULL, "",
	    0 },
	{ "vk", "api_version", CFG_STR, F(vk.api_version), 0, 0, NULL, "5.199",
	    0 },
	{ "reminders", "days", CFG_DAYLIST, F(reminders.days), 0, 0, NULL,
	    "20,24", 0 },
	{ "reminders", "time", CFG_CLOCK, F(reminders.time), 0, 0, NULL,
	    "10:00", 0 },
	{ "reminders", "quiet_hours", CFG_CLOCKS, F(reminders.quiet), 0, 0,
	    NULL, "21:00-09:00", 0 },
	{ "reminders", "channels", CFG_STR, F(reminders.channels), 0, 0, NULL,
	    "sms", 0 },
	{ "reminders", "rate", CFG_INT, F(reminders.rate), 1, 10000, NULL, "20",
	    0 },
	{ "reminders", "sms_from", CFG_STR, F(reminders.sms_from), 0, 0, NULL,
	    "", 0 },
	{ "reminders", "whatsapp_template", CFG_STR,
	    F(reminders.whatsapp_template), 0, 0, NULL, "", 0 },
	{ "reminders", "text", CFG_STR, F(reminders.text), 0, 0, NULL,
	    "Передайте показания по договору {contract} до {to} числа: "
	    "ПС {contract} <показания>. Не напоминать: НЕ НАПОМИНАТЬ",
	    0 },
};

static const char *const cfg_sections[] = { "database", "smpp", "http",
	"console", "dialog", "verify", "window", "limits", "store", "intake",
	"retention", "log", "security", "dns", "templates", "telegram", "max",
	"viber", "whatsapp", "vk", "reminders" };

static int cfg_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfg_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static const struct cfg_key *
cfg_find(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(cfg_keys); i++) {
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].key, key) == 0)
			return &cfg_keys[i];
	}
	return NULL;
}

/* A signed integer, decimal or 0x hex, the whole string. */
static int
cfg_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == ' ')
		return -1;
	*out = v;
	return 0;
}

int
config_parse_duration(const char *s, int64_t *seconds)
{
	static const struct {
		char unit;
		int64_t mult;
	} units[] = {
		{ 's', 1 },
		{ 'm', MINUTE },
		{ 'h', HOUR },
		{ 'd', DAY },
	};
	int64_t v = 0, mult = 1;
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	if (s[n] != '\0') {
		mult = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			if (s[n] == units[i].unit && s[n + 1] == '\0')
				mult = units[i].mult;
		}
		if (mult == 0)
			return -1;
	}
	*seconds = v * mult;
	return 0;
}

int
config_parse_duration_ms(const char *s, int64_t *ms)
{
	size_t n = strspn(s, "0123456789");
	int64_t v = 0;

	if (strcmp(s + n, "ms") != 0) {
		if (config_parse_duration(s, &v) != 0)
			return -1;
		*ms = v * 1000;
		return 0;
	}
	if (n == 0 || n > 12)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*ms = v;
	return 0;
}

/* "18-25": two days of the month; "" only where inheriting is allowed. */
static int
cfg_parse_days(const char *s, struct config_window *w, bool unset_ok)
{
	unsigned from, to;
	int used = 0;

	if (s[0] == '\0' && unset_ok) {
		w->from = w->to = 0;
		return 0;
	}
	if (sscanf(s, "%2u - %2u%n", &from, &to, &used) != 2 ||
	    s[used] != '\0' || from < 1 || from > 31 || to < 1 || to > 31)
		return -1;
	w->from = (uint8_t)from;
	w->to = (uint8_t)to;
	return 0;
}

/* "20,24": distinct days of the month, kept ascending. */
static int
cfg_parse_daylist(const char *s, struct config_daylist *l)
{
	struct config_daylist out = { 0 };
	bool seen[32] = { false };

	for (;;) {
		size_t n = strspn(s, "0123456789");
		unsigned d = n == 1 ? (unsigned)(s[0] - '0')
		    : n == 2        ? (unsigned)((s[0] - '0') * 10 + s[1] - '0')
		                    : 0;

		if (d < 1 || d > 31 || seen[d] ||
		    out.n == CONFIG_REMIND_DAYS_MAX)
			return -1;
		seen[d] = true;
		out.n++;
		s += n;
		if (*s == '\0')
			break;
		if (*s++ != ',')
			return -1;
	}
	for (unsigned d = 1, i = 0; d <= 31; d++)
		if (seen[d])
			out.day[i++] = (uint8_t)d;
	*l = out;
	return 0;
}

/* "10:00" -> 600 minutes after midnight; used: characters taken. */
static int
cfg_parse_clock(const char *s, int16_t *min, int *used)
{
	unsigned h, m;
	int n = 0;

	if (sscanf(s, "%2u:%2u%n", &h, &m, &n) != 2 || n != 5 || h > 23 ||
	    m > 59)
		return -1;
	*min = (int16_t)(h * 60 + m);
	*used = n;
	return 0;
}

/* "21:00-09:00", or "" for none. */
static int
cfg_parse_clocks(const char *s, struct config_clock_range *r)
{
	int a = 0, b = 0;

	if (s[0] == '\0') {
		r->from = r->to = 0;
		return 0;
	}
	if (cfg_parse_clock(s, &r->from, &a) != 0 || s[a] != '-' ||
	    cfg_parse_clock(s + a + 1, &r->to, &b) != 0 || s[a + 1 + b] != '\0')
		return -1;
	return 0;
}

/* "2.5" -> 2500: up to three decimals. */
static int
cfg_parse_limit(const char *s, int64_t *milli)
{
	size_t n = strspn(s, "0123456789"), frac = 0;
	int64_t v = 0;

	if (n == 0 || n > 7)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	v *= 1000;
	if (s[n] == '.') {
		frac = strspn(s + n + 1, "0123456789");
		if (frac == 0 || frac > 3)
			return -1;
		for (size_t i = 0, scale = 100; i < frac; i++, scale /= 10)
			v += (s[n + 1 + i] - '0') * (int64_t)scale;
		n += 1 + frac;
	}
	if (s[n] != '\0')
		return -1;
	*milli = v;
	return 0;
}

static int
cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

static int
cfg_parse_enum(const char *const *names, const char *s, int *out)
{
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/*
 * Store v into an integer field of 1, 2, 4 or 8 bytes: signed or unsigned
 * have the same bits, and the key's bounds keep v inside the field's type.
 */
static void
cfg_store_int(void *field, size_t size, int64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1: memcpy(field, &u8, size); break;
	case 2: memcpy(field, &u16, size); break;
	case 4: memcpy(field, &u32, size); break;
	default: memcpy(field, &v, sizeof(v)); break;
	}
}

/* What a number key expects, for messages. */
static const char *
cfg_number_what(enum cfg_type type)
{
	switch (type) {
	case CFG_DURATION: return "a duration (90s, 30m, 2h, 7d)";
	case CFG_MSEC: return "a duration (500ms, 90s, 30m, 2h)";
	case CFG_LIMIT: return "a number (200, 2.5)";
	default: return "an integer";
	}
}

static int
cfg_set_number(const struct cfg_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	int64_t v, scale;
	int rc;

	if (k->type == CFG_DURATION)
		rc = config_parse_duration(value, &v);
	else if (k->type == CFG_MSEC)
		rc = config_parse_duration_ms(value, &v);
	else if (k->type == CFG_LIMIT)
		rc = cfg_parse_limit(value, &v);
	else
		rc = cfg_parse_int(value, &v);
	if (rc != 0)
		return cfg_why(why, whylen, "\"%s\" is not %s", value,
		    cfg_number_what(k->type));
	scale = k->type == CFG_LIMIT ? 1000 : 1; /* bounds are in units */
	if (v < k->min * scale || v > k->max * scale)
		return cfg_why(why, whylen,
		    "%s is out of range %" PRId64 "..%" PRId64, value,
		    k->type == CFG_MSEC ? k->min / 1000 : k->min,
		    k->type == CFG_MSEC ? k->max / 1000 : k->max);
	cfg_store_int(field, k->size, v);
	return 0;
}

static int
cfg_set_string(const struct cfg_key *k, char *field, const char *value,
    char *why, size_t whylen)
{
	if (strlen(value) >= k->size)
		return cfg_why(
		    why, whylen, "longer than %zu characters", k->size - 1);
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

static int
cfg_set_key(const struct cfg_key *k, struct config *cfg, const char *value,
    char *why, size_t whylen)
{
	char *field = (char *)cfg + k->off;
	int e = 0;
	bool b;

	switch (k->type) {
	case CFG_STR:
	case CFG_TZ: return cfg_set_string(k, field, value, why, whylen);
	case CFG_INT:
	case CFG_DURATION:
	case CFG_MSEC:
	case CFG_LIMIT: return cfg_set_number(k, field, value, why, whylen);
	case CFG_BOOL:
		if (cfg_parse_bool(value, &b) != 0)
			return cfg_why(
			    why, whylen, "\"%s\" is not true or false", value);
		memcpy(field, &b, sizeof(b));
		return 0;
	case CFG_ENUM:
		if (cfg_parse_enum(k->names, value, &e) != 0)
			return cfg_why(why, whylen,
			    "\"%s\" is not one of %s%s%s", value, k->names[0],
			    k->names[1] ? ", " : "",
			    k->names[1] ? k->names[1] : "");
		memcpy(field, &e, sizeof(e));
		return 0;
	case CFG_POLICY:
		if (value[0] == '\0' && (k->flags & CFG_UNSET_OK))
			e = CONFIG_POLICY_UNSET;
		else if (strcmp(value, "reject") == 0)
			e = CONFIG_POLICY_REJECT;
		else if (strcmp(value, "accept") == 0)
			e = CONFIG_POLICY_ACCEPT;
		else
			return cfg_why(why, whylen,
			    "\"%s\" is not reject or accept", value);
		memcpy(field, &e, sizeof(e));
		return 0;
	case CFG_DAYS:
		if (cfg_parse_days(value, (struct config_window *)(void *)field,
		        k->flags & CFG_UNSET_OK) != 0)
			return cfg_why(why, whylen,
			    "\"%s\" is not days of the month like 18-25 or 30-3",
			    value);
		return 0;
	case CFG_DAYLIST:
		if (cfg_parse_daylist(value, (void *)field) != 0)
			return cfg_why(why, whylen,
			    "\"%s\" is not distinct days of the month like "
			    "20,24 (at most %d)",
			    value, CONFIG_REMIND_DAYS_MAX);
		return 0;
	case CFG_CLOCK: {
		int16_t min;
		int used;

		if (cfg_parse_clock(value, &min, &used) != 0 ||
		    value[used] != '\0')
			return cfg_why(why, whylen,
			    "\"%s\" is not a time of day like 10:00", value);
		memcpy(field, &min, sizeof(min));
		return 0;
	}
	case CFG_CLOCKS:
		if (cfg_parse_clocks(value, (void *)field) != 0)
			return cfg_why(why, whylen,
			    "\"%s\" is not hours like 21:00-09:00 (or empty)",
			    value);
		return 0;
	}
	return cfg_why(why, whylen, "internal: bad key type");
}

static bool
cfg_section_known(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(cfg_sections); i++) {
		if (strcmp(cfg_sections[i], section) == 0)
			return true;
	}
	return false;
}

int
config_section(
    struct config *cfg, const char *section, char *why, size_t whylen)
{
	if (!cfg_section_known(section))
		return cfg_why(why, whylen, "unknown section [%s]", section);
	if (strcmp(section, "smpp") == 0)
		cfg->smpp.enabled = true;
	if (strcmp(section, "http") == 0)
		cfg->http.enabled = true;
	if (strcmp(section, "telegram") == 0)
		cfg->telegram.enabled = true;
	if (strcmp(section, "max") == 0)
		cfg->max.enabled = true;
	if (strcmp(section, "console") == 0)
		cfg->console.enabled = true;
	if (strcmp(section, "viber") == 0)
		cfg->viber.enabled = true;
	if (strcmp(section, "whatsapp") == 0)
		cfg->whatsapp.enabled = true;
	if (strcmp(section, "vk") == 0)
		cfg->vk.enabled = true;
	if (strcmp(section, "reminders") == 0)
		cfg->reminders.enabled = true;
	return 0;
}

static int
cfg_set_template(struct config *cfg, const char *key, const char *value,
    char *why, size_t whylen)
{
	int id = tpl_lookup(key);

	if (id < 0)
		return cfg_why(why, whylen, "unknown reply template");
	if (tpl_check((enum tpl_id)id, value, why, whylen) != 0)
		return -1;
	memcpy(cfg->templates[id], value, strlen(value) + 1);
	return 0;
}

int
config_set(struct config *cfg, const char *section, const char *key,
    const char *value, char *why, size_t whylen)
{
	const struct cfg_key *k;

	if (config_section(cfg, section, why, whylen) != 0)
		return -1;
	if (strcmp(section, "templates") == 0)
		return cfg_set_template(cfg, key, value, why, whylen);
	if ((k = cfg_find(section, key)) == NULL)
		return cfg_why(why, whylen, "unknown key");
	return cfg_set_key(k, cfg, value, why, whylen);
}

bool
config_key_secret(const char *section, const char *key)
{
	const struct cfg_key *k = cfg_find(section, key);

	return k != NULL && (k->flags & CFG_SECRET);
}

static bool
cfg_is_number(enum cfg_type type)
{
	return type == CFG_INT || type == CFG_DURATION || type == CFG_MSEC ||
	    type == CFG_LIMIT;
}

void
config_defaults(struct config *cfg)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_SIZE(cfg_keys); i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (cfg_is_number(k->type) && k->size != 1 && k->size != 2 &&
		    k->size != 4 && k->size != 8)
			snprintf(
			    why, sizeof(why), "field of %zu bytes", k->size);
		else if (cfg_set_key(k, cfg, k->def, why, sizeof(why)) == 0)
			continue;
		/* a bug in the table above, caught by any test */
		fatalx("bad default %s.%s: %s", k->section, k->key, why);
	}
	for (int i = 0; i < TPL__MAX; i++)
		strlcpy_s(cfg->templates[i], tpl_default(i), TPL_MAX + 1);
	/* Moscow has kept MSK (+3) without DST since 2014-10-26. */
	tz_from_rule(
	    &cfg->window.tz, "Europe/Moscow", "MSK-3", why, sizeof(why));
}

struct config_window
config_window_for(const struct config *cfg, enum model_resource res)
{
	struct config_window w = cfg->window.all;
	const struct config_window *r = &cfg->window.res[res];

	if (r->from != 0) {
		w.from = r->from;
		w.to = r->to;
	}
	if (r->policy != CONFIG_POLICY_UNSET)
		w.policy = r->policy;
	return w;
}

/* ---- cross-key checks ------------------------------------------------ */

/* Report one problem (report may be NULL: count only); returns 1. */
static int
cfg_report(config_report_cb report, void *arg, const char *section,
    const char *key, const char *why)
{
	if (report != NULL)
		report(section, key, why, arg);
	return 1;
}

/* Dotted-quad IPv4 of exactly len bytes, as inet_pton takes it. */
static bool
cfg_ipv4_ok(const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t d = 0;
		unsigned v = 0;

		if (part > 0 && (i >= len || s[i++] != '.'))
			return false;
		while (
		    i + d < len && d < 4 && s[i + d] >= '0' && s[i + d] <= '9')
			v = v * 10 + (unsigned)(s[i + d++] - '0');
		if (d == 0 || d > 3 || v > 255 || (d > 1 && s[i] == '0'))
			return false;
		i += d;
	}
	return i == len;
}

/* IPv6 text as inet_pton takes it: hex groups, one "::", an IPv4 tail. */
static bool
cfg_ipv6_ok(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t len = strlen(s), i = 0;
	int groups = 0;
	bool gap = false;

	if (s[0] == ':' && s[1] == ':') {
		gap = true;
		i = 2;
	} else if (s[0] == ':') {
		return false;
	}
	while (i < len) {
		size_t h = strspn(s + i, hex);

		if (s[i + h] == '.') { /* ::ffff:10.0.0.1 */
			if (!cfg_ipv4_ok(s + i, len - i))
				return false;
			groups += 2;
			break;
		}
		if (h == 0 || h > 4)
			return false;
		groups++;
		i += h;
		if (i == len)
			break;
		if (s[i++] != ':')
			return false;
		if (s[i] == ':') {
			if (gap)
				return false;
			gap = true;
			i++;
		} else if (i == len) {
			return false; /* "1:" */
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

bool
config_numeric_host(const char *host)
{
	return cfg_ipv4_ok(host, strlen(host)) || cfg_ipv6_ok(host);
}

/* "host:port" or "[v6]:port" with a host and a port of min_port..65535. */
static bool
cfg_hostport_ok(const char *s, int64_t min_port)
{
	const char *colon = strrchr(s, ':');
	int64_t port;

	if (colon == NULL || colon == s)
		return false;
	if (s[0] == '[' && (colon[-1] != ']' || colon - s < 3))
		return false;
	return cfg_parse_int(colon + 1, &port) == 0 && port >= min_port &&
	    port <= 65535;
}

/*
 * A DNS host name: dot-separated labels of ASCII letters, digits and '-'
 * (1..63 octets, no '-' at either end), at most 253 octets in all, whose
 * last label is not all digits ("10.0.0" is a broken address, not a name).
 */
static bool
cfg_hostname_ok(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool digits = true;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = s[i];
		bool digit = ch >= '0' && ch <= '9';

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			if (ch == '\0')
				return !digits;
			label = 0;
			digits = true;
		} else if (digit || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch == '-' && label > 0)) {
			label++;
			digits = digits && digit;
		} else {
			return false;
		}
	}
	return false;
}

/* [dns] nameserver: a numeric address, with a port or not. */
static int
cfg_check_dns(const struct config_dns *d, config_report_cb report, void *arg)
{
	const char *ns = d->nameserver;

	if (ns[0] == '\0' || config_numeric_host(ns) ||
	    (cfg_hostport_ok(ns, 1) && ns[0] != '['))
		return 0;
	return cfg_report(report, arg, "dns", "nameserver",
	    "not a numeric address (10.0.0.53, 127.0.0.1:5353)");
}

static int
cfg_check_smpp(const struct config_smpp *s, config_report_cb report, void *arg)
{
	static const char *const required = "required when [smpp] is present";
	int n = 0;

	if (!s->enabled)
		return 0;
	if (s->host[0] == '\0')
		n += cfg_report(report, arg, "smpp", "host", required);
	else if (!config_numeric_host(s->host) && !cfg_hostname_ok(s->host))
		n += cfg_report(report, arg, "smpp", "host",
		    "neither a numeric IPv4 or IPv6 address (10.0.0.7, ::1) "
		    "nor a host name (smsc.example.net)");
	if (s->system_id[0] == '\0')
		n += cfg_report(report, arg, "smpp", "system_id", required);
	if (s->password[0] != '\0' && s->password_file[0] != '\0')
		n += cfg_report(report, arg, "smpp", "password_file",
		    "set password or password_file, not both");
	if (!s->tls && s->tls_ca_file[0] != '\0')
		n += cfg_report(
		    report, arg, "smpp", "tls_ca_file", "set, but tls is off");
	return n;
}

static int
cfg_check_http(const struct config_http *h, config_report_cb report, void *arg)
{
	int n = 0;

	if (!h->enabled)
		return 0;
	if (!cfg_hostport_ok(h->listen, 1))
		n += cfg_report(report, arg, "http", "listen",
		    "not host:port (127.0.0.1:8080, [::1]:8080)");
	if (h->admin_listen[0] != '\0' && !cfg_hostport_ok(h->admin_listen, 1))
		n += cfg_report(
		    report, arg, "http", "admin_listen", "not host:port");
	else if (strcmp(h->admin_listen, h->listen) == 0)
		n += cfg_report(report, arg, "http", "admin_listen",
		    "the same as listen (leave it empty to serve both there)");
	if (h->secret[0] != '\0' && h->secret_file[0] != '\0')
		n += cfg_report(report, arg, "http", "secret_file",
		    "set secret or secret_file, not both");
	else if (h->secret[0] == '\0' && h->secret_file[0] == '\0')
		n += cfg_report(report, arg, "http", "secret",
		    "required when [http] is present (or secret_file): "
		    "requests are signed with it");
	return n;
}

/* WhatsApp's and VK's own required keys. */
static int
cfg_check_accounts(const struct config *cfg, config_report_cb report, void *arg)
{
	int n = 0;

	if (cfg->whatsapp.enabled && cfg->whatsapp.account_id[0] == '\0')
		n += cfg_report(report, arg, "whatsapp", "phone_number_id",
		    "required (the number's id in the Cloud API)");
	if (cfg->whatsapp.enabled && cfg->whatsapp.verify_token[0] == '\0')
		n += cfg_report(report, arg, "whatsapp", "verify_token",
		    "required (the webhook verification's hub.verify_token)");
	if (cfg->vk.enabled && cfg->vk.account_id[0] == '\0')
		n += cfg_report(report, arg, "vk", "group_id", "required");
	if (cfg->vk.enabled && cfg->vk.verify_token[0] == '\0')
		n += cfg_report(report, arg, "vk", "confirmation",
		    "required (the string the Callback API server setup shows)");
	return n;
}

/* Whether a reminder channel name is a configured channel. */
static bool
cfg_channel_on(const struct config *cfg, const char *name, size_t len)
{
	const struct {
		const char *name;
		bool on;
	} map[] = { { "sms", cfg->smpp.enabled },
		{ "telegram", cfg->telegram.enabled },
		{ "max", cfg->max.enabled }, { "viber", cfg->viber.enabled },
		{ "whatsapp", cfg->whatsapp.enabled },
		{ "vk", cfg->vk.enabled } };

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strlen(map[i].name) == len &&
		    memcmp(map[i].name, name, len) == 0)
			return map[i].on;
	return false;
}

/* The reminder text's placeholders: {contract}, {to}, {date} only. */
static bool
cfg_remind_text_ok(const char *s)
{
	static const char *const vars[] = { "{contract}", "{to}", "{date}" };

	while ((s = strchr(s, '{')) != NULL) {
		size_t i = 0;

		while (i < ARRAY_SIZE(vars) &&
		    strncmp(s, vars[i], strlen(vars[i])) != 0)
			i++;
		if (i == ARRAY_SIZE(vars))
			return false;
		s += strlen(vars[i]);
	}
	return true;
}

/* [reminders]: its channels are configured, SMS has a source, WhatsApp
   a template, the text only known placeholders. */
static int
cfg_check_reminders(
    const struct config *cfg, config_report_cb report, void *arg)
{
	const struct config_reminders *r = &cfg->reminders;
	const char *s = r->channels;
	int n = 0;

	if (!r->enabled)
		return 0;
	if (s[0] == '\0')
		n += cfg_report(
		    report, arg, "reminders", "channels", "required");
	while (*s != '\0') {
		size_t len = strcspn(s, ",");

		if (!cfg_channel_on(cfg, s, len))
			n += cfg_report(report, arg, "reminders", "channels",
			    "names a channel that is not configured (sms, "
			    "telegram, max, viber, whatsapp, vk)");
		if (len == 3 && memcmp(s, "sms", 3) == 0 &&
		    r->sms_from[0] == '\0')
			n += cfg_report(report, arg, "reminders", "sms_from",
			    "required with channel sms");
		if (len == 8 && memcmp(s, "whatsapp", 8) == 0 &&
		    r->whatsapp_template[0] == '\0')
			n += cfg_report(report, arg, "reminders",
			    "whatsapp_template",
			    "required with channel whatsapp (outside the "
			    "24-hour window only a template goes)");
		s += len + (s[len] == ',');
	}
	if (!cfg_remind_text_ok(r->text))
		n += cfg_report(report, arg, "reminders", "text",
		    "only {contract}, {to} and {date} may be used");
	return n;
}

/* A messenger bot: its token and secret, and the listener it needs. */
static int
cfg_check_messenger(const struct config *cfg, const char *section,
    const struct config_messenger *m, config_report_cb report, void *arg)
{
	int n = 0;

	if (!m->enabled)
		return 0;
	if (!cfg->http.enabled)
		n += cfg_report(report, arg, section, "webhook_path",
		    "needs [http]: the webhook is served on its listener");
	if ((m->token[0] != '\0') == (m->token_file[0] != '\0'))
		n += cfg_report(report, arg, section, "token",
		    "set token or token_file (one of them)");
	/* Viber signs with the token itself */
	if (strcmp(section, "viber") != 0 &&
	    (m->secret[0] != '\0') == (m->secret_file[0] != '\0'))
		n += cfg_report(report, arg, section,
		    strcmp(section, "telegram") == 0       ? "secret_token"
		        : strcmp(section, "whatsapp") == 0 ? "app_secret"
		                                           : "secret",
		    "set the webhook secret or its _file (one of them)");
	if (m->webhook_path[0] != '/')
		n += cfg_report(
		    report, arg, section, "webhook_path", "must start with /");
	if (strncmp(m->api_base, "http://", 7) != 0 &&
	    strncmp(m->api_base, "https://", 8) != 0)
		n += cfg_report(
		    report, arg, section, "api_base", "not an http(s) URL");
	return n;
}

/*
 * Retention periods: none shorter than a day (a partition is a month; a
 * shorter period only says "drop what was just written"), nor than the
 * redelivery window, whose check reads the log; stable ids no longer than
 * the log they are joined with (docs/retention.md).
 */
static int
cfg_check_retention(
    const struct config *cfg, config_report_cb report, void *arg)
{
	const struct config_retention *r = &cfg->retention;
	const struct {
		const char *key;
		int64_t v;
	} p[] = { { "messages", r->messages }, { "outbox", r->outbox },
		{ "photos", r->photos }, { "message_ids", r->message_ids } };
	int n = 0;

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		if (p[i].v != 0 && p[i].v < DAY)
			n += cfg_report(report, arg, "retention", p[i].key,
			    "0 (keep) or at least 1d");
		else if (p[i].v != 0 && p[i].v < cfg->store.duplicate_window)
			n += cfg_report(report, arg, "retention", p[i].key,
			    "shorter than [store] duplicate_window");
	}
	if (r->messages != 0 && r->message_ids > r->messages)
		n += cfg_report(report, arg, "retention", "message_ids",
		    "longer than [retention] messages (ids go with their log rows)");
	return n;
}

int64_t
config_id_horizon(const struct config *cfg)
{
	int64_t kept = cfg->retention.message_ids != 0
	    ? cfg->retention.message_ids
	    : cfg->retention.messages;
	int64_t h;

	if (kept == 0)
		return 0;
	h = kept - cfg->store.duplicate_window - cfg->intake.max_future_skew;
	return h > 0 ? h : 1;
}

int
config_check(const struct config *cfg, config_report_cb report, void *arg)
{
	int n = cfg_check_smpp(&cfg->smpp, report, arg) +
	    cfg_check_http(&cfg->http, report, arg) +
	    cfg_check_messenger(cfg, "telegram", &cfg->telegram, report, arg) +
	    cfg_check_messenger(cfg, "max", &cfg->max, report, arg) +
	    cfg_check_messenger(cfg, "viber", &cfg->viber, report, arg) +
	    cfg_check_messenger(cfg, "whatsapp", &cfg->whatsapp, report, arg) +
	    cfg_check_messenger(cfg, "vk", &cfg->vk, report, arg) +
	    cfg_check_accounts(cfg, report, arg) +
	    cfg_check_reminders(cfg, report, arg) +
	    cfg_check_retention(cfg, report, arg) +
	    cfg_check_dns(&cfg->dns, report, arg);

	/* port 0: any free port (tests read it from the log) */
	if (cfg->console.enabled && !cfg_hostport_ok(cfg->console.listen, 0))
		n += cfg_report(report, arg, "console", "listen",
		    "not host:port (127.0.0.1:8090, [::1]:8090)");
	if (cfg->database.conninfo[0] == '\0')
		n +=
		    cfg_report(report, arg, "database", "conninfo", "required");
	if (strcmp(cfg->window.tz.name, cfg->window.timezone) != 0)
		n += cfg_report(report, arg, "window", "timezone",
		    "zone not loaded (config_load loads it)");
	return n;
}

/* ---- dump -------------------------------------------------------------- */

/* A growing string in a caller buffer; len counts what did not fit too. */
struct cfg_out {
	char *buf;
	size_t cap, len;
};

static void cfg_printf(struct cfg_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cfg_printf(struct cfg_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
	    o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* ---- conninfo masking --------------------------------------------------- */

static bool
cfg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/*
 * Whether the keyword of len bytes at k names a secret: any keyword with
 * "password" in it (password, sslpassword, and whatever libpq adds), after
 * %XX decoding (libpq decodes URI parameter names) and in any case.
 */
static bool
cfg_secret_keyword(const char *k, size_t len, bool uri)
{
	char name[64];
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < sizeof(name); i++) {
		char c = k[i];

		if (uri && c == '%' && i + 2 < len &&
		    ascii_hex(k[i + 1]) >= 0 && ascii_hex(k[i + 2]) >= 0) {
			c = (char)(ascii_hex(k[i + 1]) * 16 +
			    ascii_hex(k[i + 2]));
			i += 2;
		}
		name[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	name[n] = '\0';
	return strstr(name, "password") != NULL;
}

static bool
cfg_keyword_is(const char *k, size_t len, const char *name)
{
	return strlen(name) == len && strncmp(k, name, len) == 0;
}

/* The end of a key=value value at p: quoted with \' and \\, or bare. */
static const char *
cfg_value_end(const char *p)
{
	bool quoted = *p == '\'';

	if (quoted)
		p++;
	while (*p != '\0') {
		if (*p == '\\' && p[1] != '\0') {
			p += 2;
			continue;
		}
		if (quoted ? *p == '\'' : cfg_space(*p))
			break;
		p++;
	}
	return quoted && *p == '\'' ? p + 1 : p;
}

/*
 * key = value pairs as libpq reads them. A secret value (quotes and all) is
 * printed as ***; so is a dbname that is itself a connection string (libpq
 * expands those). What does not parse is masked to the end.
 */
static void
cfg_put_conninfo_kv(struct cfg_out *o, const char *s)
{
	const char *p = s;

	while (*p != '\0') {
		const char *k, *v, *end;
		size_t klen;

		while (cfg_space(*p))
			p++;
		k = p;
		while (*p != '\0' && *p != '=' && !cfg_space(*p))
			p++;
		klen = (size_t)(p - k);
		while (cfg_space(*p))
			p++;
		if (*p != '=') {
			if (*p != '\0' || klen > 0)
				cfg_printf(o, "%.*s***", (int)(k - s), s);
			else
				cfg_printf(o, "%s", s);
			return;
		}
		p++;
		while (cfg_space(*p))
			p++;
		v = p;
		end = cfg_value_end(v);
		if (*end != '\0' && !cfg_space(*end)) {
			/* a quoted value with more glued to it: libpq refuses
			   it, and where it ends is anyone's guess */
			cfg_printf(o, "%.*s***",
			    (int)((cfg_secret_keyword(k, klen, false) ? v
			                                              : end) -
			        s),
			    s);
			return;
		}
		if (cfg_secret_keyword(k, klen, false) ||
		    (cfg_keyword_is(k, klen, "dbname") &&
		        (memchr(v, '=', (size_t)(end - v)) != NULL ||
		            strncmp(v + (*v == '\''), "postgres", 8) == 0))) {
			cfg_printf(o, "%.*s***", (int)(v - s), s);
			s = end;
		}
		p = end;
	}
	cfg_printf(o, "%s", s);
}

/*
 * postgresql://user:secret@host/db?password=...&sslpassword=...: the
 * password of the user info and every secret parameter become ***.
 */
static void
cfg_put_conninfo_uri(struct cfg_out *o, const char *s, const char *rest)
{
	const char *at = NULL, *colon, *q;

	/* libpq ends the user info at the first '@' before any '/'; taking
	   the last '@' also hides a password with an unescaped '@', '/' or
	   '?' in it (at worst it hides more than the password) */
	at = strrchr(rest, '@');
	if (at != NULL) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon != NULL) {
			cfg_printf(o, "%.*s***", (int)(colon + 1 - s), s);
			s = at;
		}
		rest = at + 1;
	}
	if ((q = strchr(rest, '?')) == NULL) {
		cfg_printf(o, "%s", s);
		return;
	}
	for (const char *p = q + 1; *p != '\0';) {
		size_t plen = strcspn(p, "&"), klen = strcspn(p, "=&");

		if (klen < plen && cfg_secret_keyword(p, klen, true)) {
			cfg_printf(o, "%.*s***", (int)(p + klen + 1 - s), s);
			s = p + plen;
		}
		p += plen + (p[plen] == '&');
	}
	cfg_printf(o, "%s", s);
}

static void
cfg_put_conninfo(struct cfg_out *o, const char *s)
{
	static const char *const schemes[] = { "postgresql://", "postgres://" };

	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
		if (strncmp(s, schemes[i], strlen(schemes[i])) == 0) {
			cfg_put_conninfo_uri(o, s, s + strlen(schemes[i]));
			return;
		}
	}
	cfg_put_conninfo_kv(o, s);
}

size_t
config_mask_conninfo(const char *conninfo, char *buf, size_t cap)
{
	struct cfg_out o = { buf, cap, 0 };

	if (cap > 0)
		buf[0] = '\0';
	cfg_put_conninfo(&o, conninfo);
	return o.len;
}

static void
cfg_put_duration(struct cfg_out *o, int64_t v)
{
	if (v != 0 && v % DAY == 0)
		cfg_printf(o, "%" PRId64 "d", v / DAY);
	else if (v != 0 && v % HOUR == 0)
		cfg_printf(o, "%" PRId64 "h", v / HOUR);
	else if (v != 0 && v % MINUTE == 0)
		cfg_printf(o, "%" PRId64 "m", v / MINUTE);
	else
		cfg_printf(o, "%" PRId64 "s", v);
}

/*
 * Read an integer field of 1, 2, 4 or 8 bytes. Fields of 1 and 2 bytes are
 * unsigned (TON, NPI, port); a 4-byte field is signed unless is_unsigned.
 */
static int64_t
cfg_load_int(const void *field, size_t size, bool is_unsigned)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	int64_t v;

	switch (size) {
	case 1: memcpy(&u8, field, size); return u8;
	case 2: memcpy(&u16, field, size); return u16;
	case 4:
		memcpy(&u32, field, size);
		return is_unsigned ? (int64_t)u32 : (int64_t)(int32_t)u32;
	default: memcpy(&v, field, sizeof(v)); return v;
	}
}

static void
cfg_put_clock(struct cfg_out *o, int16_t min)
{
	cfg_printf(o, "%02d:%02d", min / 60, min % 60);
}

static void
cfg_put_daylist(struct cfg_out *o, const struct config_daylist *l)
{
	for (unsigned i = 0; i < l->n; i++)
		cfg_printf(o, "%s%u", i ? "," : "", l->day[i]);
}

static void
cfg_put_value(struct cfg_out *o, const struct cfg_key *k, const char *field)
{
	const struct config_window *w = (const void *)field;
	int64_t v = 0;
	bool b;

	if (cfg_is_number(k->type) || k->type == CFG_ENUM ||
	    k->type == CFG_POLICY)
		v = cfg_load_int(field, k->size, k->flags & CFG_HEX);
	switch (k->type) {
	case CFG_STR:
	case CFG_TZ:
		if (k->flags & CFG_SECRET && strcmp(k->key, "conninfo") == 0)
			cfg_put_conninfo(o, field);
		else if (k->flags & CFG_SECRET)
			cfg_printf(o, "%s", field[0] ? "(set)" : "");
		else
			cfg_printf(o, "%s", field);
		break;
	case CFG_INT:
		cfg_printf(
		    o, k->flags & CFG_HEX ? "0x%" PRIx64 : "%" PRId64, v);
		break;
	case CFG_DURATION: cfg_put_duration(o, v); break;
	case CFG_MSEC:
		if (v % 1000 != 0)
			cfg_printf(o, "%" PRId64 "ms", v);
		else
			cfg_put_duration(o, v / 1000);
		break;
	case CFG_LIMIT:
		cfg_printf(o, "%" PRId64, v / 1000);
		if (v % 1000 != 0)
			cfg_printf(o, ".%03" PRId64, v % 1000);
		break;
	case CFG_BOOL:
		memcpy(&b, field, sizeof(b));
		cfg_printf(o, "%s", b ? "true" : "false");
		break;
	case CFG_ENUM: cfg_printf(o, "%s", k->names[v]); break;
	case CFG_POLICY:
		cfg_printf(o, "%s",
		    v == CONFIG_POLICY_REJECT       ? "reject"
		        : v == CONFIG_POLICY_ACCEPT ? "accept"
		                                    : "");
		break;
	case CFG_DAYS:
		if (w->from != 0)
			cfg_printf(o, "%u-%u", w->from, w->to);
		break;
	case CFG_DAYLIST: cfg_put_daylist(o, (const void *)field); break;
	case CFG_CLOCK:
		cfg_put_clock(o, *(const int16_t *)(const void *)field);
		break;
	case CFG_CLOCKS: {
		const struct config_clock_range *r = (const void *)field;

		if (r->from != r->to) {
			cfg_put_clock(o, r->from);
			cfg_printf(o, "-");
			cfg_put_clock(o, r->to);
		}
		break;
	}
	}
}

/*
 * "key = " before a value, but "key =" before one that begins with ';':
 * after a space inih reads it as a comment (an empty value), right after
 * the '=' as the value's first character, which is how it was loaded.
 */
static void
cfg_put_key(struct cfg_out *o, const char *key, char first)
{
	cfg_printf(o, first == ';' ? "%s =" : "%s = ", key);
}

/* The first character of a key's dump (a probe: masking may change it). */
static char
cfg_value_first(const struct cfg_key *k, const char *field)
{
	char first[2];
	struct cfg_out probe = { first, sizeof(first), 0 };

	first[0] = '\0';
	cfg_put_value(&probe, k, field);
	return first[0];
}

size_t
config_dump(const struct config *cfg, char *buf, size_t cap)
{
	struct cfg_out o = { buf, cap, 0 };
	const char *section = "";

	if (cap > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(cfg_keys); i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if ((strcmp(k->section, "smpp") == 0 && !cfg->smpp.enabled) ||
		    (strcmp(k->section, "http") == 0 && !cfg->http.enabled) ||
		    (strcmp(k->section, "telegram") == 0 &&
		        !cfg->telegram.enabled) ||
		    (strcmp(k->section, "max") == 0 && !cfg->max.enabled) ||
		    (strcmp(k->section, "viber") == 0 && !cfg->viber.enabled) ||
		    (strcmp(k->section, "whatsapp") == 0 &&
		        !cfg->whatsapp.enabled) ||
		    (strcmp(k->section, "vk") == 0 && !cfg->vk.enabled) ||
		    (strcmp(k->section, "reminders") == 0 &&
		        !cfg->reminders.enabled))
			continue; /* a disabled channel has no section */
		if (strcmp(section, k->section) != 0)
			cfg_printf(&o, "%s[%s]\n", o.len ? "\n" : "",
			    section = k->section);
		cfg_put_key(
		    &o, k->key, cfg_value_first(k, (const char *)cfg + k->off));
		cfg_put_value(&o, k, (const char *)cfg + k->off);
		cfg_printf(&o, "\n");
	}
	cfg_printf(&o, "\n[templates]\n");
	for (int i = 0; i < TPL__MAX; i++) {
		cfg_put_key(&o, tpl_name(i), cfg->templates[i][0]);
		cfg_printf(&o, "%s\n", cfg->templates[i]);
	}
	return o.len;
}
