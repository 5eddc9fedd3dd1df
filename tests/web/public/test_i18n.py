"""The public pages in several languages (issue #20): the choice of the language,
complete catalogues, no French message left on a page rendered in another
language, the easy-to-read mode."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages import checkers
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.auth_helpers import csrf_token
from web import i18n

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "web/translations"
COMPLETE = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]
LAON = "02408"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def _catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES/messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _pot():
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        return read_po(f)


# ---------------------------------------------------------------- the catalogues

@pytest.mark.parametrize("lang", COMPLETE)
def test_every_message_is_translated_without_fuzzy_and_keeps_its_placeholders(lang):
    catalog = _catalog(lang)
    template_ids = {(m.id, m.context) for m in _pot() if m.id}
    ids = {(m.id, m.context) for m in catalog if m.id}
    assert template_ids <= ids, f"{lang}: messages missing from the PO (make i18n-extract)"
    for message in catalog:
        if not message.id or (message.id, message.context) not in template_ids:
            continue
        assert not message.fuzzy, f"{lang}: fuzzy « {message.id} »"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{lang}: untranslated « {message.id} »"
        if isinstance(message.id, tuple):
            assert len(strings) == catalog.num_plurals, f"{lang}: plural forms of « {message.id[0]} »"
        checkers.python_format(catalog, message)  # raises TranslationError on a placeholder mismatch


def _plain(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("lang", COMPLETE)
def test_compiled_catalogue_is_the_po_file(lang):
    """The committed .mo (what the application reads) says what the PO file says."""
    with (TRANSLATIONS / lang / "LC_MESSAGES/messages.mo").open("rb") as f:
        compiled = {(_plain(m.id), m.context): _plain(m.string) for m in read_mo(f) if m.id}
    source = {(_plain(m.id), m.context): _plain(m.string) for m in _catalog(lang) if m.id}
    assert compiled == source, f"{lang}: run `make i18n-compile`"


def test_the_ten_thematics_and_every_public_filter_label_are_in_the_catalogue():
    from catalogue import vocabulary

    wanted = [g.label for g in vocabulary.spie_groups()]
    for table in (vocabulary.thematiques(), vocabulary.publics(), vocabulary.frais(), vocabulary.types(),
                  vocabulary.modes_accueil()):
        wanted.extend(table.values())
    for lang in COMPLETE:
        translated = {m.id: m.string for m in _catalog(lang) if m.context == i18n.VOCABULARY}
        for label in wanted:
            assert translated.get(label), f"{lang}: « {label} » untranslated"


# ---------------------------------------------------------------- choosing the language

def test_lang_in_the_url_gives_arabic_right_to_left_and_is_kept_in_a_cookie(client):
    response = client.get("/?lang=ar")
    page = text_of(response)
    assert '<html lang="ar" dir="rtl"' in page
    assert "المحاور العشرة لـ SPIE" in page and "السكن" in page  # « Logement », a SPIE thematic
    assert "lang=ar" in response.headers.get("Set-Cookie", "")
    # The cookie alone keeps the language on the next page.
    assert '<html lang="ar" dir="rtl"' in text_of(client.get("/carte"))


def test_accept_language_chooses_on_first_visit(client):
    page = text_of(client.get("/", headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"}))
    assert '<html lang="uk" dir="ltr"' in page and "Десять тем SPIE" in page
    assert '<html lang="fr"' in text_of(client.get("/", headers={"Accept-Language": "de"}))


def test_switch_names_each_language_in_itself_and_alternates_are_declared(client):
    page = text_of(client.get("/?lang=en"))
    for code, (name, _) in i18n.LANGUAGES.items():
        assert f'lang="{code}"' in page and f">{name}</a>" in page
        assert f'hreflang="{code}"' in page
    assert 'rel="alternate" hreflang="ar" href="/?lang=ar"' in page
    assert 'rel="alternate" hreflang="x-default" href="/"' in page


def test_links_and_forms_keep_the_language(client, factories):
    factories.ServiceFactory(nom="Garage solidaire", zone_eligibilite=[LAON])
    page = text_of(client.get("/?lang=es"))
    assert 'href="/carte?lang=es"' in page
    assert '<input type="hidden" name="lang" value="es">' in page
    results = text_of(client.get(f"/recherche?code_commune={LAON}&lang=es"))
    service_link = re.search(r'href="(/services/[^"]+)"', results).group(1)
    assert "lang=es" in service_link
    service = text_of(client.get(service_link.replace("&amp;", "&")))
    assert '<html lang="es"' in service
    # The way back to the results is one address, with the language once.
    back = re.search(r'<a href="(/recherche[^"]*)">Volver a los resultados', service).group(1)
    assert back.count("?") == 1 and "lang=es" in back


def test_back_office_stays_french(client):
    page = text_of(client.get("/connexion?lang=ar", headers={"Accept-Language": "ar"}))
    assert '<html lang="fr" dir="ltr"' in page


def test_an_unknown_language_falls_back_without_error(client):
    response = client.get("/?lang=xx")
    assert response.status_code == 200 and '<html lang="fr"' in text_of(response)


# ---------------------------------------------------------------- no French left

def _french_fragments(lang: str) -> set[str]:
    """The French messages that must not appear on a page in `lang`: every message
    (or the longest literal piece of one with placeholders) whose translation differs."""
    out = set()
    for m in _catalog(lang):
        if not m.id:
            continue
        source = m.id[0] if isinstance(m.id, tuple) else m.id
        target = m.string[0] if isinstance(m.string, tuple) else m.string
        if not target or source == target:
            continue
        pieces = [p.strip(" :;,.()«»") for p in re.split(r"%\(\w+\)s", source)]
        piece = max(pieces, key=len)
        if len(piece) >= 4 and not any(piece in (t or "") for t in (m.string if isinstance(m.string, tuple) else [target])):
            out.add(piece)
    return out


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<head>.*?</head>", " ", page, flags=re.S)
    # What partners wrote is left in French, marked lang="fr".
    page = re.sub(r'<(\w+)[^>]*\blang="fr"[^>]*>.*?</\1>', " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", page.replace("&#39;", "'").replace("&amp;", "&"))


@pytest.fixture
def catalogue_pages(client, factories):
    today = date.today()
    structure = factories.StructureFactory(nom="Association Relais Emploi", horaires_accueil="Mo-Fr 09:00-12:00")
    garage = factories.ServiceFactory(
        nom="Garage solidaire", structure=structure, zone_eligibilite=[LAON], telephone="03 23 00 00 00",
        mobilisable_par=["professionnels", "usagers"], modes_mobilisation=["telephoner", "se-presenter"],
        publics=["jeunes", "beneficiaires-des-minimas-sociaux"], frais="payant", frais_precisions="5 euros",
        horaires_accueil="Mo-Fr 09:00-12:00,14:00-17:00; PH off", conditions_acces="Venir avec une pièce d'identité.",
        thematiques=["mobilite--preparer-un-permis", "logement-hebergement--louer-un-logement"],
        date_maj=today - timedelta(days=95), volume_horaire_hebdomadaire=4, nombre_semaines=6,
        message_temporaire="Fermé pendant les vacances.", message_debut=today, message_fin=today + timedelta(days=10),
    )
    visio = factories.ServiceFactory(nom="Conseil en visio", structure=structure, modes_accueil=["a-distance"],
                                     location=None, zone_eligibilite=["02"], date_maj=today - timedelta(days=400))
    # A selection with both offers and a sharing link (issue 19, point 1); the French
    # messages of these POSTs are shown once, by the first GET.
    for offer in (garage, visio):
        client.post("/selection/ajouter", data={"csrf_token": csrf_token(client), "offre": str(offer.id)})
    client.post("/selection/partager", data={"csrf_token": csrf_token(client)})
    shared = re.search(r'href="[^"]*?(/s/[\w-]+)"', text_of(client.get("/selection"))).group(1)
    return {
        "selection": "/selection",
        "selection_shared": shared,
        "selection_bad_link": "/s/pas-un-jeton!",
        "home": "/",
        "results": f"/recherche?code_commune={LAON}",
        "results_filtered": f"/recherche?code_commune={LAON}&thematiques=mobilite&frais=payant&ouvert_le=2031-01-06T10:00",
        "results_empty": f"/recherche?code_commune={LAON}&q=zzzzyyyxx",
        "service": f"/services/{garage.id}",
        "service_falc": f"/services/{garage.id}?falc=1",
        "results_falc": f"/recherche?code_commune={LAON}&falc=1",
        "structure": f"/structures/{structure.id}",
        "map": "/carte",
        "choose": "/recherche?commune=Vauciennes",
        "unknown_commune": "/recherche?commune=Zzzyville",
        "bad_search": f"/recherche?code_commune={LAON}&tri=hasard",
        "not_found": "/services/00000000-0000-0000-0000-000000000000",
    }


@pytest.mark.parametrize("lang", COMPLETE)
def test_no_french_message_is_left_on_any_public_page(client, catalogue_pages, lang):
    fragments = _french_fragments(lang)
    assert len(fragments) > 150
    for name, url in catalogue_pages.items():
        response = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
        assert response.status_code in (200, 400, 404), name
        page = text_of(response)
        assert f'<html lang="{lang}"' in page, name
        text = _visible_text(page)
        left = sorted(f for f in fragments if re.search(r"(?<!\w)" + re.escape(f) + r"(?!\w)", text))
        assert not left, f"{lang} {name}: French left: {left}"


def test_dates_numbers_hours_and_distances_follow_the_language(client, catalogue_pages):
    page = _visible_text(text_of(client.get(catalogue_pages["service"] + "?lang=en")))
    assert "Monday to Friday" in page or "from Monday to Friday" in page
    assert "9:00 to 12:00" in page and "closed on public holidays" in page
    assert "Updated 3 months ago" in page
    results = _visible_text(text_of(client.get(catalogue_pages["results"] + "&lang=en")))
    assert re.search(r"\d+(\.\d)? k?m away", results)
    arabic = _visible_text(text_of(client.get(catalogue_pages["service"] + "?lang=ar")))
    assert "الاثنين" in arabic  # Monday, from Babel's Arabic data


def test_what_partners_wrote_stays_french_and_is_marked(client, catalogue_pages):
    page = text_of(client.get(catalogue_pages["service"] + "?lang=uk"))
    assert '<h1 lang="fr">Garage solidaire</h1>' in page
    assert '<dd lang="fr">Venir avec une pièce d&#39;identité.</dd>' in page


# ---------------------------------------------------------------- easy to read

def test_easy_to_read_shows_the_essentials_first_with_icons(client, catalogue_pages):
    response = client.get(catalogue_pages["service_falc"])
    page = text_of(response)
    assert '<html lang="fr" dir="ltr" class="falc"' in page
    essentials = page.index("L'essentiel")
    assert essentials < page.index("Pour qui")
    for question in ("Où aller ?", "Quand ?", "Qui peut demander ?", "Ce qu'il faut savoir avant d'y aller", "Qui appeler ?"):
        assert question in page
    assert 'class="theme-icon"' in page
    assert "falc=1" in response.headers.get("Set-Cookie", "")
    # Kept by the cookie; the results show the essentials of each service too.
    results = text_of(client.get(catalogue_pages["results"]))
    assert 'class="falc"' in results and "Qui appeler ?" in results
    # And translated like the rest.
    assert "Who to call?" in text_of(client.get(catalogue_pages["service"] + "?lang=en"))
    assert 'class="falc"' not in text_of(client.get(catalogue_pages["service"] + "?falc=0"))


# ---------------------------------------------------------------- the selection

def test_the_selection_answers_in_the_language_of_the_request(client, factories):
    offer = factories.ServiceFactory(nom="Garage solidaire", zone_eligibilite=[LAON])
    r = client.post("/selection/ajouter?lang=en", data={"csrf_token": csrf_token(client), "offre": str(offer.id)},
                    headers={"Accept": "application/json"})
    assert r.get_json()["message"] == "Service added to your selection (1 service)."
    r = client.post("/selection/deplacer?lang=uk", data={"csrf_token": csrf_token(client), "offre": str(offer.id),
                                                          "sens": "gauche"})
    assert r.status_code == 400
    assert "напрямок: « gauche »: очікується « haut » (вгору) або « bas » (вниз)." in text_of(r)
    # In French the message raised by catalogue.selection is unchanged.
    r = client.post("/selection/deplacer?lang=fr", data={"csrf_token": csrf_token(client), "offre": str(offer.id),
                                                          "sens": "gauche"})
    assert "sens : « gauche » : « haut » ou « bas » attendu." in text_of(r)
    page = text_of(client.get("/selection?lang=ar"))
    assert '<html lang="ar" dir="rtl"' in page and "اختياري" in page
    assert 'action="/selection/envoyer?lang=ar"' in page and 'href="/selection.pdf?lang=ar"' in page
    assert f'<a href="/services/{offer.id}?lang=ar" lang="fr">Garage solidaire</a>' in page
