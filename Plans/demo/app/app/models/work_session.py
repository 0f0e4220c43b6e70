from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID

from app.models.base import Base


def rating(name):
    return Column(name, Integer, CheckConstraint(f"{name} BETWEEN 1 AND 10"))


class WorkSession(Base):
    __tablename__ = "work_sessions"

    id = Column(UUID(as_uuid=True), primary_key=True)
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    task_id = Column(UUID(as_uuid=True), ForeignKey("tasks.id", ondelete="SET NULL"))
    started_at = Column(DateTime(timezone=True), nullable=False)
    ended_at = Column(DateTime(timezone=True))
    duration_minutes = Column(Integer)
    energy_at_start = rating("energy_at_start")
    focus_at_start = rating("focus_at_start")
    strategy_used = Column(String(100))
    completed = Column(Boolean, server_default=text("false"))
    switched_task = Column(Boolean, server_default=text("false"))
    reason_for_switching = Column(Text)
    effectiveness_rating = rating("effectiveness_rating")
