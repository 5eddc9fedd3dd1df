"""Marshmallow schemas of /api/v1 (they are the OpenAPI spec). Output fields that
may be empty are nullable; codes are data·inclusion's."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from catalogue import export


def _n(field_cls, **kw):
    return field_cls(allow_none=True, **kw)


class LinksSchema(Schema):
    self = fields.String(required=True, metadata={"description": "Cette ressource."})
    next = fields.String(metadata={"description": "Page suivante (absente sur la dernière)."})
    html = fields.String(metadata={"description": "Page web publique."})


class RefSchema(Schema):
    code = fields.String(required=True)
    nom = fields.String(required=True)


class PointSchema(Schema):
    longitude = fields.Float(required=True)
    latitude = fields.Float(required=True)


class StructureRefSchema(Schema):
    id = fields.UUID(required=True)
    nom = fields.String(required=True)


class ServiceRefSchema(Schema):
    id = fields.UUID(required=True)
    nom = fields.String(required=True)
    status = fields.String(required=True)


class _RecordSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Identifiant dans le catalogue."})
    source = fields.String(required=True, metadata={"description": "Producteur de la donnée."})
    source_id = fields.String(required=True, metadata={"description": "Identifiant chez le producteur."})
    status = fields.String(required=True, validate=validate.OneOf(["brouillon", "publie", "archive"]))
    nom = fields.String(required=True)
    description = _n(fields.String)
    lien_source = _n(fields.String)
    date_maj = _n(fields.Date, metadata={"description": "Date de mise à jour chez le producteur."})
    commune = _n(fields.String)
    code_postal = _n(fields.String)
    code_insee = _n(fields.String)
    adresse = _n(fields.String)
    complement_adresse = _n(fields.String)
    longitude = _n(fields.Float)
    latitude = _n(fields.Float)
    location_precision = _n(fields.String, metadata={"description": "source, adresse ou commune (centre de la commune : lieu approximatif)."})
    telephone = _n(fields.String)
    courriel = _n(fields.String)
    horaires_accueil = _n(fields.String, metadata={"description": "Syntaxe OpenStreetMap opening_hours."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    links = fields.Nested(LinksSchema, required=True)


class ServiceSchema(_RecordSchema):
    structure = fields.Nested(StructureRefSchema, required=True)
    type = _n(fields.String)
    thematiques = fields.List(fields.String(), required=True)
    thematiques_spie = fields.List(fields.String(), required=True, metadata={"description": "Codes des thématiques SPIE couvertes."})
    frais = _n(fields.String)
    frais_precisions = _n(fields.String)
    publics = fields.List(fields.String(), required=True)
    publics_precisions = _n(fields.String)
    conditions_acces = _n(fields.String)
    modes_accueil = fields.List(fields.String(), required=True)
    zone_eligibilite = fields.List(fields.String(), required=True, metadata={"description": "Codes INSEE (commune, EPCI, département) ou france ; vide : partout."})
    contact_nom_prenom = _n(fields.String)
    lien_mobilisation = _n(fields.String)
    modes_mobilisation = fields.List(fields.String(), required=True)
    mobilisable_par = fields.List(fields.String(), required=True)
    mobilisation_precisions = _n(fields.String)
    volume_horaire_hebdomadaire = _n(fields.Float)
    nombre_semaines = _n(fields.Integer)
    frequence_maj_jours = fields.Integer(required=True)
    confirmed_at = _n(fields.DateTime)


class StructureSchema(_RecordSchema):
    siret = _n(fields.String)
    site_web = _n(fields.String)
    accessibilite_lieu = _n(fields.String)
    reseaux_porteurs = fields.List(fields.String(), required=True)
    services = fields.List(fields.Nested(ServiceRefSchema), required=True, metadata={"description": "Services publiés ou archivés de la structure."})


class MatchSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["nom", "code_postal", "code_commune"]))
    libelle = fields.String(required=True, metadata={"description": "« code postal 02100 », « code commune 02100 »."})


class CommuneSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Code INSEE."})
    nom = fields.String(required=True)
    codes_postaux = fields.List(fields.String(), required=True)
    epci = fields.Nested(RefSchema, allow_none=True)
    departement = fields.Nested(RefSchema, allow_none=True)
    region = fields.Nested(RefSchema, allow_none=True)
    centre = fields.Nested(PointSchema, allow_none=True)
    population = _n(fields.Integer)
    correspondance = fields.Nested(
        MatchSchema, required=True,
        metadata={"description": "Ce que la recherche a trouvé : le nom, un code postal ou le code commune (INSEE)."},
    )


class CommuneQuerySchema(Schema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100, error="entre 1 et 100 caractères"),
        metadata={"description": "Nom (début), code postal ou code INSEE."},
        error_messages={"required": "paramètre obligatoire (nom, code postal ou code INSEE)"},
    )
    limit = fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=50, error="entre 1 et 50"),
        error_messages={"invalid": "nombre entier attendu"},
    )


class CommuneListSchema(Schema):
    items = fields.List(fields.Nested(CommuneSchema), required=True)


class TerritorySummarySchema(Schema):
    slug = fields.String(required=True)
    nom = fields.String(required=True)
    nombre_communes = fields.Integer(required=True)
    links = fields.Nested(LinksSchema, required=True)


class TerritoryListSchema(Schema):
    items = fields.List(fields.Nested(TerritorySummarySchema), required=True)


class TerritorySchema(Schema):
    slug = fields.String(required=True)
    nom = fields.String(required=True)
    communes = fields.List(fields.Nested(RefSchema), required=True)
    contour = _n(fields.Dict, metadata={"description": "Contour simplifié (géométrie GeoJSON, WGS84)."})
    links = fields.Nested(LinksSchema, required=True)


class LabelSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class CategorieSchema(LabelSchema):
    thematiques = fields.List(fields.Nested(LabelSchema), required=True)


class SpieGroupSchema(LabelSchema):
    rang = fields.Integer(required=True)
    services = fields.Integer(required=True, metadata={"description": "Services publiés de la thématique."})
    categories = fields.List(fields.Nested(CategorieSchema), required=True)


class ThematiquesSchema(Schema):
    groupes = fields.List(fields.Nested(SpieGroupSchema), required=True, metadata={"description": "Les dix thématiques du SPIE, regroupement des catégories data·inclusion."})


class SourceSchema(Schema):
    source = fields.String(required=True)
    structures = fields.Integer(required=True)
    services = fields.Integer(required=True)


class SourceListSchema(Schema):
    items = fields.List(fields.Nested(SourceSchema), required=True)


class ExportQuerySchema(Schema):
    cursor = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{22}$", error="curseur invalide (reprenez celui de links.next)"),
        metadata={"description": "Curseur de la page suivante (links.next)."},
    )
    size = fields.Integer(
        load_default=500,
        validate=validate.Range(min=1, max=export.MAX_PAGE_SIZE, error=f"entre 1 et {export.MAX_PAGE_SIZE}"),
        error_messages={"invalid": "nombre entier attendu"},
    )
    include_imported = fields.Boolean(
        load_default=False,
        error_messages={"invalid": "true ou false attendu"},
        metadata={"description": "Ajouter les enregistrements importés d'une autre base, sous leur propre "
                                 "source et leur propre identifiant (par défaut : seulement les nôtres)."},
    )


def _di_schema(name: str, field_names: tuple[str, ...]) -> type[Schema]:
    """A data·inclusion v1 record: the fields of the package's model, in its order."""
    required = {"source", "id", "nom", "date_maj", "structure_id", "description"}
    lists = {"thematiques", "publics", "modes_accueil", "zone_eligibilite", "modes_mobilisation", "mobilisable_par", "reseaux_porteurs"}
    floats = {"longitude", "latitude", "volume_horaire_hebdomadaire"}
    attrs = {}
    for f in field_names:
        if f in lists:
            attrs[f] = fields.List(fields.String(), allow_none=True)
        elif f in floats:
            attrs[f] = fields.Float(allow_none=True)
        elif f == "nombre_semaines":
            attrs[f] = fields.Integer(allow_none=True)
        elif f in required and not (name == "DataInclusionStructure" and f == "description"):
            attrs[f] = fields.String(required=True)
        else:
            attrs[f] = fields.String(allow_none=True)
    return Schema.from_dict(attrs, name=name)


DataInclusionStructure = _di_schema("DataInclusionStructure", export.STRUCTURE_FIELDS)
DataInclusionService = _di_schema("DataInclusionService", export.SERVICE_FIELDS)


class DataInclusionStructurePage(Schema):
    items = fields.List(fields.Nested(DataInclusionStructure), required=True)
    next_cursor = _n(fields.String)
    links = fields.Nested(LinksSchema, required=True)


class DataInclusionServicePage(Schema):
    items = fields.List(fields.Nested(DataInclusionService), required=True)
    next_cursor = _n(fields.String)
    links = fields.Nested(LinksSchema, required=True)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class PartnerServiceSchema(ServiceSchema):
    partner_id = _n(fields.String, metadata={"description": "Identifiant du service chez le partenaire (clé du PUT)."})
    avertissements = fields.List(fields.String(), metadata={"description": (
        "Corrections faites à l'écriture : commune, code postal ou nom de commune mis en accord avec le "
        "référentiel et le point (par ex. « code commune 75003 → 75103 (Paris 3e Arrondissement) "
        "d'après les coordonnées »).")})
