"""Page language: Chinese (zh_CN) by default, English on request.

Templates are written in Chinese and wrap their text in `_()`; the English catalog
(translations/en/LC_MESSAGES/messages.po, compiled to .mo by `make setup`) translates
it. A text missing from the catalog stays Chinese, never blank. The choice is kept in
a cookie, set by the header's switch (/lang/<code>) or by `?lang=` on any page.
The API answers in the language of its Accept-Language header (`en` for English): problem
titles, and the field messages the server words, through the same catalog. Domain messages
(errors from workflows/, marked t("…")) through it too: a text the catalog lacks stays Chinese.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_translations

from server.errors import said
from server.ui.common import bp, redirect_with, safe_next

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT = "zh_CN"
#: locale → its name in itself, for the switch.
LANGUAGES = {"zh_CN": "中文", "en": "English"}
_ALIASES = {
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh-cn": "zh_CN",
    "en": "en",
    "en_us": "en",
    "en-us": "en",
}
COOKIE = "cadreflow_lang"
_ONE_YEAR = 365 * 24 * 3600


def normalize(code: str | None) -> str | None:
    """A supported locale for a code such as `en`, `zh-CN`; None for anything else."""
    return _ALIASES.get((code or "").strip().lower())


def current_locale() -> str:
    """This request's locale: for the API its Accept-Language (Chinese unless English is
    preferred); for pages `?lang=`, then the cookie, then Chinese."""
    if not has_request_context():
        return DEFAULT
    if request.path.startswith("/api/"):
        return normalize(request.accept_languages.best_match(["zh-CN", "en"])) or DEFAULT
    return normalize(request.args.get("lang")) or normalize(request.cookies.get(COOKIE)) or DEFAULT


def html_lang() -> str:
    """The `lang` attribute of the page."""
    return "zh-CN" if current_locale() == "zh_CN" else current_locale()


def _remember(response: Response, locale: str) -> Response:
    response.set_cookie(
        COOKIE,
        locale,
        max_age=_ONE_YEAR,
        samesite="Lax",
        path="/",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    """Switch the page language and go back to where the switch was clicked."""
    locale = normalize(code) or DEFAULT
    return _remember(redirect_with(safe_next(request.args.get("next"))), locale)


@bp.after_request
def _keep_query_choice(response: Response) -> Response:
    chosen = normalize(request.args.get("lang"))
    if chosen and chosen != normalize(request.cookies.get(COOKIE)):
        _remember(response, chosen)
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.extensions["cadreflow"].settings.timezone)
    Babel(app, locale_selector=current_locale)
    # The templates' _() with the request's catalog found once: Flask-Babel looks it up again
    # for every text (a list page has a few hundred), which cost more than the page's queries.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _catalog().ugettext(s),
        ngettext=lambda s, p, n: _catalog().ungettext(s, p, n),
        pgettext=lambda c, s: _catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["content"] = content
    app.jinja_env.filters["label"] = content
    # A domain message kept on a view (why a step cannot be done, returned, withdrawn).
    app.jinja_env.filters["said"] = said


def content(text: str | None) -> str | None:
    """A name from the definitions (a process, a step) or the label of a coded value from
    workflows/ (a status, an outcome: the `label` filter) in the page's language: the catalog's
    translation (`make messages` extracts bpmn/*.bpmn and workflows' tables), else as written.
    Plain text, escaped like any data, unlike `_()` whose result the templates trust."""
    return _catalog().ugettext(text) if text else text


def text(message: str) -> str:
    """A text of a definition (a form's title or option, a rule's wording) in the page's
    language, or as written: the translator the domain's wordings take (`gettext`)."""
    return _catalog().ugettext(message) if message else message


def _catalog() -> Any:
    """This request's translations, looked up on its first text."""
    if not has_request_context():
        return get_translations()
    found = g.get("ui_catalog")
    if found is None:
        found = g.ui_catalog = get_translations()
    return found
