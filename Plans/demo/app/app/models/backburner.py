from sqlalchemy import ARRAY, Column, DateTime, ForeignKey, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID

from app.models.base import Base


class BackburnerItem(Base):
    __tablename__ = "backburner_items"

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    title = Column(String(200), nullable=False)
    description = Column(Text)
    context_tags = Column(ARRAY(String))
    reason = Column(Text)
    created_at = Column(DateTime, server_default=func.now())
    resurfaced_at = Column(DateTime)
    activated_at = Column(DateTime)
