-- Retention (docs/retention.md): `meterline maintain` deletes the stable
-- ids written before a cutoff, in small batches; without an index on the
-- write time each batch would read the whole table. One more index entry
-- per message on the hot path (message_ids is written once per message).
CREATE INDEX message_ids_logged_at ON message_ids (logged_at);
-- Photos are deleted by their write time the same way.
CREATE INDEX message_photos_created_at ON message_photos (created_at);
