from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.models.base import Base


class PatternTracking(Base):
    __tablename__ = "pattern_tracking"

    id = Column(UUID(as_uuid=True), primary_key=True)
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    pattern_type = Column(String(50), nullable=False)
    description = Column(Text)
    confidence = Column(Float)
    evidence = Column(JSONB, server_default=text("'[]'::jsonb"))
    occurrence_count = Column(Integer, server_default=text("1"))
    first_observed_at = Column(DateTime(timezone=True))
    last_observed_at = Column(DateTime(timezone=True))
