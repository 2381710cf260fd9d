"""The family's language: which catalog the family pages read, and English beside an unchecked one.

The fixed words of the family pages and the family's copy are in translation
catalogs (translations/<code>/LC_MESSAGES/messages.po, compiled to .mo), read
by Flask-Babel. The record's first-language field chooses the catalog: a
council adds a language by adding its catalog, named by the language's code
(cy for Welsh), and the first language is matched to it by its English or its
own name ("Welsh", "Cymraeg"). A language an administrator has not listed as
checked by a qualified translator (the `family_checked_languages` setting) shows
English beside each of its fixed words. Staff pages are always English.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import Flask, g, has_request_context
from flask_babel import Babel, get_locale, gettext, refresh
from markupsafe import Markup, escape

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSLATIONS = ROOT / "translations"
ENGLISH = "en"

babel = Babel()


def _selected() -> str:
    return getattr(g, "family_locale", ENGLISH) if has_request_context() else ENGLISH


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", ENGLISH)
    babel.init_app(app, locale_selector=_selected)

    @app.before_request
    def _english_unless_chosen() -> None:
        if "family_locale" in g:  # left by an earlier request sharing this app context
            g.pop("family_locale")
            refresh()
    app.jinja_env.globals["say"] = say


def choose(code: str) -> str:
    """This request's family language. Flask-Babel keeps a chosen locale on `g`, which may
    outlive one request (an app context held open around several, as in tests): forget it."""
    g.family_locale = code
    refresh()
    return code


@functools.lru_cache(maxsize=1)
def catalogs() -> dict[str, str]:
    """Each shipped catalog's code, by every name it may be called (lower case): its code, English and own names."""
    names: dict[str, str] = {ENGLISH: ENGLISH, "english": ENGLISH, "saesneg": ENGLISH}
    if TRANSLATIONS.is_dir():
        for folder in sorted(TRANSLATIONS.iterdir()):
            if not (folder / "LC_MESSAGES" / "messages.mo").exists():
                continue
            code = folder.name
            names[code.lower()] = code
            try:
                locale = Locale.parse(code)
            except (UnknownLocaleError, ValueError):
                continue
            for name in (locale.english_name, locale.get_display_name(code), locale.language_name):
                if name:
                    names[name.casefold()] = code
    return names


def locale_for(first_language: str) -> str:
    """The catalog for a record's first language; English when there is none for it."""
    text = (first_language or "").strip().casefold()
    known = catalogs()
    if text in known:
        return known[text]
    for word in text.replace("(", " ").replace(")", " ").replace(",", " ").split():
        if word in known:
            return known[word]
    return ENGLISH


def checked(code: str) -> bool:
    from tracker import settings

    return code == ENGLISH or code in settings.get("family_checked_languages")


def say(text: str, **values) -> Markup:
    """A fixed phrase in the page's language; English beside it where no qualified translator checked it."""
    translated = gettext(text, **values)
    locale = get_locale()
    code = str(locale) if locale is not None else ENGLISH
    english = escape(text % values if values else text)
    if code == ENGLISH or checked(code) or str(translated) == str(english):
        return Markup(escape(translated))
    return Markup('{} <span lang="en" class="app-also-english">({})</span>').format(translated, english)
