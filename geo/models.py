"""Tables of the référentiel. Codes are the INSEE ones (COG), kept as text."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Region(Base):
    __tablename__ = "geo_region"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)


class Departement(Base):
    __tablename__ = "geo_departement"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("geo_region.code"))


class Epci(Base):
    __tablename__ = "geo_epci"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(10))


class Commune(Base):
    """A commune (COM) of the COG. Arrondissements municipaux (ARM) are rows too,
    with `parent_code` set to their commune, so that a Lyon arrondissement resolves."""

    __tablename__ = "geo_commune"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    type: Mapped[str] = mapped_column(String(4), default="COM")
    nom: Mapped[str] = mapped_column(Text)
    # Normalised name for prefix lookup (lower case, no accents, no punctuation,
    # "saint" written "st").
    nom_recherche: Mapped[str] = mapped_column(Text)
    departement_code: Mapped[str | None] = mapped_column(String(3), index=True)
    region_code: Mapped[str | None] = mapped_column(String(3))
    epci_code: Mapped[str | None] = mapped_column(String(9), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(5))
    codes_postaux: Mapped[list[str]] = mapped_column(ARRAY(String(5)), default=list)
    population: Mapped[int | None] = mapped_column(BigInteger)
    # Boundary in EPSG:4326; `centre` is ST_PointOnSurface of it (always inside).
    contour = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    centre = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=True)

    __table_args__ = (
        Index("ix_geo_commune_codes_postaux", "codes_postaux", postgresql_using="gin"),
        Index("ix_geo_commune_contour", "contour", postgresql_using="gist"),
        Index("ix_geo_commune_centre", "centre", postgresql_using="gist"),
        Index(
            "ix_geo_commune_nom_recherche",
            "nom_recherche",
            postgresql_ops={"nom_recherche": "text_pattern_ops"},
        ),
    )


class Territory(Base):
    """A named set of communes (a SPIE cohort, a bassin d'emploi…)."""

    __tablename__ = "geo_territory"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    nom: Mapped[str] = mapped_column(Text)
    communes: Mapped[list[str]] = mapped_column(ARRAY(String(5)), default=list)
    contour = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("ix_geo_territory_contour", "contour", postgresql_using="gist"),)
