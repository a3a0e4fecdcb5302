"""Babel extractors for the YAML texts: eCRF definitions (every label, help text, title and
check message) and the in-app help of each role."""
from __future__ import annotations

import yaml

TRANSLATABLE_KEYS = {"title", "label", "help", "query"}
HELP_KEYS = {"title", "text", "label"}
HELP_LISTS = {"steps"}


def _texts(fileobj, keys, lists=frozenset()):
    """(lineno, funcname, message, comments) for each non-empty scalar under one of ``keys``,
    and each scalar item of a list under one of ``lists``."""
    node = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                if isinstance(value, yaml.ScalarNode):
                    if key.value in keys and value.value.strip():
                        yield value.start_mark.line + 1, None, value.value, []
                elif isinstance(value, yaml.SequenceNode) and key.value in lists:
                    for v in value.value:
                        if isinstance(v, yaml.ScalarNode) and v.value.strip():
                            yield v.start_mark.line + 1, None, v.value, []
                else:
                    stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def extract_forms(fileobj, keywords, comment_tags, options):
    """Every title, label, help text and check message of an eCRF definition."""
    return _texts(fileobj, TRANSLATABLE_KEYS)


def extract_help(fileobj, keywords, comment_tags, options):
    """The in-app help (edc/help/help.yaml): every title, text, link label and step."""
    return _texts(fileobj, HELP_KEYS, HELP_LISTS)
