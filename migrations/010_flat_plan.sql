-- The flat plan as a Stripe Billing subscription the owner takes in the
-- console, refunds that arrive before their payment, and checkouts whose
-- Stripe page expired unpaid.

-- The owner's flat-plan subscription on Gatekey's own Stripe account, as
-- Stripe last said it was. billing_plan follows it: 'flat' while it is
-- live (active, trialing, past_due), 'payg' once it ends. The Checkout
-- page where the owner subscribes is kept while it is open, so asking
-- twice gives the same page.
ALTER TABLE tenants
  ADD COLUMN flat_subscription_id      text UNIQUE CHECK (flat_subscription_id ~ '^sub_'),
  ADD COLUMN flat_status               text NOT NULL DEFAULT '',
  ADD COLUMN flat_cancel_at_period_end boolean NOT NULL DEFAULT false,
  ADD COLUMN flat_period_end           timestamptz,
  ADD COLUMN flat_checkout_id          text,
  ADD COLUMN flat_checkout_url         text,
  ADD COLUMN flat_checkout_expires_at  timestamptz;

-- Stripe does not promise the order of events: a full refund may come
-- before the checkout.session.completed of its payment. It waits here, so
-- the payment, when it comes, grants nothing.
CREATE TABLE refunds_ahead (
  tenant_id         bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  payment_intent_id text NOT NULL,
  received_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, payment_intent_id)
);

SELECT gatekey_protect('refunds_ahead'::regclass);

-- A checkout whose Stripe page expired unpaid; the next Pay makes a new one.
ALTER TABLE checkouts DROP CONSTRAINT checkouts_status_check;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_status_check
  CHECK (status IN ('pending', 'open', 'paid', 'refunded', 'expired'));
