from sqlalchemy import Column, DateTime, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.models.base import Base


class Metric(Base):
    __tablename__ = "metrics"

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    metric_type = Column(String(50), nullable=False)
    value = Column(JSONB)
    recorded_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ConversationEmbedding(Base):
    __tablename__ = "conversation_embeddings"

    id = Column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))
    conversation_id = Column(UUID(as_uuid=True), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    pinecone_id = Column(String(100), unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
