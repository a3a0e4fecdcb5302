"""Label tables for templates, translated when a page reads them.

Context processors hand every page the same tables of labels (query states, thread
actions, form states …). Translating them all for every page cost ~0.5 ms of CPU per page
while a page reads a few: :class:`Translated` translates an entry when it is first read,
in the request's language, and keeps it for the rest of that page.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _


class Translated(Mapping):
    """A read-only ``{key: translated msgid}`` built from ``{key: msgid}``."""

    __slots__ = ("_msgids", "_done")

    def __init__(self, msgids: Mapping):
        self._msgids, self._done = msgids, {}

    def __getitem__(self, key):
        try:
            return self._done[key]
        except KeyError:
            text = self._done[key] = _(self._msgids[key])  # KeyError: not a label
            return text

    def __iter__(self):
        return iter(self._msgids)

    def __len__(self) -> int:
        return len(self._msgids)
