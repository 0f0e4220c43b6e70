-- What the demo's Alembic history builds, by hand on a copy of Plans/demo/drifted.sql
-- (DriftTests): everything but the tables made by hand or by scripts.
\set ON_ERROR_STOP 1
DROP TABLE claude_code_agents, claude_code_sessions, memories_backup_66d3d5d1, user_integrations_backup;
