"""data·inclusion v0 and the DORA API: mapped to v1 (tables in v0_mapping.py,
documented in docs/import-mapping.md). A v0 service has one zone de diffusion
(type + code); a région is written `region:NN` and expanded to its départements
by the loader. A v0 code with no v1 equivalent is reported as a warning."""

from __future__ import annotations

from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE, Item, blank_to_none, split_list, to_float
from importers.sources import v0_mapping as m

DEFAULT_SOURCE = "dora"


def _text(*values) -> str | None:
    parts = [str(v).strip() for v in values if v not in (None, "") and str(v).strip()]
    return "\n\n".join(parts) or None


def _list_text(value) -> str | None:
    items = split_list(value) if not isinstance(value, str) else [value]
    return "; ".join(items) or None


def _map(codes, table: dict, what: str, warnings: list[str]) -> list[str]:
    result: list[str] = []
    for code in split_list(codes):
        if code not in table:
            warnings.append(f"{what} v0 sans équivalent v1 : {code}")
            continue
        for target in table[code] if isinstance(table[code], list) else [table[code]]:
            if target not in result:
                result.append(target)
    return result


def zone(zone_type: str | None, code: str | None) -> tuple[list[str], str | None]:
    """v0 zone de diffusion → v1 zone d'éligibilité (régions as `region:NN`)."""
    zone_type = (zone_type or "").strip().lower()
    code = (str(code).strip() if code is not None else "") or None
    if not zone_type:
        return [], None
    if zone_type == "pays":
        return ["france"], None
    if not code:
        return [], f"zone de diffusion « {zone_type} » sans code"
    if zone_type == "region":
        return [f"region:{code}"], None
    if zone_type in ("commune", "epci", "departement"):
        return [code], None
    return [], f"type de zone de diffusion inconnu : {zone_type}"


def _place(r: dict) -> dict:
    return {
        "commune": blank_to_none(r.get("commune")),
        "code_postal": blank_to_none(r.get("code_postal")),
        "code_insee": blank_to_none(r.get("code_insee")),
        "adresse": blank_to_none(r.get("adresse")),
        "complement_adresse": blank_to_none(r.get("complement_adresse")),
        "longitude": to_float(r.get("longitude")),
        "latitude": to_float(r.get("latitude")),
        "telephone": blank_to_none(r.get("telephone")),
        "courriel": blank_to_none(r.get("courriel")),
    }


def _date(value) -> str | None:
    value = blank_to_none(value)
    if value is None:
        return None
    return str(value)[:10]


def structure(r: dict, source: str) -> Item:
    warnings: list[str] = []
    data = {
        "nom": blank_to_none(r.get("nom")),
        "description": _text(r.get("presentation_detail") or r.get("presentation_resume")),
        "siret": blank_to_none(r.get("siret")),
        "lien_source": blank_to_none(r.get("lien_source")),
        "site_web": blank_to_none(r.get("site_web")),
        "accessibilite_lieu": blank_to_none(r.get("accessibilite")),
        "date_maj": _date(r.get("date_maj")),
        "horaires_accueil": blank_to_none(r.get("horaires_ouverture")),
        **_place(r),
    }
    return Item(kind=STRUCTURE, source=source, source_id=str(r.get("id") or ""), data=data,
                raw=r, warnings=warnings)


def service(r: dict, source: str) -> Item:
    warnings: list[str] = []
    types = [t for t in (m.TYPES.get(x) for x in split_list(r.get("types"))) if t]
    frais_v0 = split_list(r.get("frais"))
    frais = next((m.FRAIS[f] for f in frais_v0 if f in m.FRAIS), None)
    beneficiaire = split_list(r.get("modes_orientation_beneficiaire"))
    accompagnateur = split_list(r.get("modes_orientation_accompagnateur"))
    zone_codes, zone_error = zone(r.get("zone_diffusion_type"), r.get("zone_diffusion_code"))
    publics = _map(r.get("profils"), m.PROFILS, "profil", warnings)
    if "tous-publics" in publics and len(publics) > 1:
        publics = ["tous-publics"]
    mobilisable = (["usagers"] if beneficiaire else []) + (["professionnels"] if accompagnateur else [])
    data = {
        "nom": blank_to_none(r.get("nom")),
        "description": _text(r.get("presentation_detail") or r.get("presentation_resume")),
        "lien_source": blank_to_none(r.get("lien_source")),
        "date_maj": _date(r.get("date_maj")),
        "type": next((t for t in m.TYPE_ORDER if t in types), None),
        "thematiques": _map(r.get("thematiques"), m.THEMATIQUES, "thématique", warnings),
        "frais": frais,
        "frais_precisions": _text(
            "Gratuit sous conditions." if "gratuit-sous-conditions" in frais_v0 else None,
            r.get("frais_autres"),
        ),
        "publics": publics,
        "publics_precisions": blank_to_none(r.get("profils_precisions")),
        "conditions_acces": _text(_list_text(r.get("pre_requis")), _list_text(r.get("justificatifs"))),
        "modes_accueil": [x for x in split_list(r.get("modes_accueil")) if x],
        "zone_eligibilite": zone_codes,
        "contact_nom_prenom": blank_to_none(r.get("contact_nom_prenom")),
        "lien_mobilisation": blank_to_none(r.get("formulaire_en_ligne") or r.get("prise_rdv")),
        "modes_mobilisation": _map(beneficiaire + accompagnateur,
                                   {**m.MODES_ORIENTATION, "autre": []}, "mode d'orientation", warnings),
        "mobilisable_par": mobilisable,
        "mobilisation_precisions": _text(r.get("modes_orientation_beneficiaire_autres"),
                                         r.get("modes_orientation_accompagnateur_autres")),
        **_place(r),
    }
    item = Item(kind=SERVICE, source=source, source_id=str(r.get("id") or ""), data=data, raw=r,
                structure_key=(source, str(r.get("structure_id") or "")), warnings=warnings)
    if zone_error:
        item.errors = {"zone_diffusion_type": [zone_error]}
    return item


def normalise(record: RawRecord, options: dict | None = None) -> list[Item]:
    r = record.data
    source = str(r.get("source") or (options or {}).get("default_source") or DEFAULT_SOURCE)
    kind = record.kind or (SERVICE if r.get("structure_id") else STRUCTURE)
    return [service(r, source) if kind == SERVICE else structure(r, source)]
