-- An API key and an admin link keep the key of the console form that made
-- them, as code batches do (013): the same form sent again (a reload of
-- the page that answered it) finds what the first one made instead of
-- making a second live key or link.
ALTER TABLE api_keys ADD COLUMN request_key text
  CHECK (length(request_key) BETWEEN 1 AND 300);
CREATE UNIQUE INDEX api_keys_request_key ON api_keys (tenant_id, request_key)
  WHERE request_key IS NOT NULL;

ALTER TABLE owner_link_tokens ADD COLUMN request_key text
  CHECK (length(request_key) BETWEEN 1 AND 300);
CREATE UNIQUE INDEX owner_link_tokens_request_key ON owner_link_tokens (tenant_id, request_key)
  WHERE request_key IS NOT NULL;
