-- A code deleted by the tenant's auto-delete setting says so, so that an
-- owner looking at a deleted code knows nobody deleted it by hand.
ALTER TABLE access_codes ADD COLUMN auto_deleted boolean NOT NULL DEFAULT false;
