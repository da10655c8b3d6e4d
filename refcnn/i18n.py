"""The language people read refcnn in, and the width its text takes on a terminal.

Messages go through gettext catalogs: ``refcnn/locale/<lang>/LC_MESSAGES/refcnn.po``
in the repository, compiled to ``.mo`` when the wheel is built (setup.py), so an
installed refcnn needs nothing else. English is the messages' own text, the
default and the fallback for anything a catalog lacks.

The language is chosen by an option (``--lang ja``, ``check(..., lang="ja")``);
without one, by the locale: the first of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``
that is set (``ja_JP.UTF-8`` gives Japanese; ``C``, ``POSIX`` and any language
without a catalog give English).

In the code: :func:`tr` translates now, :func:`tr_n` picks a plural, :func:`N_`
marks a message translated later (a table's text, defined at import) by
:func:`tr_marked`. Messages
are ``str.format`` templates with named fields, so that a translation may put
them in its own order. ``python scripts/catalogs.py`` extracts the messages and
updates the catalogs (CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import gettext
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from wcwidth import wcswidth

LANGUAGES = ("en", "ja")
DOMAIN = "refcnn"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None  # None: the locale decides
_catalogs: dict[str, gettext.NullTranslations] = {}


def from_locale(environ: Mapping[str, str] | None = None) -> str:
    """The language the locale asks for: the first of ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG`` that is set and not empty (POSIX's order);
    English where none is, or its language has no catalog."""
    environ = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            code = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def resolve(lang: str | None) -> str:
    """``lang`` checked (one of :data:`LANGUAGES`), or the locale's language for None."""
    if lang is None:
        return from_locale()
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise ValueError(
            f"lang: expected one of {', '.join(LANGUAGES)} (or None: the locale decides), "
            f"got {lang!r}"
        )
    return lang


def choose(lang: str | None) -> str:
    """Speak ``lang`` from now on (None: the locale decides); returns the language."""
    global _chosen
    _chosen = None if lang is None else resolve(lang)
    return current()


def current() -> str:
    """The language messages are translated into now."""
    return _chosen or from_locale()


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Within the block, messages are in ``lang`` (None: as before)."""
    global _chosen
    before = _chosen
    if lang is not None:
        _chosen = resolve(lang)
    try:
        yield current()
    finally:
        _chosen = before


def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang``; English's is the messages themselves."""
    if lang not in _catalogs:
        if lang == "en":
            _catalogs[lang] = gettext.NullTranslations()
        else:
            try:
                _catalogs[lang] = gettext.translation(DOMAIN, LOCALE_DIR, [lang])
            except OSError:
                # a build without its catalogs (a source tree never built):
                # English, said once, rather than no verdict
                warnings.warn(
                    f"refcnn has no compiled {lang} catalog in {LOCALE_DIR} "
                    "(python scripts/catalogs.py compiles it); messages stay in English",
                    RuntimeWarning,
                    stacklevel=3,
                )
                _catalogs[lang] = gettext.NullTranslations()
    return _catalogs[lang]


def tr(message: str, /, **fields: object) -> str:
    """``message`` in the current language, its ``{fields}`` filled in."""
    text = catalog(current()).gettext(message)
    return text.format(**fields) if fields else text


def tr_n(singular: str, plural: str, n: int, /, **fields: object) -> str:
    """The singular or plural of a message for count ``n`` (``{n}`` is filled in)."""
    text = catalog(current()).ngettext(singular, plural, n)
    return text.format(n=n, **fields)


def tr_marked(message: str, /, **fields: object) -> str:
    """:func:`tr` of a message marked by :func:`N_` elsewhere (a table's
    text): the one call whose message is not a literal."""
    return tr(message, **fields)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a marker)
    """Marks ``message`` for the catalogs; :func:`tr` translates it where it is shown."""
    return message


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal: 2 for a wide (CJK) character."""
    columns = wcswidth(text)
    return columns if columns >= 0 else len(text)  # a control character: as many as len


def ljust(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` display columns."""
    return text + " " * max(0, columns - width(text))


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` display columns: broken at
    spaces, and between wide characters (as Japanese is), never inside a
    word of narrow ones."""
    tokens = re.findall(r"\s+|[^\s\u1100-\uffff]+|.", text)
    lines, line = [], ""
    for token in tokens:
        if line and width(line + token.rstrip()) > columns:
            lines.append(line.rstrip())
            line = "" if token.isspace() else token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def lang_in(argv: Sequence[str], names: Sequence[str] = ("--lang",)) -> str | None:
    """The value of ``--lang`` (or another of ``names``) in a command line,
    before it is parsed (its ``--help`` is written in that language); None
    where it is absent or not a language (the parser then says so)."""
    for i, arg in enumerate(argv):
        value = None
        name, equals, given = arg.partition("=")
        if arg in names and i + 1 < len(argv):
            value = argv[i + 1]
        elif equals and name in names:
            value = given
        if value is not None:
            return value if value in LANGUAGES else None
    return None


def localize(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser``'s own words (usage, section titles, ``-h``) in the current
    language; argparse's error messages stay its own."""

    class Formatter(parser.formatter_class):  # type: ignore[misc, valid-type]
        def add_usage(self, usage, actions, groups, prefix=None):
            return super().add_usage(usage, actions, groups, prefix or tr("usage: "))

        def _split_lines(self, text, columns):
            if width(text) == len(text):  # no wide character: argparse's own wrapping
                return super()._split_lines(text, columns)
            return wrap(" ".join(text.split()), columns)

    parser.formatter_class = Formatter
    for group in parser._action_groups:  # argparse names its two groups itself
        if group.title == "positional arguments":
            group.title = tr("positional arguments")
        elif group.title == "options":
            group.title = tr("options")
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = tr("show this help message and exit")
    return parser
