-- Status-change subscriptions (DK <code>) and what each subscriber has been told.
--
-- notified: the status the subscriber last heard (at subscription: the status then).
-- seen, seen_at: the latest status reported by the one-stop system or found by polling.
-- due_at: a notification of `seen` may go out from then (quiet hours, daily cap); NULL when
-- the subscriber already knows the latest status.
CREATE TABLE subscription (
    subscriber    text NOT NULL,
    code          text NOT NULL,
    created_at    timestamptz NOT NULL,
    notified      text NOT NULL,
    seen          text NOT NULL,
    seen_at       timestamptz,
    due_at        timestamptz,
    PRIMARY KEY (subscriber, code)
);
CREATE INDEX subscription_code ON subscription (code);
CREATE INDEX subscription_due ON subscription (due_at) WHERE due_at IS NOT NULL;

-- Notifications sent per subscriber and local day, for the daily cap.
CREATE TABLE notification_day (
    subscriber    text NOT NULL,
    day           date NOT NULL,
    sent          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (subscriber, day)
);
