"""The application's models as it has them today.

`Base.metadata` holds every table the application uses. The live database (Plans/demo/drifted.sql)
and the Alembic history (migrations/) disagree with it in the ways the two reviews describe.
"""
from app.models.base import Base
from app.models.core import (
    ApiKey, App, Document, DocumentChunk, Memory, MemoryAccessLog, MemoryStatusHistory,
    SMSConversation, SmsRole, SubscriptionTier, User, UserIntegration,
)
from app.models.conversation import Conversation
from app.models.goal import Goal
from app.models.milestone import Milestone
from app.models.task import Task
from app.models.checkin import Checkin
from app.models.metric import ConversationEmbedding, Metric
from app.models.wheel import WheelCategory, WheelScore
from app.models.work_session import WorkSession
from app.models.calendar import CalendarEvent
from app.models.backburner import BackburnerItem
from app.models.pattern import PatternTracking

__all__ = [
    "Base", "User", "ApiKey", "App", "Memory", "MemoryStatusHistory", "MemoryAccessLog",
    "Document", "DocumentChunk", "UserIntegration", "SMSConversation", "SmsRole",
    "SubscriptionTier", "Conversation", "Goal", "Milestone", "Task", "Checkin", "Metric",
    "ConversationEmbedding", "WheelCategory", "WheelScore", "WorkSession", "CalendarEvent",
    "BackburnerItem", "PatternTracking",
]
