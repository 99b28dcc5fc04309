"""Hotline calls, queue waits and operators' notes in the PostgreSQL store's schema (0004),
and the report's tallies over them and the lookup audit.

Writes come in batches from :class:`gateway.operations.Recorder` (one statement per kind).
The tallies are a handful of ``GROUP BY`` queries over the period, using the ``at`` indexes;
they group exactly as :func:`gateway.reports.tally` does in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.pg_store import PgStore
from gateway.operations import (
    MAX_NOTES_PER_CALL,
    CallEntry,
    CallNote,
    CallRecord,
    NoteRefused,
    QueueRecord,
)
from gateway.reports import CallTally, LimitedSender, LookupTally, QueueTally, Tallies

_LOOKUPS = (
    "SELECT channel, outcome, status, agency, count(*) AS n FROM lookup_audit"
    " WHERE at >= $1 AND at < $2 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
)
_CALLS = (
    "SELECT outcome, coalesce(escalation, '') AS escalation, count(*) AS n FROM call_audit"
    " WHERE at >= $1 AND at < $2 GROUP BY 1, 2 ORDER BY 1, 2"
)
_QUEUE = (
    "SELECT result, count(*) AS n, count(wait_seconds) AS known,"
    " coalesce(sum(wait_seconds), 0) AS total, coalesce(max(wait_seconds), 0) AS longest"
    " FROM queue_audit WHERE at >= $1 AND at < $2 GROUP BY 1 ORDER BY 1"
)
_LIMITED = (
    "SELECT requester, count(*) AS n FROM lookup_audit"
    " WHERE at >= $1 AND at < $2 AND outcome = 'rate_limited'"
    " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3"
)


class PgCallLog:
    """:class:`gateway.operations.CallLog` and :class:`gateway.reports.ReportData`."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    async def write(self, entries: Sequence[CallEntry]) -> None:
        calls = [e for e in entries if isinstance(e, CallRecord)]
        waits = [e for e in entries if isinstance(e, QueueRecord)]
        async with self._store.transaction() as connection:
            if calls:
                await connection.execute(
                    "INSERT INTO call_audit (at, call_id, outcome, escalation, dossier, lookups)"
                    " SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[],"
                    " $4::text[], $5::text[], $6::integer[])",
                    [c.at for c in calls],
                    [c.call_id for c in calls],
                    [c.outcome for c in calls],
                    [c.escalation for c in calls],
                    [c.dossier for c in calls],
                    [c.lookups for c in calls],
                )
            if waits:
                await connection.execute(
                    "INSERT INTO queue_audit (at, call_id, result, wait_seconds, operator)"
                    " SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[],"
                    " $4::integer[], $5::text[])",
                    [w.at for w in waits],
                    [w.call_id for w in waits],
                    [w.result for w in waits],
                    [w.wait_seconds for w in waits],
                    [w.operator for w in waits],
                )

    async def add_note(self, note: CallNote) -> None:
        async with self._store.transaction() as connection:
            # One call's notes are counted and added under a lock on that call.
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext('call_note:' || $1))", note.call_id
            )
            count = await connection.fetchval(
                "SELECT count(*) FROM call_note WHERE call_id = $1", note.call_id
            )
            if count >= MAX_NOTES_PER_CALL:
                raise NoteRefused(f"a call takes at most {MAX_NOTES_PER_CALL} notes")
            await connection.execute(
                "INSERT INTO call_note (at, call_id, author, text, dossier)"
                " VALUES ($1, $2, $3, $4, $5)",
                note.at,
                note.call_id,
                note.author,
                note.text,
                note.dossier,
            )

    async def notes(self, call_id: str) -> list[CallNote]:
        async with self._store.transaction() as connection:
            rows = await connection.fetch(
                "SELECT at, call_id, author, text, dossier FROM call_note"
                " WHERE call_id = $1 ORDER BY at, id",
                call_id,
            )
        return [CallNote(r["at"], r["call_id"], r["author"], r["text"], r["dossier"]) for r in rows]

    async def tallies(self, start: datetime, end: datetime, top: int = 10) -> Tallies:
        async with self._store.transaction() as connection:
            lookups = await connection.fetch(_LOOKUPS, start, end)
            calls = await connection.fetch(_CALLS, start, end)
            queue = await connection.fetch(_QUEUE, start, end)
            limited = await connection.fetch(_LIMITED, start, end, top)
        return Tallies(
            lookups=tuple(
                LookupTally(r["channel"], r["outcome"], r["status"], r["agency"], r["n"])
                for r in lookups
            ),
            calls=tuple(CallTally(r["outcome"], r["escalation"], r["n"]) for r in calls),
            queue=tuple(
                QueueTally(r["result"], r["n"], r["known"], r["total"], r["longest"]) for r in queue
            ),
            limited=tuple(LimitedSender(r["requester"], r["n"]) for r in limited),
        )
