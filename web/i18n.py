"""Languages of the public pages (issue #20): the locale of a request, the
easy-to-read mode (« Facile à lire et à comprendre », FALC), and the words of the
data labels in the person's language.

The locale is, in this order: `?lang=xx` in the URL (a shared link opens in the same
language), the `lang` cookie (the person's last choice), the browser's
`Accept-Language`, French. The back-office, the CTO and the pilotage pages stay in
French whatever is chosen. Links to public pages made by `url_for` keep the
language and the easy-to-read mode (`?lang=ar&falc=1`).

Data labels (the data·inclusion v1 vocabulary, the ten SPIE thematics, the plain
words of web/public/wording.py) are gettext messages with the context
« vocabulaire »: their French label is the message id, so a translator finds them in
the same PO file as the interface (web/translations/<lang>/LC_MESSAGES/messages.po).
`bin/i18n-extract` adds them to the template catalogue (they live in data, not in
code, so `pybabel extract` cannot see them)."""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import Flask, g, has_request_context, request, url_for
from flask_babel import Babel, get_locale, get_translations, gettext, pgettext
from markupsafe import Markup

# Code -> (name in the language itself, direction). French first: the source.
LANGUAGES: dict[str, tuple[str, str]] = {
    "fr": ("Français", "ltr"),
    "en": ("English", "ltr"),
    "ar": ("العربية", "rtl"),
    "uk": ("Українська", "ltr"),
    "es": ("Español", "ltr"),
    "ro": ("Română", "ltr"),
    "ru": ("Русский", "ltr"),
    "tr": ("Türkçe", "ltr"),
}
DEFAULT = "fr"
COOKIE = "lang"
FALC_COOKIE = "falc"
COOKIE_AGE = 365 * 24 * 3600
VOCABULARY = "vocabulaire"
# Blueprints whose pages are translated; every other page stays in French.
PUBLIC_BLUEPRINTS = {"public", "selection", None}  # None: an unknown address (the 404 page)


def N_(message: str) -> str:
    """Marks a message for extraction (`pybabel extract -k N_`), translated later."""
    return message


# Titles and messages of the error pages (web/app.py writes them in French).
ERROR_TEXTS = (
    N_("Page introuvable"), N_("Cette page n'existe pas ou plus."),
    N_("Requête invalide"), N_("Requête invalide."),
    N_("Service momentanément indisponible"),
    N_("La base de données est momentanément indisponible. Réessayez dans quelques secondes."),
    N_("Recherche momentanément indisponible"),
    N_("Le moteur de recherche ne répond pas. Réessayez dans quelques instants."),
    N_("Méthode non autorisée"), N_("Envoi trop volumineux"),
    N_("Pertinence"), N_("Distance"), N_("Mise à jour la plus récente"),
    N_("Public"), N_("Frais"), N_("Type d'offre"), N_("Mode d'accueil"), N_("Source"),
)


def _is_public() -> bool:
    return request.blueprint in PUBLIC_BLUEPRINTS and request.endpoint != "static"


def _asked(value: str | None) -> str | None:
    value = (value or "").strip().lower()[:5]
    return value if value in LANGUAGES else None


def select_locale() -> str:
    if not has_request_context() or not _is_public():
        return DEFAULT
    chosen = _asked(request.args.get("lang")) or _asked(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


def current() -> str:
    """The language of this request's page (French outside a request), looked up once."""
    if not has_request_context():
        return DEFAULT
    if "offre_lang" not in g:
        locale = get_locale()
        g.offre_lang = locale.language if locale is not None else DEFAULT
    return g.offre_lang


def falc() -> bool:
    """The easy-to-read mode: `?falc=1` (or 0) in the URL, else the cookie (looked up once)."""
    if not has_request_context():
        return False
    if "offre_falc" not in g:
        g.offre_falc = request.args["falc"] == "1" if "falc" in request.args else request.cookies.get(FALC_COOKIE) == "1"
    return g.offre_falc


def _translations():
    """This request's translations, looked up once (Flask-Babel looks them up for each
    message, some 20 µs, 600 times on a results page); outside a request, Flask-Babel's."""
    if not has_request_context():
        return get_translations()
    if "offre_translations" not in g:
        g.offre_translations = get_translations()
    return g.offre_translations


def translate(string: str, **variables) -> str:
    """flask_babel.gettext on this request's translations (looked up once)."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def label(text: str | None) -> str | None:
    """A data label (French) in the page's language."""
    if not text:
        return text
    return _translations().upgettext(VOCABULARY, str(text))


def labels(texts) -> list[str]:
    return [label(t) for t in texts or []]


def url_with(**changes) -> str:
    """This page's address with some parameters changed (None removes one)."""
    args = request.args.copy()
    for key, value in changes.items():
        args.poplist(key)
        if value is not None:
            args[key] = value
    path = request.path
    query = "&".join(f"{k}={v}" for k, v in _quoted(args))
    return path + ("?" + query if query else "")


def _quoted(args):
    for key, value in args.items(multi=True):
        yield quote(key, safe=""), quote(value, safe="")


def join_query(base: str, query: str) -> str:
    """`base` (which may already carry `?lang=…`) followed by a query string."""
    if not query:
        return base
    return base + ("&" if "?" in base else "?") + query


def _keep_choices(endpoint: str, values: dict) -> None:
    """url_for of a public page keeps the language and the easy-to-read mode."""
    if not has_request_context() or not endpoint or not endpoint.startswith(("public.", "selection.")):
        return
    if endpoint in ("public.communes_json", "public.map_clusters", "public.basemap", "public.map_popup"):
        return
    lang = current()
    if lang != DEFAULT and "lang" not in values:
        values["lang"] = lang
    if falc() and "falc" not in values:
        values["falc"] = "1"


def _remember(response):
    """The choices made in the URL are kept in cookies for the next visit."""
    if not _is_public():
        return response
    lang = _asked(request.args.get("lang"))
    if lang:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
        response.vary.add("Cookie")
    if request.args.get("falc") in ("0", "1"):
        response.set_cookie(FALC_COOKIE, request.args["falc"], max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    response.vary.add("Accept-Language")
    return response


def partner_text(text) -> Markup | str:
    """What a partner wrote (in French), marked `lang="fr"` on a page in another
    language, for screen readers and the browser's own translation."""
    if text is None or text == "":
        return text
    if has_request_context() and _is_public() and current() != DEFAULT:
        return Markup('<span lang="fr">%s</span>') % text
    return text


def choice_inputs() -> Markup:
    """Hidden fields of a GET form of a public page: the language and the
    easy-to-read mode go with the search (a form's action loses its query)."""
    if not has_request_context() or not _is_public():
        return Markup("")
    out = []
    if current() != DEFAULT:
        out.append(Markup('<input type="hidden" name="lang" value="%s">') % current())
    if falc():
        out.append(Markup('<input type="hidden" name="falc" value="1">'))
    return Markup("").join(out)


def js_texts() -> dict:
    """The words the public pages' scripts write (menu button, commune suggestions,
    map), for a page in another language; French pages let the scripts use their own."""
    return {
        "menu": gettext("Menu"),
        "communes_proposees": gettext("Communes proposées"),
        "communes_n": gettext("Communes proposées : %(num)s"),
        "carte_erreur": gettext("Les points de la carte n'ont pas pu être chargés ; utilisez la liste par commune."),
        "chargement": gettext("Chargement…"),
        "meme_lieu": gettext("Au même endroit :"),
    }


def page_context() -> dict:
    if not has_request_context():
        return {}
    lang = current() if _is_public() else DEFAULT
    name, direction = LANGUAGES.get(lang, LANGUAGES[DEFAULT])
    return {
        "page_lang": lang,
        "page_dir": direction,
        "public_page": _is_public(),
        "falc": falc() if _is_public() else False,
        "languages": [
            {"code": code, "name": native, "dir": d, "current": code == lang,
             "url": url_with(lang=code)}
            for code, (native, d) in LANGUAGES.items()
        ],
        "falc_url": url_with(falc="0" if falc() else "1"),
        "default_url": url_with(lang=None),  # hreflang="x-default": the browser's language chooses
        "lang_fr": Markup(' lang="fr"') if lang != DEFAULT else Markup(""),
        "js_texts": js_texts() if lang != DEFAULT else None,
    }


ANY_ID = "00000000-0000-4000-8000-000000000000"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def url_once(endpoint: str, **values) -> str:
    """url_for, each address built once a request (35 µs each, 110 on a results page);
    those of one offer or structure from one built with ANY_ID, its id put in."""
    ids = [k for k, v in values.items() if UUID.fullmatch(str(v))]
    pattern = {**values, **dict.fromkeys(ids, ANY_ID)}
    key = (endpoint, *sorted(pattern.items()))
    try:
        hash(key)
    except TypeError:  # a list: built as it is
        return url_for(endpoint, **values)
    if not has_request_context() or len(ids) > 1:
        return url_for(endpoint, **values)
    urls = g.setdefault("offre_urls", {})
    if key not in urls:
        urls[key] = url_for(endpoint, **pattern)
    if ids and urls[key].count(ANY_ID) != 1:
        return url_for(endpoint, **values)
    return urls[key].replace(ANY_ID, str(values[ids[0]])) if ids else urls[key]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # as Flask-Babel's, the translations looked up once a request
        gettext=lambda s: _translations().ugettext(s), ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True, pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n))
    app.url_defaults(_keep_choices)
    app.after_request(_remember)
    app.context_processor(page_context)
    app.jinja_env.filters["vocab"] = label
    app.jinja_env.filters["vocabs"] = labels
    # A message known only at run time (an error page's title): no %-formatting.
    app.jinja_env.filters["tr"] = lambda text: gettext(str(text)) if text else text
    app.jinja_env.globals["pgettext"] = pgettext
    app.jinja_env.globals["url_for"] = url_once
    app.jinja_env.globals["choice_inputs"] = choice_inputs
    app.jinja_env.filters["partner"] = partner_text
    # Jinja's `capitalize` lowercases the rest (« From monday »): only the first letter here.
    app.jinja_env.filters["premiere_majuscule"] = lambda text: (text[:1].upper() + text[1:]) if text else text
