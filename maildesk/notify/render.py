"""Mail text from Jinja2 templates, one folder per language.

A language maildesk writes in is a folder ``maildesk/lang/<code>/`` with its
``templates/`` (and the word lists of ``words.toml``): adding a language is
adding a folder. The templates are named ``<code>/<name>.txt.j2`` here, so that
an operator's ``templates_dir`` overrides any of them with the same layout.

Each template defines a ``subject`` block and a ``body`` block. Undefined
variables are errors (StrictUndefined): a template that names something the
code does not pass fails loudly in tests, not silently in a client's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)

from maildesk.core.config import Service

LANGUAGES = ("en", "nl", "fr")
"""The languages maildesk writes in: those whose folder has ``templates/``."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class Renderer:
    """Renders a named mail in a language; an operator folder may override any template."""

    def __init__(self, override_dir: Path | None = None, default_language: str = "en") -> None:
        loaders: list[Any] = []
        if override_dir is not None:
            loaders.append(FileSystemLoader(str(override_dir)))
        loaders.append(
            PrefixLoader(
                {code: PackageLoader("maildesk", f"lang/{code}/templates") for code in LANGUAGES}
            )
        )
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.default_language = default_language

    def _template_name(self, name: str, language: str) -> str:
        candidate = f"{language}/{name}.txt.j2"
        try:
            self._env.get_template(candidate)
        except Exception:
            return f"{self.default_language}/{name}.txt.j2"
        return candidate

    def render(self, template: str, language: str, **context: Any) -> Rendered:
        """The subject and body of mail ``template`` in ``language`` (else the default language)."""
        tmpl = self._env.get_template(self._template_name(template, language))
        ctx = tmpl.new_context(context)
        subject = "".join(tmpl.blocks["subject"](ctx)).strip()
        body = "".join(tmpl.blocks["body"](ctx)).strip() + "\n"
        return Rendered(subject=" ".join(subject.split()), body=body)


def renderer_for(service: Service) -> Renderer:
    """The renderer a maildesk with these settings uses (operator templates first)."""
    return Renderer(override_dir=service.templates_dir, default_language=service.language)
