-- Figures for the operators' supervisors and the reports: what each lookup found (status,
-- agency), how each hotline call ended, how each wait for an operator ended, and the notes
-- operators leave on calls. No phone numbers: calls are known by Asterisk's uniqueid only.
ALTER TABLE lookup_audit
    ADD COLUMN status text NOT NULL DEFAULT '',
    ADD COLUMN agency text NOT NULL DEFAULT '';

CREATE TABLE call_audit (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,
    call_id       text NOT NULL,
    outcome       text NOT NULL,          -- abandoned | not_found | error | read | escalated
    escalation    text,                   -- why it went to the operators, if it did
    dossier       text,
    lookups       integer NOT NULL DEFAULT 0
);
CREATE INDEX call_audit_at ON call_audit (at);

CREATE TABLE queue_audit (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,
    call_id       text NOT NULL,
    result        text NOT NULL,          -- answered | abandoned
    wait_seconds  integer,
    operator      text
);
CREATE INDEX queue_audit_at ON queue_audit (at);

CREATE TABLE call_note (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,
    call_id       text NOT NULL,
    author        text NOT NULL,
    text          text NOT NULL,
    dossier       text
);
CREATE INDEX call_note_call ON call_note (call_id, at);
CREATE INDEX call_note_at ON call_note (at);
