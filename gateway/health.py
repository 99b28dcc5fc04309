"""Where each component says how it is, for ``/readyz`` and for operators.

A component (``source:<name>``, ``cache``, ``smpp``, ``ami``, …) registers once, saying whether
the gateway is useless without it (``required``), then reports each change of state. Only the
latest report counts. The gateway is *ready* when every required component is up; a component
that is not required and down makes it *degraded* (it still answers, e.g. from the source when
the cache is gone, or from stale data when the source is gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.clock import Clock


@dataclass(frozen=True, slots=True)
class ComponentState:
    name: str
    ok: bool
    detail: str
    since: datetime  # when it last changed between up and down
    required: bool


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool  # every required component is up
    degraded: bool  # some optional component is down
    components: tuple[ComponentState, ...]

    @property
    def status(self) -> str:
        if not self.ready:
            return "unavailable"
        return "degraded" if self.degraded else "ok"


class Health:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[str, ComponentState] = {}

    def register(self, component: str, *, required: bool, detail: str = "starting") -> None:
        """Declare a component; it counts as down until it first reports."""
        self._states[component] = ComponentState(
            component, False, detail, self._clock.now(), required
        )

    def report(self, component: str, ok: bool, detail: str = "") -> None:
        """Record the component's state; an unregistered component is registered as optional."""
        previous = self._states.get(component)
        required = previous.required if previous else False
        since = previous.since if previous and previous.ok == ok else self._clock.now()
        self._states[component] = ComponentState(component, ok, detail, since, required)

    def unregister(self, component: str) -> None:
        self._states.pop(component, None)

    def state(self, component: str) -> ComponentState | None:
        return self._states.get(component)

    def readiness(self) -> Readiness:
        states = tuple(sorted(self._states.values(), key=lambda s: s.name))
        ready = all(s.ok for s in states if s.required)
        degraded = any(not s.ok for s in states if not s.required)
        return Readiness(ready, degraded, states)
