"""A second application's SQLAlchemy models (a lending library), not the demo: DriftTests
builds its expected schema with `snapshot take --from-models books_models:Base` and compares it
with Fixtures/drift-books-drifted.sql, the same schema with planted drift."""
from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Identity, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Author(Base):
    __tablename__ = "authors"
    id = Column(BigInteger, Identity(), primary_key=True)
    name = Column(Text, nullable=False)
    born = Column(Date)


class Book(Base):
    __tablename__ = "books"
    __table_args__ = (Index("books_title_idx", "title"),)
    id = Column(BigInteger, Identity(), primary_key=True)
    author_id = Column(BigInteger, ForeignKey("authors.id", ondelete="CASCADE"), nullable=False)
    title = Column(Text, nullable=False)
    isbn = Column(String(13), unique=True)
    price = Column(Numeric(8, 2), CheckConstraint("price >= 0"))


class Review(Base):
    __tablename__ = "reviews"
    id = Column(UUID(as_uuid=True), primary_key=True)
    book_id = Column(BigInteger, ForeignKey("books.id"), nullable=False)
    stars = Column(Integer, nullable=False)
    body = Column(Text)


class Loan(Base):
    __tablename__ = "loans"
    id = Column(UUID(as_uuid=True), primary_key=True)
    book_id = Column(BigInteger, ForeignKey("books.id"))
    member = Column(Text, nullable=False)
    due = Column(Date)
