-- 0007 (issue 17): phones bound to contracts, and senders who switched
-- reminders off.
--
-- bindings: billing's list of the phones allowed to act on a contract
-- (`meterline import phones FILE.csv`, header contract,phone). phone is
-- the MSISDN digits as an SMS sender arrives (international form without
-- '+', 79123456789); the store matches it against the sender of any
-- channel, so a WhatsApp sender (its phone number) binds too. A messenger
-- chat binds once its channel maps the chat to a verified phone (a shared
-- contact). The store loads a sender's bindings with its dialog, in the
-- same round trip, by phone: the primary key; reminders and billing look
-- up by contract: the second index. A customer's ОТВЯЗАТЬ deletes the row.
-- Key columns in byte order ("C"), as migration 0002 made the others.
-- No foreign key to contracts: a contract re-imported or not yet imported
-- keeps its phones; the import checks the contracts it binds exist.
CREATE TABLE bindings (
	phone      text COLLATE "C" NOT NULL CHECK (phone ~ '^[0-9]{5,20}$'),
	contract   text COLLATE "C" NOT NULL CHECK (contract ~ '^[0-9]{4,12}$'),
	source     text NOT NULL DEFAULT 'import',	-- import, challenge, contact
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (phone, contract)
);
CREATE INDEX bindings_contract ON bindings (contract);

-- НЕ НАПОМИНАТЬ: one row per (channel, sender) that asked for no
-- reminders; НАПОМИНАТЬ deletes it.
CREATE TABLE reminder_optout (
	channel text COLLATE "C" NOT NULL,
	sender  text COLLATE "C" NOT NULL,
	since   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (channel, sender)
);
