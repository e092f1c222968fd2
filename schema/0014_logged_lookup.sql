-- The message log's row of a known external id (docs/store.md, "Where
-- PostgreSQL's time goes"): the store's id lookup (ml_ext) finds an id in
-- message_ids, then the original message through this function, one call
-- per id found. Written inline, the lookup's generic plan started an index
-- scan in every month's partition of messages at every batch, found or
-- not (38 µs a batch with 4 partitions, 111 with 16, growing with the
-- months kept); the function's body starts only for ids found, which live
-- traffic almost never has. Dynamic SQL is planned with the values, so
-- only the month of `at` is read, through its primary key: a plan kept
-- from an empty month may take another index that has logged_at as its
-- second column and walk all of it. message_ids.logged_at is the
-- messages row's own (both are now() of the transaction that wrote them).
CREATE OR REPLACE FUNCTION meterline_logged(mid bigint, at timestamptz)
RETURNS TABLE (id bigint, outcome text, reason text, reply text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY EXECUTE 'SELECT m.id, m.outcome, m.reason, m.reply'
		' FROM messages AS m WHERE m.id = $1 AND m.logged_at = $2'
		USING mid, at;
END $$;
