-- A batch keeps the key of the request that made it: the console form's
-- own key, or the API's Idempotency-Key header. The same request sent
-- twice (a double click, a call retried after a timeout) then finds the
-- batch the first one made instead of making a second.
ALTER TABLE code_batches ADD COLUMN request_key text
  CHECK (length(request_key) BETWEEN 1 AND 300);
CREATE UNIQUE INDEX code_batches_request_key ON code_batches (tenant_id, request_key)
  WHERE request_key IS NOT NULL;
