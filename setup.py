"""Builds refcnn's gettext catalogs with the package: each .po under
refcnn/locale is compiled to the .mo that refcnn.i18n reads. Everything
else is declared in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path("refcnn") / "locale"


def compile_catalogs(target: Path) -> list[str]:
    """Each ``refcnn/locale/<lang>/LC_MESSAGES/*.po`` compiled under ``target``;
    fuzzy entries are left out (English is shown for them)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        with mo.open("wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        written.append(str(mo))
    return written


class build_py_with_catalogs(build_py):  # noqa: N801 (setuptools' command naming)
    """build_py, then the catalogs: into the build folder for a wheel, into
    the source tree for an editable install (where the package is read)."""

    def run(self) -> None:
        super().run()
        target = Path(".") if self.editable_mode else Path(self.build_lib)
        self._catalogs = compile_catalogs(target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *getattr(self, "_catalogs", [])]


setup(cmdclass={"build_py": build_py_with_catalogs})
