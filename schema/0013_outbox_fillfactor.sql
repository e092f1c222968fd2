-- The outbox's pages are filled to half (docs/outbox.md, "Room for the
-- claim"). A claim sets only columns that no index holds (lease_owner,
-- next_attempt_at, attempts, updated_at), so its new row version can stay
-- in the same page as a heap-only tuple, with no new index entries, but
-- only if the page has room; rows are inserted once and then claimed,
-- written back and perhaps receipted, so a full page sent every claimed
-- version elsewhere, with a new entry in each of the outbox's indexes.
-- Draining 200,000 replies: 48-54 -> 33-34 µs of PostgreSQL CPU a reply.
--
-- A partitioned table holds no storage parameters: each monthly partition
-- gets it, those that exist now (for the pages they have yet to fill) and
-- those that meterline_ensure_partitions() creates from now on. 0008 set
-- 80 on the partitions that existed then only; every partition made
-- since, a new database's all, was at 100. So the setting now lives in
-- the function that makes partitions (restated whole from 0001: only its
-- CREATE TABLE gains the WITH clause).
DO $$
DECLARE
	p regclass;
BEGIN
	FOR p IN SELECT inhrelid::regclass FROM pg_inherits
	         WHERE inhparent = 'outbox'::regclass LOOP
		EXECUTE format('ALTER TABLE %s SET (fillfactor = 50)', p);
	END LOOP;
END $$;

CREATE OR REPLACE FUNCTION meterline_ensure_partitions(ahead integer DEFAULT 3)
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
			EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)%s',
			               part, parent, m AT TIME ZONE 'UTC',
			               (m + interval '1 month') AT TIME ZONE 'UTC',
			               CASE WHEN parent = 'outbox'
			                    THEN ' WITH (fillfactor = 50)' ELSE '' END);
			created := created + 1;
		END LOOP;
	END LOOP;
	RETURN created;
END $$;
