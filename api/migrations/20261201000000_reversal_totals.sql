-- What reversals took out of each project, ever. With these, raised + reversed and
-- backers + reversals only grow, so the levels funding_update reports as metrics read right
-- whatever order they arrive in (CloudWatch keeps a minute's Maximum, not its last value).
ALTER TABLE projects
    ADD COLUMN reversed  BIGINT       NOT NULL DEFAULT 0 AFTER backers,
    ADD COLUMN reversals INT UNSIGNED NOT NULL DEFAULT 0 AFTER reversed;

-- Projects reversed before this migration: their totals from the fundings (a tombstone took
-- nothing out).
UPDATE projects p SET
    reversed = (SELECT COALESCE(SUM(f.amount), 0) FROM fundings f
                WHERE f.project_id = p.id AND f.reversed_at IS NOT NULL AND NOT f.tombstone),
    reversals = (SELECT COUNT(*) FROM fundings f
                 WHERE f.project_id = p.id AND f.reversed_at IS NOT NULL AND NOT f.tombstone);
