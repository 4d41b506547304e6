-- The id of the request that saved a checkpoint: a client retrying a save whose answer
-- was lost (server crash after commit) is told it saved it, not that it found it.
ALTER TABLE checkpoints ADD COLUMN request_id TEXT;
