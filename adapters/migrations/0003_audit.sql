-- Who looked up which dossier, at what disclosure level, with what outcome. The sender is
-- kept masked (as in the logs); rows are purged by age ([store] retention_days).
CREATE TABLE lookup_audit (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,
    channel       text NOT NULL,
    requester     text NOT NULL,
    code          text NOT NULL,
    disclosure    text NOT NULL,
    outcome       text NOT NULL
);
CREATE INDEX lookup_audit_at ON lookup_audit (at);
CREATE INDEX lookup_audit_code ON lookup_audit (code, at);
