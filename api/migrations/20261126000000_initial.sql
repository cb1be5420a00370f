-- Projects, the fundings that make up their amount, and the outbox of messages for the broker.
-- Ids are case-sensitive ASCII (ascii_bin); reads CAST them to CHAR, because a binary collation
-- reaches the client flagged as VARBINARY.

CREATE TABLE projects (
    id               VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    title            VARCHAR(200) NOT NULL,
    goal             BIGINT       NOT NULL,
    currency         CHAR(3)      CHARACTER SET ascii NOT NULL,
    raised           BIGINT       NOT NULL DEFAULT 0,
    backers          INT UNSIGNED NOT NULL DEFAULT 0,
    deadline         DATETIME(6)  NOT NULL,
    goal_achieved_at DATETIME(6)  NULL,
    -- The payment whose raise first reached the goal.
    goal_reached_by  VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NULL,
    created_at       DATETIME(6)  NOT NULL,
    KEY projects_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One row per payment id, ever: the primary key is the idempotency key. A reversal that arrives
-- before its raise leaves a tombstone (tombstone = 1, amount 0) so that the late raise is a no-op.
CREATE TABLE fundings (
    payment_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    project_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    amount       BIGINT      NOT NULL,
    currency     CHAR(3)     CHARACTER SET ascii NOT NULL,
    -- The project's raised amount right after this raise: what a duplicate request is answered.
    raised_after BIGINT      NOT NULL,
    tombstone    BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at   DATETIME(6) NOT NULL,
    reversed_at  DATETIME(6) NULL,
    KEY fundings_project (project_id),
    CONSTRAINT fundings_project_fk FOREIGN KEY (project_id) REFERENCES projects (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Written in the same transaction as the change that causes the message; a background sender
-- posts each row to the broker and marks it sent, retrying with backoff until it is accepted.
CREATE TABLE outbox (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    destination     VARCHAR(64) NOT NULL,
    body            TEXT        NOT NULL,
    created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    attempts        INT UNSIGNED NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    locked_until    DATETIME(6) NULL,
    sent_at         DATETIME(6) NULL,
    last_error      VARCHAR(1000) NULL,
    KEY outbox_pending (sent_at, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
