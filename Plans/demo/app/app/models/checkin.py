from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.models.base import Base


def rating(name):
    return Column(name, Integer, CheckConstraint(f"{name} BETWEEN 1 AND 10"))


class Checkin(Base):
    __tablename__ = "checkins"
    __table_args__ = (Index("checkins_user_id_created_at_idx", "user_id", "created_at"),)

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    type = Column(String(20), CheckConstraint("type IN ('daily', 'weekly', 'monthly')"), nullable=False)
    overall_rating = rating("overall_rating")
    energy_rating = rating("energy_rating")
    focus_rating = rating("focus_rating")
    mood_rating = rating("mood_rating")
    stress_rating = rating("stress_rating")
    responses = Column(JSONB)
    ai_analysis = Column(Text)
    insights = Column(JSONB)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
