from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID

from app.models.base import Base


class CalendarEvent(Base):
    __tablename__ = "calendar_events"
    __table_args__ = (UniqueConstraint("user_id", "external_id", "calendar_source"),)

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    external_id = Column(String(255))
    title = Column(String(200), nullable=False)
    description = Column(Text)
    location = Column(String(200))
    start_time = Column(DateTime(timezone=True))
    end_time = Column(DateTime(timezone=True))
    all_day = Column(Boolean, server_default=text("false"))
    calendar_source = Column(String(50), server_default="google")
    synced_at = Column(DateTime(timezone=True))
