-- Citizen messages, kept before they are acknowledged, and the outbox of replies.
--
-- A row's lease (claimed_by, claimed_until) says who works on it and until when; a row whose
-- lease ended is free again, whoever held it. Times that decide leases and retries are the
-- database's own clock, so every instance reads them the same way.

-- Fingerprints of recent MO: an SMSC's redelivery of a message already stored (its
-- deliver_sm_resp was lost) is recognised here and acknowledged without a second answer.
CREATE TABLE mo_seen (
    fingerprint   text PRIMARY KEY,
    seen_at       timestamptz NOT NULL
);
CREATE INDEX mo_seen_age ON mo_seen (seen_at);

CREATE TABLE mo (
    id            bigserial PRIMARY KEY,
    sender        text NOT NULL,
    destination   text NOT NULL,
    body          text NOT NULL,
    fingerprint   text NOT NULL,
    received_at   timestamptz NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    claimed_by    text,
    claimed_until timestamptz,
    claims        integer NOT NULL DEFAULT 0
);
-- Only open messages are ever claimed: the index stays as small as the backlog.
CREATE INDEX mo_open ON mo (id) WHERE answered_at IS NULL;
CREATE INDEX mo_answered_age ON mo (answered_at) WHERE answered_at IS NOT NULL;

CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    mo_id         bigint REFERENCES mo (id) ON DELETE SET NULL,
    destination   text NOT NULL,
    body          text NOT NULL,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    due_at        timestamptz NOT NULL DEFAULT now(),
    claimed_by    text,
    claimed_until timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    reclaims      integer NOT NULL DEFAULT 0,  -- leases taken over from a silent owner
    reason        text NOT NULL DEFAULT '',
    sent_at       timestamptz,
    receipt       text,
    receipt_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX outbox_open ON outbox (due_at, id) WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_finished_age ON outbox (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX outbox_mo ON outbox (mo_id);

-- One row per SMSC message id (a long reply has one per segment). The reply and its receipt
-- meet here whichever comes first: the row's primary key serialises the two writers, so a
-- receipt that overtakes its submit_sm_resp is kept and applied when the resp is recorded.
CREATE TABLE message_part (
    message_id    text PRIMARY KEY,
    reply_id      bigint,  -- NULL until the submit_sm_resp is recorded; no FK: purged apart
    receipt       text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_part_reply ON message_part (reply_id);
CREATE INDEX message_part_age ON message_part (created_at);
