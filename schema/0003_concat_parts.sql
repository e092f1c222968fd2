-- 0003: what the redelivery check needs to tell a redelivery from a
-- person repeating a text, and concatenated SMS kept part by part.
--
-- messages.conn: the SMPP connection a message came on (link instance in
-- the high 32 bits, connection number in the low 32; NULL for other
-- channels, replay and rows written before this version). A repeat is a
-- redelivery only when the earlier copy's deliver_sm_resp may have been
-- lost: its connection dropped before or shortly after the answer, or it
-- belongs to another process (docs/store.md).
--
-- messages.reply_queued: the message's reply went to the outbox (false:
-- replayed without sending, or no reply). A suppressed redelivery of a
-- message whose reply was queued sends nothing; otherwise it queues the
-- original reply. NULL (rows before this version): taken as queued.
ALTER TABLE messages ADD COLUMN conn bigint, ADD COLUMN reply_queued boolean;

-- Parts of concatenated SMS, each written (and only then acknowledged) by
-- the batch that received it. When the last part arrives, the batch joins
-- the parts, processes the whole message and marks its parts with the
-- message's id; marked parts stay for [store] duplicate_window so that a
-- redelivered part is recognised (same key, number and octets) and never
-- joined twice. Parts still waiting after the concatenation timeout are
-- joined as they are by the store's sweep.
CREATE TABLE concat_parts (
	channel     text COLLATE "C" NOT NULL,
	sender      text COLLATE "C" NOT NULL,
	recipient   text COLLATE "C" NOT NULL,
	ref         integer NOT NULL,	-- the message's reference (8 or 16 bits)
	total       smallint NOT NULL CHECK (total BETWEEN 2 AND 255),
	seq         smallint NOT NULL CHECK (seq BETWEEN 1 AND 255),
	dcs         smallint NOT NULL,
	data        bytea NOT NULL,	-- user data, UDH removed
	dropped     boolean NOT NULL DEFAULT false,	-- octets over the message bound
	received_us bigint NOT NULL,	-- the part's own time, Unix microseconds
	conn        bigint,
	message_id  bigint,		-- the message it became; NULL while waiting
	logged_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (channel, sender, recipient, ref, total, seq)
);
-- The sweep: parts waiting past the timeout, joined parts past the window.
CREATE INDEX concat_parts_age ON concat_parts (logged_at);
