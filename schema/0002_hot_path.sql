-- 0002: the hot path's indexes: byte order for text keys, redelivery
-- index for SMS only.
--
-- Byte order ("C" collation) for every text column in a key.
--
-- Contract numbers, phone numbers, channel names and external ids are
-- identifiers, never sorted for people. Under the database's default
-- collation (en_US.UTF-8, ru_RU.UTF-8, even C.UTF-8 before PostgreSQL 17)
-- every comparison in their indexes goes through strcoll(); with "C" it is
-- a memcmp(). The store probes and inserts these indexes thousands of
-- times per batch: measured on a 1M-message replay, the statements that
-- use them took 20% less server time. Equality, which is all the store
-- asks of them, is the same under both collations.

-- registers.contract references contracts.contract: change both ends with
-- the key dropped, then put it back.
ALTER TABLE registers DROP CONSTRAINT registers_contract_fkey;
ALTER TABLE contracts ALTER COLUMN contract TYPE text COLLATE "C";
ALTER TABLE registers ALTER COLUMN contract TYPE text COLLATE "C";
ALTER TABLE registers ADD CONSTRAINT registers_contract_fkey
	FOREIGN KEY (contract) REFERENCES contracts ON DELETE CASCADE;

ALTER TABLE message_ids
	ALTER COLUMN channel TYPE text COLLATE "C",
	ALTER COLUMN external_id TYPE text COLLATE "C";

ALTER TABLE dialogs
	ALTER COLUMN channel TYPE text COLLATE "C",
	ALTER COLUMN sender TYPE text COLLATE "C",
	ALTER COLUMN contract TYPE text COLLATE "C";

ALTER TABLE outbox ALTER COLUMN smsc_message_id TYPE text COLLATE "C";

-- Only SMS is checked for redelivery (messenger messages carry the
-- bridge's id, replay lines an id of their own): the other channels' rows
-- need not be in the index that check uses.
DROP INDEX messages_dedupe;
CREATE INDEX messages_dedupe ON messages (dedupe_key, logged_at)
	WHERE advanced AND channel = 'sms';
