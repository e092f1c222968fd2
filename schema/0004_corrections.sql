-- 0004: corrections by the customer and the dialog's open question.
--
-- A customer who sent a typo ("36000" for 3600) may send the reading again
-- inside the same window: the new submission supersedes the earlier one of
-- the period and is checked against the value before it, not against the
-- typo. For that a register remembers the accepted value before its last
-- one (prev_value, prev_date), and a superseded submission keeps its rows
-- with the status 'superseded'. docs/store.md, "Corrections".

-- The accepted value before last_value, and its date: what a correction is
-- validated against. NULL when unknown (a new meter, or billing's import
-- replaced last_value: billing's value has no "before" we know of).
ALTER TABLE registers
	ADD COLUMN prev_value integer CHECK (prev_value >= 0),
	ADD COLUMN prev_date date;

-- Backfill from the readings history: the reading that set each register's
-- last value carries the value before it (readings.previous); its date is
-- that of the latest earlier submission of the contract holding that value
-- at that position, when there is one (else the value came from billing and
-- its date is not known here).
WITH last AS (
	SELECT DISTINCT ON (r.contract, r.position)
	       r.contract, r.position, r.previous, s.submitted_at
	FROM readings AS r
	JOIN submissions AS s ON s.id = r.submission_id AND s.created_at = r.created_at
	JOIN registers AS g ON g.contract = r.contract AND g.position = r.position
	WHERE r.value = g.last_value AND s.local_date = g.last_date
	ORDER BY r.contract, r.position, s.submitted_at DESC, s.id DESC
)
UPDATE registers AS g
SET prev_value = l.previous,
    prev_date = (
	SELECT s.local_date
	FROM readings AS r
	JOIN submissions AS s ON s.id = r.submission_id AND s.created_at = r.created_at
	WHERE r.contract = l.contract AND r.position = l.position
	  AND r.value = l.previous AND s.submitted_at < l.submitted_at
	ORDER BY s.submitted_at DESC, s.id DESC
	LIMIT 1)
FROM last AS l
WHERE g.contract = l.contract AND g.position = l.position
  AND l.previous IS NOT NULL;

-- The values a ДА would take ("Вы имели в виду 13000? Ответьте ДА ...");
-- empty when no question is open. include/meterline/dialog.h.
ALTER TABLE dialogs ADD COLUMN pending integer[] NOT NULL DEFAULT '{}';

-- A submission replaced by a correction keeps its rows, marked superseded
-- (with its readings). The check constraints of 0001 are widened in place.
ALTER TABLE submissions DROP CONSTRAINT submissions_status_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check
	CHECK (status IN ('accepted', 'review', 'superseded'));
ALTER TABLE readings DROP CONSTRAINT readings_status_check;
ALTER TABLE readings ADD CONSTRAINT readings_status_check
	CHECK (status IN ('accepted', 'review', 'superseded'));

-- A correction finds the contract's submissions of the period, and their
-- readings, by key: one index entry more per submission and per reading
-- on the hot path, instead of a scan of a month's partition per
-- correction.
CREATE INDEX submissions_contract ON submissions (contract, local_date);
CREATE INDEX readings_submission ON readings (submission_id);
