-- Fair use of free codes on pay-as-you-go billing: zero-priced activations
-- in a rolling 30 days may not pass max(floor, ratio × paid orders).
ALTER TABLE tenants
  ADD COLUMN fairuse_floor      integer NOT NULL DEFAULT 50 CHECK (fairuse_floor >= 0),
  ADD COLUMN fairuse_ratio_pct  integer NOT NULL DEFAULT 100 CHECK (fairuse_ratio_pct >= 0), -- 100 = 1.0
  ADD COLUMN fairuse_flagged_at timestamptz;

CREATE INDEX code_activations_by_time ON code_activations (tenant_id, created_at);
