"""Babel extractors for the YAML texts: eCRF definitions (every label, help text, title and
check message) and the in-app help of each role."""
from __future__ import annotations

import yaml

TRANSLATABLE_KEYS = {"title", "label", "help", "query"}


def extract_forms(fileobj, keywords, comment_tags, options):
    """Yield (lineno, funcname, message, comments) for each translatable scalar."""
    node = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                if isinstance(value, yaml.ScalarNode):
                    if key.value in TRANSLATABLE_KEYS and value.value.strip():
                        yield value.start_mark.line + 1, None, value.value, []
                else:
                    stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


HELP_KEYS = {"title", "text", "label"}
HELP_LISTS = {"steps"}


def extract_help(fileobj, keywords, comment_tags, options):
    """The in-app help (edc/help/help.yaml): every title, text, link label and step."""
    node = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                if isinstance(value, yaml.ScalarNode):
                    if key.value in HELP_KEYS and value.value.strip():
                        yield value.start_mark.line + 1, None, value.value, []
                elif isinstance(value, yaml.SequenceNode) and key.value in HELP_LISTS:
                    for v in value.value:
                        if isinstance(v, yaml.ScalarNode) and v.value.strip():
                            yield v.start_mark.line + 1, None, v.value, []
                else:
                    stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
