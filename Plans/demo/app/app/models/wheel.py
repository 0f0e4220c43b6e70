from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import UUID

from app.models.base import Base


class WheelCategory(Base):
    __tablename__ = "wheel_categories"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(100), nullable=False)
    description = Column(Text)
    definition_of_10 = Column(Text)
    display_order = Column(Integer)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True))


class WheelScore(Base):
    __tablename__ = "wheel_scores"

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    category_id = Column(UUID(as_uuid=True), ForeignKey("wheel_categories.id", ondelete="CASCADE"), nullable=False)
    score = Column(Integer, CheckConstraint("score BETWEEN 1 AND 10"))
    notes = Column(Text)
    recorded_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
