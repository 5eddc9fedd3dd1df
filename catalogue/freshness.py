"""Freshness of the offer: each service is confirmed every `frequence_maj_jours`
days; past that it is *stale*. Reminders sent to the editors of stale services are
recorded (one per service and stale period) so that nobody is spammed
(migration 0007)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalogue.models import Base, Service, Status


class FreshnessReminder(Base):
    """A reminder e-mail about one stale service, for one stale period: the period is
    named by the day the service became stale (`due_on`); confirming the service
    starts a new period."""

    __tablename__ = "freshness_reminder"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recipients: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)

    __table_args__ = (UniqueConstraint("service_id", "due_on", name="uq_freshness_reminder_service_due"),)


def last_confirmation(service: Service) -> datetime:
    """When the offer was last known to be right: confirmed, edited, or created."""
    candidates = [service.confirmed_at, service.created_at]
    if service.date_maj is not None:
        candidates.append(datetime.combine(service.date_maj, datetime.min.time(), tzinfo=service.created_at.tzinfo))
    return max(c for c in candidates if c is not None)


def due_on(service: Service) -> date:
    """The day the offer becomes stale."""
    return (last_confirmation(service) + timedelta(days=service.frequence_maj_jours or 180)).date()


def is_stale(service: Service, today: date | None = None) -> bool:
    today = today or date.today()
    return service.status == Status.PUBLIE and due_on(service) <= today


def reference_sql():
    """SQL expression of `last_confirmation`, for queries over many services."""
    return func.greatest(Service.confirmed_at, func.cast(Service.date_maj, DateTime(timezone=True)), Service.created_at)


def stale_services_query(today: date | None = None):
    """Published services whose confirmation is overdue, oldest first."""
    today = today or date.today()
    due = func.date(reference_sql() + func.make_interval(0, 0, 0, Service.frequence_maj_jours))
    return (
        select(Service)
        .where(Service.status == Status.PUBLIE, due <= today)
        .order_by(reference_sql())
    )


def confirm(session: Session, service: Service, at: datetime | None = None) -> None:
    """« Rien n'a changé » : the offer is still right today."""
    service.confirmed_at = at or func.now()
    session.flush()
    session.refresh(service)


def already_reminded(session: Session, service: Service) -> bool:
    return (
        session.scalar(
            select(FreshnessReminder.id).where(
                FreshnessReminder.service_id == service.id, FreshnessReminder.due_on == due_on(service)
            )
        )
        is not None
    )
