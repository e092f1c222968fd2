-- 0009 (issue 17): reminders before the deadline (docs/reminders.md).
--
-- reminder_runs: one row per reminder date once its reminders were queued.
-- The statement that queues a date inserts its row first (ON CONFLICT DO
-- NOTHING) and queues only when it did: a second instance, or a restart,
-- waits on the key until the first commits and then queues nothing; if
-- the first failed, the second does the work.
CREATE TABLE reminder_runs (
	remind_date date PRIMARY KEY,
	queued_at   timestamptz NOT NULL DEFAULT now()
);

-- reminders: one row per (contract, reminder date, channel, target: the
-- primary key), the
-- target being a bound phone (sms, whatsapp) or a chat whose verified
-- phone is bound (telegram, max, viber, vk: channel_phones). Queued
-- set-based by one INSERT ... SELECT, then released into the outbox of
-- its channel at [reminders] rate: a release claims queued rows FOR
-- UPDATE SKIP LOCKED and, in the same statement, inserts their outbox
-- rows and marks them, so each reminder reaches the outbox once whatever
-- the number of instances. since/deadline: the window occurrence the
-- contract had no accepted submission in (re-checked at release).
-- Not partitioned: a few rows per contract and month; delete old ones
-- (remind_date) as retention requires.
CREATE TABLE reminders (
	contract    text COLLATE "C" NOT NULL,
	remind_date date NOT NULL,
	channel     text COLLATE "C" NOT NULL,
	target      text COLLATE "C" NOT NULL,
	since       date NOT NULL,
	deadline    date NOT NULL,
	state       text NOT NULL DEFAULT 'queued'
	            CHECK (state IN ('queued', 'sent', 'submitted', 'opted_out', 'expired')),
	outbox_id   bigint,		-- the outbox row, once sent there
	created_at  timestamptz NOT NULL DEFAULT now(),
	released_at timestamptz,
	PRIMARY KEY (contract, remind_date, channel, target)
);
-- The release takes a channel's queued rows from here. One key per
-- channel: deduplicated, its entries in insertion (heap) order, so a
-- million queued rows cost little to insert, and a row released leaves it.
CREATE INDEX reminders_queued ON reminders (channel) WHERE state = 'queued';
