"""Users, API keys, apps and memories: what the first review calls "models.py".

As the application has them today: the phone and SMS settings live in `User.metadata_` (JSON),
not in columns; `ApiKey.user_id` is indexed twice (`index=True` and `idx_apikey_user_id`); some
ids are UUID text (`String(36)`); some timestamps are naive (`DateTime`), others not.
"""
import enum
import uuid
from enum import Enum as PyEnum

from sqlalchemy import (
    ARRAY, BigInteger, Boolean, CheckConstraint, Column, DateTime, Enum, Float, ForeignKey, Index,
    Integer, String, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.models.base import Base


class SubscriptionTier(PyEnum):
    # Declared, used by no column: users.subscription_tier is a String(10).
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class SmsRole(enum.Enum):
    user = "user"
    assistant = "assistant"
    system = "system"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("char_length(firstname) <= 100", name="users_firstname_length"),
        CheckConstraint("char_length(lastname) <= 100", name="users_lastname_length"),
    )

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email = Column(String(255), nullable=False, unique=True)
    firstname = Column(String(100))
    lastname = Column(String(100))
    subscription_tier = Column(String(10), server_default="free")
    # phone_number, phone_verified, phone_verification_attempts, phone_verified_at and
    # sms_enabled are keys of this JSON.
    metadata_ = Column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    created_at = Column(DateTime, nullable=False, server_default=func.now(), index=True)
    updated_at = Column(DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("idx_apikey_user_id", "user_id"),)

    id = Column(BigInteger, primary_key=True)
    user_id = Column(String(36), nullable=False, index=True)
    name = Column(String(100))
    key_prefix = Column(String(12), nullable=False)
    key_hash = Column(String(64), nullable=False, unique=True)
    is_active = Column(Boolean, server_default=text("true"))
    last_used_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, server_default=func.now())


class App(Base):
    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="idx_app_owner_name"),)

    id = Column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    owner_id = Column(UUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    name = Column(String(255), nullable=False)
    description = Column(Text)
    metadata_ = Column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    is_active = Column(Boolean, server_default=text("true"))
    sync_status = Column(String(20), server_default="pending")
    sync_error = Column(Text)
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    updated_at = Column(DateTime)


class Memory(Base):
    __tablename__ = "memories"
    __table_args__ = (
        Index("idx_memories_user_id", "user_id"),
        Index("idx_memories_user_id_created_at", "user_id", "created_at"),
        Index("idx_memories_app_id", "app_id"),
        Index("idx_memories_state", "state"),
    )

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    app_id = Column(String(36), ForeignKey("apps.id"), nullable=False)
    content = Column(Text, nullable=False)
    vector = Column(Text)
    state = Column(String(20), server_default="active")
    metadata_ = Column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    updated_at = Column(DateTime)
    archived_at = Column(DateTime)
    deleted_at = Column(DateTime)


class MemoryStatusHistory(Base):
    __tablename__ = "memory_status_history"
    __table_args__ = (Index("idx_history_memory_state", "memory_id", "new_state"),)

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    memory_id = Column(UUID(as_uuid=True), ForeignKey("memories.id", ondelete="CASCADE"), nullable=False)
    changed_by = Column(UUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    old_state = Column(String(20), nullable=False)
    new_state = Column(String(20), nullable=False)
    changed_at = Column(DateTime, nullable=False, server_default=func.now())


class MemoryAccessLog(Base):
    __tablename__ = "memory_access_logs"
    __table_args__ = (
        Index("idx_access_memory_time", "memory_id", "accessed_at"),
        Index("idx_access_app_time", "app_id", "accessed_at"),
    )

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    memory_id = Column(UUID(as_uuid=True), ForeignKey("memories.id", ondelete="CASCADE"), nullable=False)
    app_id = Column(String(36), ForeignKey("apps.id"), nullable=False)
    accessed_at = Column(DateTime, nullable=False, server_default=func.now())
    access_type = Column(String(50), nullable=False)
    metadata_ = Column("metadata", JSONB, server_default=text("'{}'::jsonb"))


class Document(Base):
    __tablename__ = "documents"

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    title = Column(String(255), nullable=False)
    source = Column(String(50))
    metadata_ = Column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at = Column(DateTime(timezone=True))


class DocumentChunk(Base):
    __tablename__ = "document_chunks"
    __table_args__ = (UniqueConstraint("document_id", "chunk_index"),)

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    document_id = Column(UUID(as_uuid=True), ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    chunk_index = Column(Integer, nullable=False)
    content = Column(Text, nullable=False)
    metadata_ = Column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    embedding = Column(ARRAY(Float))
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class UserIntegration(Base):
    __tablename__ = "user_integrations"

    id = Column(Text, primary_key=True)
    user_id = Column(String(36), nullable=False, index=True)
    provider = Column(String(50), nullable=False)
    settings = Column(JSONB, server_default=text("'{}'::jsonb"))
    created_at = Column(DateTime, server_default=func.now())


class SMSConversation(Base):
    __tablename__ = "sms_conversations"
    __table_args__ = (Index("ix_sms_conversations_user_id_created_at", "user_id", "created_at"),)

    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id = Column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    phone_number = Column(String(20), nullable=False, index=True)
    role = Column(Enum(SmsRole, name="sms_role", values_callable=lambda roles: [r.value for r in roles]), nullable=False)
    content = Column(Text, nullable=False)
    twilio_message_sid = Column(String(64), unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())
