from sqlalchemy import CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.models.base import Base


class Goal(Base):
    __tablename__ = "goals"
    __table_args__ = (Index("goals_user_id_idx", "user_id"),)

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    category = Column(String(50), CheckConstraint("category IN ('personal', 'work')"))
    title = Column(String(200), nullable=False)
    description = Column(Text)
    target_date = Column(Date)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    completed_at = Column(DateTime(timezone=True))
    status = Column(
        String(20), CheckConstraint("status IN ('active', 'completed', 'paused', 'abandoned')"),
        server_default="active")
    progress = Column(Integer, CheckConstraint("progress BETWEEN 0 AND 100"), server_default=text("0"))
    extra_data = Column(JSONB)
