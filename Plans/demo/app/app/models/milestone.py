from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import UUID

from app.models.base import Base


class Milestone(Base):
    __tablename__ = "milestones"

    id = Column(UUID(as_uuid=True), primary_key=True)
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    goal_id = Column(UUID(as_uuid=True), ForeignKey("goals.id", ondelete="CASCADE"))
    title = Column(String(200), nullable=False)
    target_date = Column(Date)
    completed = Column(Boolean, server_default=text("false"))
    completed_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
