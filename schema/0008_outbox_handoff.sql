-- 0008: the outbox hands replies over without a claim, and its statements
-- cost the same whatever the backlog (docs/outbox.md).
--
-- lease_owner: the instance a pending row is leased to (diagnostics; the
-- lease itself is next_attempt_at). The store inserts a reply already
-- leased to the instance that committed it, for a short, renewed lease,
-- and hands it to that instance's outbox after COMMIT.
--
-- outbox_pending replaces outbox_due: the claim walks it by (channel, id)
-- from a cursor (keyset), so neither rows already claimed nor dead
-- entries behind the cursor are read again, and next_attempt_at, which
-- every claim and lease renewal moves, is in no index: those updates are
-- HOT where the page has room (fillfactor 80 on the partitions that
-- exist; a partitioned table takes no storage parameters) and add no
-- index entries at all.
ALTER TABLE outbox ADD COLUMN lease_owner text;
CREATE INDEX outbox_pending ON outbox (channel, id) WHERE state = 'pending';
DROP INDEX outbox_due;
DO $$
DECLARE
	part regclass;
BEGIN
	FOR part IN SELECT inhrelid::regclass FROM pg_inherits
	            WHERE inhparent = 'outbox'::regclass LOOP
		EXECUTE format('ALTER TABLE %s SET (fillfactor = 80)', part);
	END LOOP;
END $$;
