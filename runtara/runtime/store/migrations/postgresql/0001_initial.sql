-- Runtara store, version 1. Times are Unix epoch milliseconds (BIGINT) in both dialects;
-- JSON documents are stored as text; checkpoint state as bytes.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE images (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    runner TEXT NOT NULL,
    reference TEXT NOT NULL,
    digest TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX images_by_name ON images (tenant_id, name);

CREATE TABLE instances (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    image_id TEXT,
    runner TEXT,
    token_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'sleeping', 'suspended', 'completed', 'failed', 'cancelled')),
    input TEXT,
    output TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    last_checkpoint_id TEXT,
    heartbeat_at BIGINT,
    wake_at BIGINT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX instances_by_created ON instances (tenant_id, created_at);
CREATE INDEX instances_due ON instances (status, wake_at);

CREATE TABLE checkpoints (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    state BYTEA NOT NULL,
    content_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, instance_id, checkpoint_id),
    FOREIGN KEY (tenant_id, instance_id) REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE signals (
    tenant_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('cancel', 'pause', 'resume')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, instance_id),
    FOREIGN KEY (tenant_id, instance_id) REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE custom_signals (
    tenant_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, instance_id, checkpoint_id),
    FOREIGN KEY (tenant_id, instance_id) REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subtype TEXT,
    payload TEXT,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, instance_id) REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX events_by_instance ON events (tenant_id, instance_id, seq);

CREATE TABLE connections (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE logs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    line TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, instance_id) REFERENCES instances (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX logs_by_instance ON logs (tenant_id, instance_id, seq);
