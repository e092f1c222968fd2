/*
 * Every statement of the console, prepared at each connect of its own
 * database connection. Parameters are text with casts. The console's
 * session plans each execution with its own parameters (plan_cache_mode =
 * force_custom_plan, console.c): the searches have optional filters
 * ("$1 IS NULL OR ..."), which a generic plan could not use an index for.
 *
 * Text columns in the console's indexes are compared under "C" (as in
 * migration 0002): the statements say COLLATE "C" where an index needs it.
 * Writes that change readings are functions of migration 0006, one
 * transaction each, under the registers' row locks the store takes.
 */
#include "console_int.h"

/* The local time of a timestamptz, for pages (the session's TimeZone). */
#define LT(x) "to_char(" x ", 'YYYY-MM-DD HH24:MI:SS')"

/* clang-format off */
const struct db_stmt console_stmts[CS__N] = {
	/* $1 token hash (hex), $2 idle seconds, $3 max seconds */
	[CS_SESSION] = { "cs_session",
	    "UPDATE console_sessions AS s SET seen_at = now()"
	    " FROM console_users AS u"
	    " WHERE s.token_hash = decode($1::text, 'hex') AND u.name = s.username"
	    " AND NOT u.disabled"
	    " AND s.seen_at > now() - make_interval(secs => $2::integer)"
	    " AND s.created_at > now() - make_interval(secs => $3::integer)"
	    " RETURNING s.username, u.role, s.csrf", 3 },
	/* $1 user, $2 addr, $3 window seconds: failures of each, the hash */
	[CS_LOGIN_CHECK] = { "cs_login_check",
	    "SELECT (SELECT count(*) FROM console_logins WHERE NOT ok"
	    "   AND username = $1::text AND at > now() - make_interval(secs => $3::integer)),"
	    " (SELECT count(*) FROM console_logins WHERE NOT ok"
	    "   AND addr = $2::text AND at > now() - make_interval(secs => $3::integer)),"
	    " (SELECT pwhash FROM console_users WHERE name = $1::text AND NOT disabled)", 3 },
	[CS_LOGIN_FAIL] = { "cs_login_fail",
	    "INSERT INTO console_logins (username, addr, ok)"
	    " VALUES ($1::text, $2::text, false)", 2 },
	/* $1 user, $2 addr, $3 token hash, $4 csrf */
	[CS_LOGIN_OK] = { "cs_login_ok",
	    "WITH l AS (INSERT INTO console_logins (username, addr, ok)"
	    "   VALUES ($1::text, $2::text, true)),"
	    " s AS (INSERT INTO console_sessions (token_hash, username, csrf, addr)"
	    "   VALUES (decode($3::text, 'hex'), $1::text, $4::text, $2::text)),"
	    " o AS (DELETE FROM console_sessions WHERE username = $1::text"
	    "   AND seen_at < now() - interval '7 days')"
	    " INSERT INTO console_audit (actor, addr, action)"
	    " VALUES ($1::text, $2::text, 'login')", 4 },
	[CS_LOGOUT] = { "cs_logout",
	    "WITH d AS (DELETE FROM console_sessions"
	    "   WHERE token_hash = decode($1::text, 'hex') RETURNING username)"
	    " INSERT INTO console_audit (actor, addr, action)"
	    " SELECT username, $2::text, 'logout' FROM d", 2 },
	/* $1 sender, $2 contract, $3 text, $4 from date, $5 to date (incl.),
	 * $6 channel, $7 outcome, $8 limit */
	[CS_SEARCH] = { "cs_search",
	    "SELECT m.id, " LT("m.received_at") ", m.channel, m.sender, m.text,"
	    " m.contract, m.outcome, m.reason, m.reply"
	    " FROM messages AS m"
	    " WHERE ($1::text IS NULL OR m.sender COLLATE \"C\" = $1::text)"
	    " AND ($2::text IS NULL OR m.contract COLLATE \"C\" = $2::text)"
	    " AND ($3::text IS NULL OR m.text ILIKE '%' || $3::text || '%')"
	    " AND ($4::date IS NULL OR m.received_at >= $4::date)"
	    " AND ($5::date IS NULL OR m.received_at < $5::date + 1)"
	    " AND ($6::text IS NULL OR m.channel = $6::text)"
	    " AND ($7::text IS NULL OR m.outcome = $7::text)"
	    " ORDER BY m.logged_at DESC, m.id DESC LIMIT $8::integer", 8 },
	/* $1 channel, $2 sender: the newest 500 messages, oldest first */
	[CS_CONVERSATION] = { "cs_conversation",
	    "SELECT * FROM (SELECT m.id, " LT("m.received_at") ", m.channel,"
	    " m.sender, m.recipient, m.text, m.contract, m.outcome, m.reason,"
	    " m.reply, m.flags, o.state, o.dlr_state, m.duplicate_of,"
	    " m.received_at AS t,"
	    " (SELECT p.state FROM message_photos AS p WHERE p.message_id = m.id)"
	    " FROM messages AS m"
	    " LEFT JOIN LATERAL (SELECT state, dlr_state FROM outbox"
	    "   WHERE message_id = m.id ORDER BY id DESC LIMIT 1) AS o ON true"
	    " WHERE m.sender COLLATE \"C\" = $2::text AND m.channel = $1::text"
	    " ORDER BY m.logged_at DESC, m.id DESC LIMIT 500) AS x"
	    " ORDER BY t, id", 2 },
	[CS_CONTRACT] = { "cs_contract",
	    "SELECT c.contract, c.resource, c.status, g.position, g.name,"
	    " g.digits, g.last_value, g.last_date"
	    " FROM contracts AS c JOIN registers AS g USING (contract)"
	    " WHERE c.contract = $1::text ORDER BY g.position", 1 },
	/* newest first; at most 240 rows (two years of three registers...) */
	[CS_CONTRACT_READINGS] = { "cs_contract_readings",
	    "SELECT r.id, r.submission_id, s.local_date,"
	    " " LT("s.submitted_at") ", s.channel, s.sender, r.position,"
	    " r.value, r.previous, r.consumption, r.status, s.flags, s.message_id,"
	    " to_char(s.local_date, 'YYYY-MM')"
	    " FROM readings AS r JOIN submissions AS s"
	    "   ON s.id = r.submission_id AND s.created_at = r.created_at"
	    " WHERE r.contract COLLATE \"C\" = $1::text"
	    " ORDER BY s.local_date DESC, r.id DESC LIMIT 240", 1 },
	[CS_CONTRACT_DIALOGS] = { "cs_contract_dialogs",
	    "SELECT channel, sender, next, nregisters, array_to_string(vals, ' '),"
	    " " LT("to_timestamp(started_us / 1e6)") ","
	    " " LT("to_timestamp(last_us / 1e6)")
	    " FROM dialogs WHERE contract = $1::text ORDER BY started_us", 1 },
	[CS_REVIEW_QUEUE] = { "cs_review_queue",
	    "SELECT s.id, s.contract, s.local_date, " LT("s.submitted_at") ","
	    " s.channel, s.sender, s.flags, s.daily_milli,"
	    " string_agg(r.position || ': ' || coalesce(r.previous::text, '—')"
	    "   || ' → ' || r.value || ' (+' || r.consumption || ')', '; '"
	    "   ORDER BY r.position)"
	    " FROM readings AS r JOIN submissions AS s"
	    "   ON s.id = r.submission_id AND s.created_at = r.created_at"
	    " WHERE r.status = 'review'"
	    " GROUP BY s.id, s.contract, s.local_date, s.submitted_at, s.channel,"
	    "   s.sender, s.flags, s.daily_milli"
	    " ORDER BY s.submitted_at LIMIT 200", 0 },
	/* $1 contract, $2 reading, $3 value, $4 actor, $5 addr, $6 reason */
	[CS_CORRECT] = { "cs_correct",
	    "SELECT console_correct($1::text, $2::bigint, $3::integer, $4::text,"
	    " $5::text, $6::text)", 6 },
	[CS_ANNUL] = { "cs_annul",
	    "SELECT console_annul($1::text, $2::bigint, $3::text, $4::text,"
	    " $5::text)", 5 },
	/* $1 contract, $2 submission, $3 approve, $4 actor, $5 addr, $6 reason */
	[CS_REVIEW] = { "cs_review",
	    "SELECT console_review($1::text, $2::bigint, $3::boolean, $4::text,"
	    " $5::text, $6::text)", 6 },
	[CS_USERS] = { "cs_users",
	    "SELECT name, role, disabled, " LT("created_at") ","
	    " (SELECT " LT("max(at)") " FROM console_logins"
	    "   WHERE username = name AND ok)"
	    " FROM console_users ORDER BY name", 0 },
	/* $1 name, $2 role, $3 hash, $4 actor, $5 addr */
	[CS_USER_ADD] = { "cs_user_add",
	    "WITH u AS (INSERT INTO console_users (name, role, pwhash)"
	    "   VALUES ($1::text, $2::text, $3::text) RETURNING name, role)"
	    " INSERT INTO console_audit (actor, addr, action, object, after)"
	    " SELECT $4::text, $5::text, 'user.add', 'user ' || name,"
	    " jsonb_build_object('role', role) FROM u", 5 },
	/* $1 name, $2 actor, $3 addr */
	[CS_USER_DISABLE] = { "cs_user_disable",
	    "WITH u AS (UPDATE console_users SET disabled = true, updated_at = now()"
	    "   WHERE name = $1::text AND NOT disabled RETURNING name),"
	    " s AS (DELETE FROM console_sessions WHERE username IN (SELECT name FROM u))"
	    " INSERT INTO console_audit (actor, addr, action, object, before, after)"
	    " SELECT $2::text, $3::text, 'user.disable', 'user ' || name,"
	    " '{\"disabled\": false}', '{\"disabled\": true}' FROM u"
	    " RETURNING 1", 3 },
	[CS_AUDIT] = { "cs_audit",
	    "SELECT id, " LT("at") ", actor, addr, action, object,"
	    " before::text, after::text, reason"
	    " FROM console_audit ORDER BY id DESC LIMIT 200", 0 },
	[CS_API_TOKEN] = { "cs_api_token",
	    "UPDATE api_tokens SET used_at = now()"
	    " WHERE token_hash = decode($1::text, 'hex') AND revoked_at IS NULL"
	    " RETURNING name", 1 },
	/*
	 * $1 feed xid, $2 id (the cursor), $3 limit. Only rows of
	 * transactions older than every one still running: a row committed
	 * later can never sort before a cursor handed out (docs/console.md).
	 * The page is the rest of the cursor's transaction, then the rows of
	 * later ones, each an ordered index scan under LIMIT: written as one
	 * row comparison, (feed_xid, id) > ($1, $2), the planner estimated a
	 * handful of rows when the cursor's transaction held many, sorted
	 * them all and took 13 s a page on a million readings.
	 */
	[CS_API_PAGE] = { "cs_api_page",
	    CONSOLE_READING_SELECT_FROM("("
	    " (SELECT * FROM readings WHERE feed_xid = $1::xid8 AND id > $2::bigint"
	    "  AND feed_xid < pg_snapshot_xmin(pg_current_snapshot())"
	    "  ORDER BY id LIMIT $3::integer)"
	    " UNION ALL"
	    " (SELECT * FROM readings WHERE feed_xid > $1::xid8"
	    "  AND feed_xid < pg_snapshot_xmin(pg_current_snapshot())"
	    "  ORDER BY feed_xid, id LIMIT $3::integer)"
	    " ORDER BY feed_xid, id LIMIT $3::integer)")
	    " ORDER BY r.feed_xid, r.id", 3 },
	/* the house manager's page (house.c): $1 user, $2 admin, $3 house */
	[CS_HOUSES] = { "cs_houses", house_sql_list, 2 },
	[CS_HOUSE] = { "cs_house", house_sql_one, 3 },
	[CS_HOUSE_FLATS] = { "cs_house_flats", house_sql_flats, 3 },
	/* $1 message id, $2 channel, $3 sender: its own time (replay) */
	[CS_REPLAY_MESSAGE] = { "cs_replay_message",
	    "SELECT (extract(epoch FROM received_at) * 1000000)::bigint"
	    " FROM messages WHERE id = $1::bigint AND channel = $2::text"
	    " AND sender COLLATE \"C\" = $3::text LIMIT 1", 3 },
	/* $1 message id: a messenger photo as stored (docs/channels.md) */
	[CS_PHOTO] = { "cs_photo",
	    "SELECT state, bytes FROM message_photos"
	    " WHERE message_id = $1::bigint", 1 },
};
/* clang-format on */
