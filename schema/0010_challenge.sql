-- 0010 (issue 17): [verify] mode = challenge — the meters' serial numbers
-- the question is asked from, and the state of each (sender, contract)
-- being asked. docs/dialog.md "Challenge", docs/store.md "Challenges".

-- The meter's serial number (заводской номер) per register, from billing
-- (meterline import contracts, optional column serial); NULL: unknown, so
-- the question cannot be asked for a contract none of whose registers has
-- one with 4 digits. IF NOT EXISTS: another migration adds the same column
-- for its own use, and either may run first.
ALTER TABLE registers ADD COLUMN IF NOT EXISTS serial text;

-- One row per (channel, sender, contract) that was asked and has not
-- passed: wrong answers so far, the lockout's end, and the open question
-- (asked_us equals the started_us of the sender's dialog that holds the
-- reading in its pending values; held says whether that was a reading or
-- an ИНФО). The right answer deletes the row and inserts the binding
-- (bindings.source 'challenge'). Times in Unix microseconds as in dialogs.
-- Read in round 1 of a batch with the dialogs, by (channel, sender): the
-- primary key's prefix.
CREATE TABLE challenges (
	channel         text COLLATE "C" NOT NULL,
	sender          text COLLATE "C" NOT NULL,
	contract        text COLLATE "C" NOT NULL
	                CHECK (contract ~ '^[0-9]{4,12}$'),
	attempts        smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	locked_until_us bigint,		-- NULL: not locked out
	asked_us        bigint,		-- NULL: no question open
	held            text NOT NULL DEFAULT 'reading'
	                CHECK (held IN ('reading', 'info')),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (channel, sender, contract)
);
