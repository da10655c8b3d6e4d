"""Extract refcnn's messages and bring its gettext catalogs up to date.

    python scripts/catalogs.py           # extract, update every .po, compile them in place
    python scripts/catalogs.py --check   # exit 1 if a message lacks a translation

A contributor who adds or changes a message runs the first form: the template
(refcnn/locale/refcnn.pot) is extracted from refcnn/ and conformance/ (the
calls of ``tr``, ``tr_n`` and ``N_``, refcnn.i18n), each language's .po gets
the new messages empty (a changed one: fuzzy, with its old translation beside
it), and the counts left to translate are printed. Then write the
translations in the .po and run it again. The wheel compiles the .po itself
(setup.py); compiling in place here serves an editable install.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "refcnn" / "locale"
TEMPLATE = LOCALE / "refcnn.pot"
SOURCES = ("refcnn", "conformance")
KEYWORDS = {"tr": None, "tr_n": (1, 2), "N_": None}
LANGUAGES = ("ja",)
SKIP = ("refcnn/locale",)  # the suite's own tests (conformance/tests) say things too


def extract() -> Catalog:
    """Every message the code passes to ``tr``, ``tr_n`` or ``N_``, with where it is."""
    template = Catalog(project="refcnn", domain="refcnn", fuzzy=False)
    for source in SOURCES:
        # Babel warns of each f-string among a call's arguments: here the fields'
        # values, never a message (tests/test_catalogs.py holds every message a
        # literal), so its warnings are noise
        with contextlib.redirect_stderr(io.StringIO()):
            found = list(
                extract_from_dir(
                    ROOT / source,
                    method_map=[("**.py", "python")],
                    keywords=KEYWORDS,
                    comment_tags=("TRANSLATORS:",),
                    strip_comment_tags=True,
                )
            )
        for filename, line, message, comments, context in found:
            path = f"{source}/{filename}"
            if path.startswith(SKIP):
                continue
            template.add(message, None, [(path, line)], auto_comments=comments, context=context)
    return template


def count(catalog: Catalog) -> int:
    return sum(1 for message in catalog if message.id)


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "refcnn.po"


def problems(template: Catalog, lang: str) -> list[str]:
    """What keeps ``lang``'s catalog from covering the code: messages missing,
    empty or fuzzy, and translations whose ``{fields}`` differ from the message's."""
    path = po_path(lang)
    if not path.exists():
        return [f"{path}: missing"]
    with path.open("rb") as file:
        catalog = read_po(file, locale=lang)
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if entry is None:
            found.append(f"not in {lang}: {key!r}")
        elif entry.fuzzy:
            found.append(f"fuzzy in {lang}: {key!r}")
        elif not all(entry.string if isinstance(entry.string, tuple) else [entry.string]):
            found.append(f"untranslated in {lang}: {key!r}")
        else:
            want = fields(message.id)
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            for string in strings:
                if fields(string) != want:
                    found.append(f"fields differ in {lang}: {key!r}: {sorted(fields(string))}")
    return found


def fields(text: str | tuple[str, ...]) -> set[str]:
    """The ``{name}`` fields of a message (or of each of its plural forms)."""
    import string

    texts = text if isinstance(text, tuple) else (text,)
    return {name for t in texts for _, name, _, _ in string.Formatter().parse(t) if name}


def update(template: Catalog) -> None:
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    with TEMPLATE.open("wb") as file:
        write_po(file, template, width=100, omit_header=False, sort_output=False)
    for lang in LANGUAGES:
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as file:
                catalog = read_po(file, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="refcnn", domain="refcnn", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=False)
        catalog.obsolete.clear()  # a message the code no longer has goes
        with path.open("wb") as file:
            write_po(file, catalog, width=100, sort_output=False)
        with path.with_suffix(".mo").open("wb") as file:
            write_mo(file, catalog, use_fuzzy=False)
        left = problems(template, lang)
        print(f"{path.relative_to(ROOT)}: {count(template)} messages, {len(left)} to do")
        for line in left[:20]:
            print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a translation is missing"
    )
    args = parser.parse_args()
    template = extract()
    if not args.check:
        update(template)
        return 0
    left = [line for lang in LANGUAGES for line in problems(template, lang)]
    for line in left:
        print(line)
    print(f"{count(template)} messages; {len(left)} problems")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
