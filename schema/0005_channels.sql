-- 0005: messenger channels (docs/channels.md): the photos customers send
-- with their messages, and the phone numbers they shared of themselves.
--
-- Both are written by the channel (src/channel/chan_media.c) after the
-- message itself committed and before its webhook is answered 200, so a
-- platform that gets a 200 never has to send the update again; a
-- redelivered update finds its rows already there (ON CONFLICT).

-- One photo per message: the platform's reference first (pending), the
-- bytes once fetched (stored), or why not (too_large, failed). Not
-- partitioned: a photo is rare next to the message log, and support looks
-- it up by message id (`meterline photo get`).
CREATE TABLE message_photos (
	message_id   bigint PRIMARY KEY,	-- messages.id of its message
	channel      text COLLATE "C" NOT NULL,
	sender       text COLLATE "C" NOT NULL,
	received_at  timestamptz NOT NULL,	-- the message's own time
	ref          text NOT NULL,		-- Telegram file_id, MAX URL
	state        text NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'stored', 'too_large', 'failed')),
	attempts     integer NOT NULL DEFAULT 0,
	next_at      timestamptz NOT NULL DEFAULT now(),
	bytes        bytea,
	size         integer,
	created_at   timestamptz NOT NULL DEFAULT now(),
	fetched_at   timestamptz
);
CREATE INDEX message_photos_due ON message_photos (channel, next_at)
	WHERE state = 'pending';
CREATE INDEX message_photos_sender ON message_photos (channel, sender, received_at);

-- The photos of a submission: those its customer sent on the same
-- channel while its dialog was open (from its start to the message that
-- completed it).
CREATE VIEW submission_photos AS
SELECT s.id AS submission_id, s.created_at AS submission_created_at,
       p.message_id, p.state, p.size
  FROM submissions s
  JOIN message_photos p ON p.channel = s.channel AND p.sender = s.sender
   AND p.received_at BETWEEN s.started_at AND s.submitted_at;

-- A phone number verified for a chat: a Telegram contact whose user_id is
-- the sender's own. The latest one wins.
CREATE TABLE channel_phones (
	channel     text COLLATE "C" NOT NULL,
	sender      text COLLATE "C" NOT NULL,
	phone       text NOT NULL,
	message_id  bigint NOT NULL,		-- the message that shared it
	verified_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (channel, sender)
);
