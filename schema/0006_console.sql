-- 0006: the support console and the billing export (docs/console.md).
--
-- Accounts, sessions, login attempts, the audit log and API tokens; a
-- stable feed position on every reading for GET /api/v1/readings; the
-- statuses support gives readings; the indexes the console's searches
-- need; and the console's writes as functions, each one transaction under
-- the registers' row locks the store takes (docs/store.md, "Locking").

-- ---- accounts -------------------------------------------------------------

-- Passwords as libsodium crypto_pwhash_str (argon2id; the string carries
-- its salt and cost parameters), never the password.
CREATE TABLE console_users (
	name       text COLLATE "C" PRIMARY KEY
	           CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	role       text NOT NULL CHECK (role IN ('admin', 'support', 'manager')),
	pwhash     text NOT NULL CHECK (pwhash LIKE '$argon2id$%'),
	disabled   boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the SHA-256 of its cookie; the cookie itself is
-- only in the browser. csrf is the token every form of the session posts.
CREATE TABLE console_sessions (
	token_hash bytea PRIMARY KEY,
	username   text COLLATE "C" NOT NULL REFERENCES console_users ON DELETE CASCADE,
	csrf       text NOT NULL,
	addr       text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_sessions_user ON console_sessions (username);

-- Every login attempt, for the per-user and per-address limits.
CREATE TABLE console_logins (
	at       timestamptz NOT NULL DEFAULT now(),
	username text COLLATE "C" NOT NULL,
	addr     text COLLATE "C" NOT NULL,
	ok       boolean NOT NULL
);
CREATE INDEX console_logins_user ON console_logins (username, at) WHERE NOT ok;
CREATE INDEX console_logins_addr ON console_logins (addr, at) WHERE NOT ok;

-- Who changed what, when, before and after. Written in the transaction of
-- the change itself.
CREATE TABLE console_audit (
	id     bigserial PRIMARY KEY,
	at     timestamptz NOT NULL DEFAULT now(),
	actor  text NOT NULL,		-- console user, or cli:<unix user>
	addr   text,
	action text NOT NULL,
	object text,
	before jsonb,
	after  jsonb,
	reason text
);

-- Bearer tokens of billing integrations, stored as SHA-256 (the token is
-- 256 random bits: no KDF needed, and a lookup by hash is exact).
CREATE TABLE api_tokens (
	name       text COLLATE "C" PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	token_hash bytea NOT NULL UNIQUE,
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz,
	used_at    timestamptz
);

-- ---- readings: identity, feed position, statuses ---------------------------

-- id names one row for ever. feed_xid is the transaction that last wrote
-- the row (insert, or an update of its value or status): the export API
-- reads rows in (feed_xid, id) order and only those of transactions older
-- than every transaction still running (pg_snapshot_xmin), so a row never
-- appears behind a cursor already handed out (docs/console.md).
CREATE SEQUENCE readings_id_seq;
ALTER TABLE readings
	ADD COLUMN id bigint NOT NULL DEFAULT nextval('readings_id_seq'),
	ADD COLUMN feed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX readings_feed ON readings (feed_xid, id);
CREATE INDEX readings_contract ON readings (contract COLLATE "C", position);
CREATE INDEX readings_review ON readings (created_at) WHERE status = 'review';

CREATE FUNCTION console_readings_restamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status IS DISTINCT FROM OLD.status OR NEW.value IS DISTINCT FROM OLD.value THEN
		NEW.feed_xid := pg_current_xact_id();
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER readings_restamp BEFORE UPDATE ON readings
	FOR EACH ROW EXECUTE FUNCTION console_readings_restamp();

-- Statuses: the store's (accepted, review; superseded from 0004 when it is
-- there) and support's: corrected (a new row replacing a superseded one),
-- annulled, rejected (a flagged reading refused in review). Whatever check
-- an earlier migration left on status is replaced by one that knows all.
DO $$
DECLARE c record;
BEGIN
	FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
	         WHERE contype = 'c' AND conrelid IN ('readings'::regclass, 'submissions'::regclass)
	           AND pg_get_constraintdef(oid) LIKE '%status%' LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
	END LOOP;
END $$;
ALTER TABLE readings ADD CONSTRAINT readings_status_check CHECK (status IN
	('accepted', 'review', 'superseded', 'corrected', 'annulled', 'rejected'));
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check CHECK (status IN
	('accepted', 'review', 'superseded', 'corrected', 'annulled', 'rejected'));

-- ---- the console's searches --------------------------------------------------

-- By phone (any channel's sender) and by contract, newest first.
CREATE INDEX messages_sender ON messages (sender COLLATE "C", logged_at);
CREATE INDEX messages_contract ON messages (contract COLLATE "C", logged_at)
	WHERE contract IS NOT NULL;
-- A reply's delivery state, for the conversation view.
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;

-- ---- support's writes ---------------------------------------------------------

-- Lock every register of a contract in position order, as the store does
-- (FOR NO KEY UPDATE in (contract, position) order), so a correction and a
-- batch touching the contract serialise and cannot deadlock.
CREATE FUNCTION console_lock_contract(c text) RETURNS void
LANGUAGE sql AS $$
	SELECT 1 FROM registers WHERE contract = c ORDER BY position FOR NO KEY UPDATE;
$$;

-- Readings are found by contract (readings_contract, under "C"): every
-- write names the contract, so no index on readings.id is needed.

-- The newest reading of (contract, position) that still counts.
CREATE FUNCTION console_newest_live(c text, pos smallint) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT id FROM readings
	WHERE contract COLLATE "C" = c AND position = pos
	  AND status IN ('accepted', 'review', 'corrected')
	ORDER BY created_at DESC, id DESC LIMIT 1;
$$;

-- The register after its newest live reading went away (annulled or
-- rejected): the reading's previous value, and the date of the newest live
-- reading left (or the register's date when there is none but a previous
-- value, which came from billing).
CREATE FUNCTION console_register_back(rd readings) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE d date;
BEGIN
	SELECT s.local_date INTO d FROM readings r
	JOIN submissions s ON s.id = r.submission_id AND s.created_at = r.created_at
	WHERE r.contract COLLATE "C" = rd.contract
	  AND r.id = console_newest_live(rd.contract, rd.position);
	UPDATE registers SET last_value = rd.previous,
	       last_date = CASE WHEN rd.previous IS NULL THEN NULL ELSE coalesce(d, last_date) END
	WHERE contract = rd.contract AND position = rd.position;
END $$;

-- Shared start of every write on one reading: lock its contract, load it,
-- check it is the newest live one of its register. Returns the row, or
-- raises with a message the console shows.
CREATE FUNCTION console_reading_for_change(c text, rid bigint) RETURNS readings
LANGUAGE plpgsql AS $$
DECLARE rd readings;
BEGIN
	PERFORM console_lock_contract(c);
	SELECT * INTO rd FROM readings WHERE contract COLLATE "C" = c AND id = rid;
	IF rd.id IS NULL THEN
		RAISE EXCEPTION 'Такого показания нет' USING ERRCODE = 'P0002';
	END IF;
	IF rd.status NOT IN ('accepted', 'review', 'corrected') THEN
		RAISE EXCEPTION 'Показание уже не действует (%)', rd.status USING ERRCODE = 'P0001';
	END IF;
	IF console_newest_live(rd.contract, rd.position) <> rid THEN
		RAISE EXCEPTION 'Это не последнее показание шкалы: сначала исправьте более позднее' USING ERRCODE = 'P0001';
	END IF;
	RETURN rd;
END $$;

CREATE FUNCTION console_reading_json(rd readings) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT jsonb_build_object('id', rd.id, 'contract', rd.contract,
	    'position', rd.position, 'value', rd.value, 'previous', rd.previous,
	    'consumption', rd.consumption, 'status', rd.status);
$$;

-- Correct a reading: it becomes superseded, a new row (status corrected,
-- same submission) carries the value; the register follows. Returns the
-- new row's id.
CREATE FUNCTION console_correct(c text, rid bigint, newval integer,
    actor text, addr text, why text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE rd readings;
DECLARE nw readings;
DECLARE digits smallint;
BEGIN
	rd := console_reading_for_change(c, rid);
	SELECT g.digits INTO digits FROM registers g
	WHERE g.contract = rd.contract AND g.position = rd.position;
	IF newval < 0 OR (digits IS NOT NULL AND newval >= 10 ^ digits) THEN
		RAISE EXCEPTION 'Значение не помещается в разрядность счётчика' USING ERRCODE = 'P0001';
	END IF;
	IF newval < coalesce(rd.previous, 0) THEN
		RAISE EXCEPTION 'Значение меньше предыдущего (%)', rd.previous USING ERRCODE = 'P0001';
	END IF;
	UPDATE readings SET status = 'superseded'
	WHERE contract COLLATE "C" = c AND id = rid;
	INSERT INTO readings (submission_id, created_at, contract, position, value,
	    previous, consumption, flags, status)
	VALUES (rd.submission_id, rd.created_at, rd.contract, rd.position, newval,
	    rd.previous, newval - coalesce(rd.previous, newval), rd.flags, 'corrected')
	RETURNING * INTO nw;
	UPDATE registers SET last_value = newval
	WHERE contract = rd.contract AND position = rd.position;
	INSERT INTO console_audit (actor, addr, action, object, before, after, reason)
	VALUES (actor, addr, 'reading.correct', 'reading ' || rid,
	    console_reading_json(rd), console_reading_json(nw), why);
	RETURN nw.id;
END $$;

-- Annul a reading: it no longer counts; the register goes back.
CREATE FUNCTION console_annul(c text, rid bigint, actor text, addr text,
    why text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE rd readings;
DECLARE nw readings;
BEGIN
	rd := console_reading_for_change(c, rid);
	UPDATE readings SET status = 'annulled'
	WHERE contract COLLATE "C" = c AND id = rid RETURNING * INTO nw;
	PERFORM console_register_back(rd);
	INSERT INTO console_audit (actor, addr, action, object, before, after, reason)
	VALUES (actor, addr, 'reading.annul', 'reading ' || rid,
	    console_reading_json(rd), console_reading_json(nw), why);
	RETURN rid;
END $$;

-- Approve or reject a flagged submission (every reading of it in review).
-- Rejecting takes its readings back from the registers (each must still be
-- its register's newest). Returns the number of readings changed.
CREATE FUNCTION console_review(c text, sid bigint, approve boolean,
    actor text, addr text, why text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE rd readings;
DECLARE ca timestamptz;
DECLARE n integer := 0;
DECLARE st text := CASE WHEN approve THEN 'accepted' ELSE 'rejected' END;
BEGIN
	PERFORM console_lock_contract(c);
	FOR rd IN SELECT * FROM readings
	          WHERE contract COLLATE "C" = c AND submission_id = sid
	            AND status = 'review'
	          ORDER BY position LOOP
		IF NOT approve AND console_newest_live(rd.contract, rd.position) <> rd.id THEN
			RAISE EXCEPTION 'Показание шкалы % уже не последнее: отклонить нельзя', rd.position
			    USING ERRCODE = 'P0001';
		END IF;
		UPDATE readings SET status = st
		WHERE contract COLLATE "C" = c AND id = rd.id;
		IF NOT approve THEN
			PERFORM console_register_back(rd);
		END IF;
		ca := rd.created_at;
		n := n + 1;
	END LOOP;
	IF n = 0 THEN
		RAISE EXCEPTION 'Эта подача уже проверена или её нет' USING ERRCODE = 'P0001';
	END IF;
	UPDATE submissions SET status = st
	WHERE id = sid AND created_at = ca AND status = 'review';
	INSERT INTO console_audit (actor, addr, action, object, before, after, reason)
	VALUES (actor, addr, CASE WHEN approve THEN 'review.approve' ELSE 'review.reject' END,
	    'submission ' || sid, jsonb_build_object('status', 'review'),
	    jsonb_build_object('status', st, 'readings', n), why);
	RETURN n;
END $$;
