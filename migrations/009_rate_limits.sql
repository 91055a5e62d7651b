-- Request counts for rate limits (owner API per key and per address),
-- shared by every process: one row per key and fixed window. Losing them
-- in a crash only forgives some requests, so the table is unlogged.
CREATE UNLOGGED TABLE request_counts (
  key          text NOT NULL,
  window_start timestamptz NOT NULL,
  n            integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
