"""factory_boy factories for the catalogue (bound to the test session by `use`)."""

from __future__ import annotations

import uuid
from datetime import date

import factory

from catalogue.models import LocationPrecision, Service, Status, Structure


class _Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"


class StructureFactory(_Base):
    class Meta:
        model = Structure

    id = factory.LazyFunction(uuid.uuid4)
    source = "test"
    source_id = factory.Sequence(lambda n: f"structure-{n}")
    nom = factory.Sequence(lambda n: f"Structure de test {n}")
    status = Status.PUBLIE
    code_insee = "02408"
    commune = "Laon"
    date_maj = date(2026, 10, 1)
    reseaux_porteurs = factory.LazyFunction(list)


class ServiceFactory(_Base):
    class Meta:
        model = Service

    id = factory.LazyFunction(uuid.uuid4)
    source = "test"
    source_id = factory.Sequence(lambda n: f"service-{n}")
    structure = factory.SubFactory(StructureFactory)
    nom = factory.Sequence(lambda n: f"Service de test {n}")
    description = "Un service de test."
    status = Status.PUBLIE
    thematiques = factory.LazyFunction(lambda: ["mobilite--preparer-un-permis"])
    publics = factory.LazyFunction(lambda: ["tous-publics"])
    modes_accueil = factory.LazyFunction(lambda: ["en-presentiel"])
    zone_eligibilite = factory.LazyFunction(list)
    modes_mobilisation = factory.LazyFunction(lambda: ["telephoner"])
    mobilisable_par = factory.LazyFunction(lambda: ["professionnels"])
    frais = "gratuit"
    type = "accompagnement"
    code_insee = "02408"
    commune = "Laon"
    date_maj = date(2026, 10, 1)
    # Laon, by default; pass location=None for a remote service.
    location = "SRID=4326;POINT(3.6244 49.5641)"
    location_precision = LocationPrecision.ADRESSE


def use(session) -> None:
    """Bind every factory to `session`."""
    for f in (StructureFactory, ServiceFactory):
        f._meta.sqlalchemy_session = session
