/*
 * Configuration: one struct, one defaults function, one table of keys
 * (src/core/config.c), and a loader for the INI file (src/conf/config_load.c,
 * libinih). Everything is validated at load so the rest of the code trusts
 * the values. etc/meterline.conf documents every key with its default.
 *
 * struct config is fixed-size and pointer-free (the time zone and the reply
 * templates are embedded), so it can be copied, and reloading never leaves
 * a half-built config behind: load into a new struct, then swap.
 */
#ifndef METERLINE_CONFIG_H
#define METERLINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/log.h"
#include "meterline/model.h"
#include "meterline/templates.h"
#include "meterline/tz.h"

#define CONFIG_HOST_MAX 255
#define CONFIG_PATH_MAX 511
#define CONFIG_CONNINFO_MAX 1023
#define CONFIG_SECRET_MAX 255

enum config_policy {
	CONFIG_POLICY_UNSET, /* per-resource key absent: use [window] policy */
	CONFIG_POLICY_REJECT, /* a value outside the window is rejected */
	CONFIG_POLICY_ACCEPT, /* accepted, flagged outside_window */
};

enum config_bind {
	CONFIG_BIND_TRANSCEIVER, /* one bind_transceiver */
	CONFIG_BIND_PAIR, /* bind_receiver + bind_transmitter */
};

/* Days of the month readings are taken, inclusive; from > to wraps (30-3). */
struct config_window {
	uint8_t from, to; /* 1..31; 0 = unset (inherit) */
	enum config_policy policy;
};

/* [database] pooler: how serve reaches PostgreSQL (db.h enum db_pooler). */
enum config_pooler { CONFIG_POOLER_NONE, CONFIG_POOLER_TRANSACTION };

struct config_database {
	char conninfo[CONFIG_CONNINFO_MAX + 1]; /* libpq; may hold a password */
	enum config_pooler pooler; /* a transaction pooler in between */
};

/*
 * [smpp]: the channel is enabled when the section is present. The SMPP link
 * (smpp_link_new) takes this struct as it is, so fields have the types and
 * units the link uses (times in milliseconds); the key names are in the
 * table of src/core/config.c and in etc/meterline.conf.
 */
struct config_smpp {
	bool enabled;
	/* numeric address: no DNS on the loop */
	char host[CONFIG_HOST_MAX + 1];
	uint16_t port;
	/* SMPP limits: 15, 8, 12 characters */
	char system_id[16];
	/* secret, never logged */
	char password[9];
	char password_file[CONFIG_PATH_MAX + 1];
	char system_type[13];
	enum config_bind bind;
	/* the bind's address_range TON/NPI and the range (40 characters) */
	uint8_t addr_ton, addr_npi;
	char address_range[41];
	/* outstanding submit_sm per bind */
	unsigned window;
	/* key enquire_link_interval: idle time before an enquire_link */
	int enquire_link_ms;
	/* key response_timeout: how long to wait for any *_resp */
	int response_timeout_ms;
	/* key reconnect_max: the cap of the reconnect backoff */
	int reconnect_max_ms;
	/* the deliver_sm_resp status when the message cannot be stored */
	uint32_t temporary_error_status;
	/* source of replies (the short number) */
	uint8_t reply_ton, reply_npi;
	/* ask for delivery receipts */
	bool registered_delivery;
	bool tls;
	/* PEM trust anchors; "" = the system CAs */
	char tls_ca_file[CONFIG_PATH_MAX + 1];
	/* the name or IP the certificate must carry; "" = host */
	char tls_server_name[CONFIG_HOST_MAX + 1];
	/* check the certificate and its name */
	bool tls_verify;
	/*
	 * key max_message_length: octets of UTF-8 text an MO message keeps;
	 * longer ones are cut at a character boundary (docs/security.md)
	 */
	unsigned max_message_length;
	/*
	 * key ack_lost: an answer written at most this long before its
	 * connection closed may not have reached the SMSC; a repeat of that
	 * message is then taken for a redelivery (docs/store.md)
	 */
	int ack_lost_ms;
	/*
	 * key concat_timeout: how long the parts of a concatenated MO wait
	 * for the rest before what arrived is processed (docs/smpp.md)
	 */
	int concat_timeout_ms;
};

/*
 * [http]: the messenger bridge; enabled when the section is present. The
 * HTTP intake (http_intake_new) takes this struct as it is.
 */
struct config_http {
	bool enabled;
	/* "127.0.0.1:8080", "[::1]:8080"; port 0 = any (tests) */
	char listen[CONFIG_HOST_MAX + 1];
	/* /healthz and /metrics only here; "" = on listen */
	char admin_listen[CONFIG_HOST_MAX + 1];
	/* the HMAC-SHA256 key requests are signed with; secret */
	char secret[CONFIG_SECRET_MAX + 1];
	char secret_file[CONFIG_PATH_MAX + 1];
	/* messages per minute per sender, 0 = off */
	int rate_limit;
	/* the bucket size of the rate limit */
	int rate_burst;
	/* bytes; larger bodies get 413 */
	size_t max_body;
	/* open connections on listen; 0 = derived from RLIMIT_NOFILE */
	int max_connections;
	/* seconds from a request's first byte to its last */
	int64_t request_timeout;
	/* seconds a connection may stay silent (keep-alive, between reads) */
	int64_t idle_timeout;
	/* seconds X-Meterline-Timestamp may be off the clock; 0 = no check */
	int64_t max_skew;
	/* refuse requests without X-Meterline-Timestamp */
	bool require_timestamp;
};

/* [verify]: who may act on a contract (docs/dialog.md, "Bound senders"). */
enum config_verify_mode {
	CONFIG_VERIFY_OFF, /* anyone, as before issue 17 */
	CONFIG_VERIFY_BOUND, /* only senders bound to the contract */
	/* as bound, and an unbound sender is asked a question from billing
	   data (the meter's serial) that binds it (docs/dialog.md) */
	CONFIG_VERIFY_CHALLENGE,
};

struct config_verify {
	enum config_verify_mode mode;
	int64_t lockout; /* challenge: seconds locked out after the last
	                    wrong answer allowed */
	int attempts; /* challenge: wrong answers allowed */
};

/*
 * [telegram], [max], [viber], [whatsapp], [vk]: a messenger bot (docs/channels.md). The section
 * enables the channel; its webhook is served on the [http] listener.
 */
struct config_messenger {
	bool enabled;
	/* the bot's API token; secret */
	char token[CONFIG_SECRET_MAX + 1];
	char token_file[CONFIG_PATH_MAX + 1];
	/* what the platform sends in its secret header; secret */
	char secret[CONFIG_SECRET_MAX + 1];
	char secret_file[CONFIG_PATH_MAX + 1];
	/* "https://api.telegram.org"; tests point it at a local fake */
	char api_base[CONFIG_HOST_MAX + 1];
	/* the webhook's path on the [http] listener */
	char webhook_path[128];
	/* replies per second to the platform's API */
	int send_rate;
	/* bytes of a photo kept with its message */
	size_t photo_max;
	/* [viber] bot_name: the sender name of every message */
	char bot_name[64];
	/* [whatsapp] verify_token (hub.verify_token); [vk] confirmation */
	char verify_token[CONFIG_SECRET_MAX + 1];
	/* [whatsapp] phone_number_id; [vk] group_id */
	char account_id[64];
	/* [vk] api_version */
	char api_version[16];
	/* [whatsapp] template: the only message allowed outside the 24-hour
	   window ("" refuses those replies); template_lang its language */
	char template_name[128];
	char template_lang[16];
	/* not a key: the help text, filled by serve for Viber's welcome */
	char welcome[512];
};

/*
 * [console]: the support console and the billing API (docs/console.md);
 * enabled when the section is present. The console (console_new) takes
 * this struct as it is.
 */
struct config_console {
	bool enabled;
	/* "127.0.0.1:8090"; port 0 = any (tests) */
	char listen[CONFIG_HOST_MAX + 1];
	/* seconds a session may stay unused, and may live at most */
	int64_t session_idle;
	int64_t session_max;
	/* failed logins within login_window that lock a user, an address */
	int login_max_failures;
	int login_max_failures_addr;
	int64_t login_window;
	/* open connections; seconds from a request's first byte to its last;
	   seconds a keep-alive connection may stay silent */
	int max_connections;
	int64_t request_timeout;
	int64_t idle_timeout;
	/* take the client address from X-Forwarded-For (behind a proxy) */
	bool trust_forwarded;
};

/*
 * [reminders]: reminders before the deadline (docs/reminders.md); enabled
 * when the section is present. Times of day are local ([window] timezone),
 * in minutes after midnight.
 */
#define CONFIG_REMIND_DAYS_MAX 8
#define CONFIG_REMIND_TEXT_MAX 320

struct config_daylist {
	uint8_t n; /* 0: none */
	uint8_t day[CONFIG_REMIND_DAYS_MAX]; /* 1..31, ascending, distinct */
};

/* "21:00-09:00"; from == to: none. May wrap over midnight. */
struct config_clock_range {
	int16_t from, to; /* minutes after local midnight */
};

struct config_reminders {
	bool enabled;
	struct config_daylist days; /* days of the month, "20,24" */
	int16_t time; /* key time: not before this local time, "10:00" */
	struct config_clock_range quiet; /* key quiet_hours: nothing sent */
	/* comma-separated channel names: sms, telegram, max, viber,
	   whatsapp, vk; each must be configured */
	char channels[64];
	int rate; /* reminders per second per channel into its outbox */
	char sms_from[21]; /* the source address of an SMS reminder */
	/* the approved WhatsApp template a reminder goes as */
	char whatsapp_template[128];
	/* {contract}, {to} (the window's last day), {date} (its dd.mm) */
	char text[CONFIG_REMIND_TEXT_MAX + 1];
};

struct config_dialog {
	int64_t expiry; /* seconds of idle time before a dialog expires */
};

struct config_window_set {
	char timezone[TZ_NAME_MAX + 1]; /* IANA name */
	struct tz tz; /* loaded from timezone */
	struct config_window all; /* [window] days, policy */
	struct config_window res[MODEL__RES_MAX]; /* days.<resource>... */
};

/* Daily maxima in thousandths of a meter unit (kWh, m³) per day. */
struct config_limits {
	uint32_t daily_milli[MODEL__RES_MAX];
};

struct config_store {
	int batch_max; /* messages per transaction */
	int connections; /* batches overlap on this many */
	int64_t duplicate_window; /* seconds an SMS redelivery is recognised */
	int gather_ms; /* a batch waits this long for more (store.c) */
};

/*
 * [intake]: bounds on a message's own time against the clock, for the
 * channels that are told it (the bridge's "timestamp", replay's lines).
 * Seconds; 0 turns a bound off. intake_time_check() (intake.h).
 */
struct config_intake {
	int64_t max_future_skew; /* ahead of the clock at most */
	int64_t max_age; /* behind the clock at most */
};

/*
 * [retention] (docs/retention.md): how long rows are kept, in seconds;
 * 0 keeps them forever. `meterline maintain` (and serve every interval)
 * drops the monthly partitions of messages and outbox that lie wholly
 * before now - period, and deletes older photos and stable ids.
 */
struct config_retention {
	int64_t messages; /* the message log (and its ids with it) */
	int64_t outbox; /* replies and their delivery state */
	int64_t photos; /* message_photos */
	int64_t message_ids; /* the never-twice ids; 0: as long as messages */
	int64_t interval; /* serve runs the maintenance this often; 0: never */
};

/* [dns]: the resolver of host names on the event loop (docs/dns.md) */
struct config_dns {
	/* "10.0.0.53" or "127.0.0.1:5353"; "" = /etc/resolv.conf's */
	char nameserver[CONFIG_HOST_MAX + 1];
	/* how long one query waits for an answer */
	int timeout_ms;
	/* queries sent before a name fails */
	int attempts;
};

struct config_log {
	enum log_level level;
};

/* [security] */
struct config_security {
	/* a *_file secret readable or writable by group or others is
	   refused (true) or only warned about (false) */
	bool strict_secret_files;
};

struct config {
	struct config_database database;
	struct config_smpp smpp;
	struct config_http http;
	struct config_messenger telegram, max, viber, whatsapp, vk;
	struct config_console console;
	struct config_dialog dialog;
	struct config_verify verify;
	struct config_window_set window;
	struct config_limits limits;
	struct config_store store;
	struct config_intake intake;
	struct config_retention retention;
	struct config_log log;
	struct config_security security;
	struct config_reminders reminders;
	struct config_dns dns;
	char templates[TPL__MAX][TPL_MAX + 1];
};

/*
 * Fill every field with its default from the key table. The time zone is
 * Europe/Moscow as the built-in rule "MSK-3" (exact since 2014-10-26);
 * config_load() replaces it with the full TZif history.
 */
void config_defaults(struct config *);

/*
 * Set one key from its text. section and key as in the file ("smpp",
 * "port"); a key inside a known section also marks the section present.
 * Returns 0, or -1 with why (without file, line or key) in why.
 */
int config_set(struct config *, const char *section, const char *key,
    const char *value, char *why, size_t whylen);

/* Mark a section present (a channel section enables its channel). */
int
config_section(struct config *, const char *section, char *why, size_t whylen);

/* Whether section.key is a secret (its value is never printed). */
bool config_key_secret(const char *section, const char *key);

/*
 * Cross-key checks after every key is set: required keys of enabled
 * channels, password vs password_file, the time zone loaded... Calls report
 * once per problem with the "section.key" concerned; returns the count.
 */
typedef void (*config_report_cb)(
    const char *section, const char *key, const char *why, void *arg);
int config_check(const struct config *, config_report_cb, void *arg);

/*
 * How far behind the clock, in seconds, a message's time may lie so that
 * its stable id, had it been applied, is still in message_ids under
 * [retention] (docs/retention.md): the ids' period (or the log's), less
 * the redelivery window (a duplicate is replayed under its original's id,
 * up to that much older) and the allowed future skew (an id is written up
 * to that much before its message's time). 0: ids are kept forever.
 */
int64_t config_id_horizon(const struct config *);

/* The window in effect for a resource (per-resource keys over [window]). */
struct config_window
config_window_for(const struct config *, enum model_resource);

/*
 * Print the whole config as INI into buf (cap bytes, NUL included), secrets
 * shown as "(set)" and conninfo through config_mask_conninfo. Returns the
 * length it needed (as snprintf).
 */
size_t config_dump(const struct config *, char *buf, size_t cap);

/*
 * conninfo (libpq key = value pairs or a postgresql:// URI) with every
 * secret masked as ***: the value of any keyword containing "password"
 * (password, sslpassword; quoted values with \' and \\ too), the
 * password of a URI's user info and secret URI parameters, and a dbname
 * that is itself a connection string. Text that does not parse is masked
 * to its end. Into buf (cap bytes); returns the length needed.
 */
size_t config_mask_conninfo(const char *conninfo, char *buf, size_t cap);

/* Whether host is a numeric IPv4 or IPv6 address (no brackets, no zone). */
bool config_numeric_host(const char *host);

/* Parse durations "90", "90s", "30m", "2h", "7d" into seconds. */
int config_parse_duration(const char *, int64_t *seconds);

/* The same into milliseconds, also "500ms"; "90" is still seconds. */
int config_parse_duration_ms(const char *, int64_t *ms);

#endif
