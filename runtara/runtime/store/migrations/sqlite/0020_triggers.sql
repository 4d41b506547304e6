-- Triggers: schedules and webhooks that start instances. Numbered from 0020 to stay clear
-- of the runtime's (low numbers) and the environment's (0010) migrations. The same SQL
-- for both dialects: times are epoch milliseconds, flags 0/1, sealed secrets text.

-- Which trigger started an instance: a schedule and the nominal time of its fire, or a
-- webhook (by name).
ALTER TABLE instances ADD COLUMN schedule TEXT;
ALTER TABLE instances ADD COLUMN scheduled_at BIGINT;
ALTER TABLE instances ADD COLUMN hook TEXT;
CREATE INDEX instances_by_schedule ON instances (tenant_id, schedule, scheduled_at);
CREATE INDEX instances_by_hook ON instances (tenant_id, hook, created_at);

-- A schedule fires at cron times in a time zone, or every every_ms from its anchor.
-- next_fire_at is the nominal time of the next fire not yet taken (NULL: it ended);
-- buffered_at a fire kept (--overlap buffer-one) until last_instance_id ends.
CREATE TABLE schedules (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    image TEXT NOT NULL,
    cron TEXT,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    every_ms BIGINT,
    input TEXT,
    overlap TEXT NOT NULL CHECK (overlap IN ('skip', 'allow', 'buffer-one')),
    catchup TEXT NOT NULL CHECK (catchup IN ('latest', 'all', 'none')),
    start_at BIGINT,
    end_at BIGINT,
    paused INTEGER NOT NULL DEFAULT 0,
    next_fire_at BIGINT,
    buffered_at BIGINT,
    last_fire_at BIGINT,
    last_instance_id TEXT,
    last_error TEXT,
    fires BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name),
    CHECK ((cron IS NULL) <> (every_ms IS NULL))
);

CREATE INDEX schedules_due ON schedules (paused, next_fire_at);

-- A webhook: POST /v1/hooks/{id} starts an instance of image in tenant_id. The id is
-- random (it is the URL); secret is the HMAC key sealed with RUNTARA_SECRET_KEY.
CREATE TABLE hooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    image TEXT NOT NULL,
    secret TEXT,
    secret_set_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Accepted deliveries of the last 24 hours: what an Idempotency-Key maps to.
CREATE TABLE hook_deliveries (
    hook_id TEXT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (hook_id, instance_id),
    UNIQUE (hook_id, idempotency_key)
);

CREATE INDEX hook_deliveries_by_time ON hook_deliveries (hook_id, created_at);
CREATE INDEX hook_deliveries_expiry ON hook_deliveries (created_at);
