-- 0001: contracts, message log, dialogs, submissions, readings, outbox.
--
-- Applied by `meterline migrate` inside one transaction; the version is
-- recorded in meterline_schema (created by migrate itself). docs/store.md
-- describes every table and which statement of the store writes it.
--
-- Tables that grow with time (messages, submissions, readings, outbox) are
-- partitioned by calendar month (UTC) of the time the row was written, not
-- of the message's own time: a replay of last year's log writes into this
-- month's partitions. meterline_ensure_partitions() creates the partitions
-- of the current month and the coming ones; migrate and the running store
-- (at connect, then hourly) call it. There is no default partition: a
-- missing one makes the batch fail (temporary failure, then the store
-- creates it) instead of filling a default partition that would later block
-- creating the real one.
--
-- No foreign keys on the partitioned tables: each would be a lookup per
-- row on the hot path. Indexes exist only for the hot path; see docs.

-- Contracts and registers, loaded from billing by `meterline import`.
CREATE TABLE contracts (
	contract    text PRIMARY KEY CHECK (contract ~ '^[0-9]{4,12}$'),
	resource    text NOT NULL
	            CHECK (resource IN ('electricity', 'hot_water', 'cold_water')),
	status      text NOT NULL DEFAULT 'active'
	            CHECK (status IN ('active', 'closed')),
	imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registers (
	contract   text NOT NULL REFERENCES contracts ON DELETE CASCADE,
	position   smallint NOT NULL CHECK (position BETWEEN 1 AND 6),
	name       text NOT NULL CHECK (name <> ''),
	digits     smallint NOT NULL CHECK (digits BETWEEN 4 AND 9),
	last_value integer CHECK (last_value >= 0),
	last_date  date,
	PRIMARY KEY (contract, position)
) WITH (fillfactor = 80);	-- room for HOT updates of last_value/last_date

-- Every inbound message, whatever happened to it: one row each, written in
-- the same transaction as its effects. dedupe_key is a 64-bit hash of
-- (channel, sender, recipient, text) computed by the store; `advanced` says
-- the message changed a dialog or stored a submission, the only messages a
-- redelivery is checked against.
CREATE SEQUENCE messages_id_seq;
CREATE TABLE messages (
	id           bigint NOT NULL,
	logged_at    timestamptz NOT NULL DEFAULT now(),
	received_at  timestamptz NOT NULL,	-- the message's own time
	channel      text NOT NULL,
	sender       text NOT NULL,
	recipient    text NOT NULL,
	text         text NOT NULL,
	dcs          smallint NOT NULL DEFAULT 0,
	text_flags   integer NOT NULL DEFAULT 0,
	external_id  text,
	contract     text,			-- the contract it concerned, if any
	outcome      text NOT NULL,		-- accepted, prompt, ..., duplicate
	reason       text,
	flags        integer NOT NULL DEFAULT 0,	-- DIALOG_F_*
	reply        text,
	dedupe_key   bigint NOT NULL,
	advanced     boolean NOT NULL DEFAULT false,
	duplicate_of bigint,			-- the original, for duplicates
	PRIMARY KEY (id, logged_at)
) PARTITION BY RANGE (logged_at);
-- Redelivery check: same key, advanced something, recently (logged_at prunes
-- partitions).
CREATE INDEX messages_dedupe ON messages (dedupe_key, logged_at) WHERE advanced;

-- External ids (messenger bridge, replay) seen once: unique across all
-- partitions of messages, which a partitioned index cannot be.
CREATE TABLE message_ids (
	channel     text NOT NULL,
	external_id text NOT NULL,
	message_id  bigint NOT NULL,
	logged_at   timestamptz NOT NULL,	-- of the messages row, for pruning
	PRIMARY KEY (channel, external_id)
);

-- The open dialog of one (channel, sender); see include/meterline/dialog.h.
-- A closed dialog is deleted. Times are Unix microseconds (UTC).
CREATE TABLE dialogs (
	channel    text NOT NULL,
	sender     text NOT NULL,
	contract   text NOT NULL,
	nregisters smallint NOT NULL,
	next       smallint NOT NULL,
	vals       integer[] NOT NULL,
	started_us bigint NOT NULL,
	last_us    bigint NOT NULL,
	PRIMARY KEY (channel, sender)
) WITH (fillfactor = 80);

-- One complete set of readings (every register of a contract).
CREATE SEQUENCE submissions_id_seq;
CREATE TABLE submissions (
	id           bigint NOT NULL DEFAULT nextval('submissions_id_seq'),
	created_at   timestamptz NOT NULL DEFAULT now(),
	message_id   bigint NOT NULL,		-- the message that completed it
	contract     text NOT NULL,
	resource     text NOT NULL,
	channel      text NOT NULL,
	sender       text NOT NULL,
	submitted_at timestamptz NOT NULL,	-- that message's own time
	started_at   timestamptz NOT NULL,	-- when its dialog began
	local_date   date NOT NULL,		-- in the utility's time zone
	flags        integer NOT NULL DEFAULT 0,	-- DIALOG_F_*
	daily_milli  bigint NOT NULL DEFAULT 0,
	status       text NOT NULL CHECK (status IN ('accepted', 'review')),
	PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- One value per register of a submission. No index: written on the hot
-- path, read by exports that scan a month's partition.
CREATE TABLE readings (
	submission_id bigint NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	contract      text NOT NULL,
	position      smallint NOT NULL,
	value         integer NOT NULL,
	previous      integer,			-- last value before, NULL if none
	consumption   integer NOT NULL,
	flags         integer NOT NULL DEFAULT 0,	-- WRAPAROUND, NO_LAST
	status        text NOT NULL CHECK (status IN ('accepted', 'review'))
) PARTITION BY RANGE (created_at);

-- Replies waiting to be sent, sent, and their delivery receipts. The SMS
-- sender picks due rows with outbox_due and matches receipts with
-- outbox_smsc_id.
CREATE SEQUENCE outbox_id_seq;
CREATE TABLE outbox (
	id              bigint NOT NULL DEFAULT nextval('outbox_id_seq'),
	created_at      timestamptz NOT NULL DEFAULT now(),
	message_id      bigint,			-- the message answered
	channel         text NOT NULL,
	sender          text NOT NULL,		-- our address (inbound recipient)
	recipient       text NOT NULL,		-- the customer
	text            text NOT NULL,
	state           text NOT NULL DEFAULT 'pending'
	                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'delivered', 'undeliverable')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	smsc_message_id text,
	dlr_state       text,			-- DELIVRD, UNDELIV, EXPIRED...
	dlr_at          timestamptz,
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_smsc_id ON outbox (smsc_message_id) WHERE smsc_message_id IS NOT NULL;

-- Create the monthly partitions of the current UTC month and of the next
-- `ahead` months for every time-partitioned table; returns how many it
-- created. Months are UTC so that sessions with different TimeZone settings
-- agree on the bounds. Serialised by an advisory lock so that two instances
-- calling it at once do not race on the catalog.
CREATE FUNCTION meterline_ensure_partitions(ahead integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	parent  text;
	month0  timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
	m       timestamp;
	part    text;
	created integer := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(7236966975360811630);	-- 'meterlin'
	FOREACH parent IN ARRAY ARRAY['messages', 'submissions', 'readings', 'outbox'] LOOP
		FOR i IN 0 .. ahead LOOP
			m := month0 + make_interval(months => i);
			part := format('%s_%s', parent, to_char(m, 'YYYYMM'));
			CONTINUE WHEN to_regclass(part) IS NOT NULL;
			EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
			               part, parent, m AT TIME ZONE 'UTC',
			               (m + interval '1 month') AT TIME ZONE 'UTC');
			created := created + 1;
		END LOOP;
	END LOOP;
	RETURN created;
END $$;
