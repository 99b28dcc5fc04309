"""The dialogue's words, bound to the prompt catalogue (``prompts.catalog``).

:class:`CatalogueScript` is the :class:`ivr.call.Script` of a deployment: it turns the
dialogue's cues and dynamic messages into the catalogue's prompt ids. Each cue is the
catalogue sentence of the same name (``Cue.MENU`` is ``ivr/menu``); a catalogue without one
is refused when the script is built, not discovered during a call.

The status message does not spell the dossier code: the caller has just confirmed it (or
picked it by its last digits), and an AMI command line holds only about forty fragments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from zoneinfo import ZoneInfo

from gateway.dossier import Status
from gateway.privacy import DossierView
from ivr.call import Cue
from prompts import catalog
from prompts.catalog import Catalogue
from prompts.speech import DEFAULT_STYLE, SpeechStyle, Spoken, concat


def cue_prompt_id(cue: Cue) -> str:
    return f"ivr/{cue.value}"


VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# Statuses after which the citizen should go and collect the result.
_COLLECT = frozenset({Status.RESULT_READY})


class CatalogueScript:
    """The words of the hotline, from one catalogue (built with the deployment's agencies)."""

    def __init__(
        self,
        catalogue: Catalogue,
        style: SpeechStyle = DEFAULT_STYLE,
        timezone: tzinfo = VIETNAM,
    ) -> None:
        self._catalogue = catalogue
        self._style = style
        self._zone = timezone  # due dates are said on the citizen's wall clock
        missing = [cue_prompt_id(cue) for cue in Cue if cue_prompt_id(cue) not in catalogue]
        if missing:
            raise KeyError(f"the prompt catalogue has no {', '.join(missing)}")
        self._cues = {cue: catalogue[cue_prompt_id(cue)].spoken for cue in Cue}

    def cue(self, cue: Cue) -> Spoken:
        return self._cues[cue]

    def offer(self, views: Sequence[DossierView]) -> Spoken:
        choices = [catalog.say_choice(key, view.code) for key, view in enumerate(views, 1)]
        return concat(
            catalog.say_found_for_caller(len(views), self._style),
            *choices,
            catalog.OR_ENTER_OTHER.spoken,
        )

    def read_back(self, digits: str) -> Spoken:
        return catalog.say_you_entered(digits)

    def status(self, view: DossierView) -> Spoken:
        parts = [catalog.STATUS_IS.spoken, catalog.status_prompt(view.status).spoken]
        if view.due_at is not None and not view.status.is_final:
            due = view.due_at.astimezone(self._zone) if view.due_at.tzinfo else view.due_at
            parts.append(catalog.say_due(due, self._style))
        if view.overdue:
            parts.append(catalog.OVERDUE.spoken)
        if view.status in _COLLECT:
            parts.append(catalog.say_collect_at(self._catalogue, view.agency))
        return concat(*parts)
