-- Environment (images, runners, scheduler). Numbered from 0010 so it never collides
-- with the runtime's own migrations, which use the low numbers.

-- Images are versioned per tenant and name: registering a name again adds version n+1.
ALTER TABLE images ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX images_by_name_version ON images (tenant_id, name, version);

-- What the runner knows about an instance's current (or last) process.
ALTER TABLE instances ADD COLUMN crash_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN active_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN launched_at BIGINT;
ALTER TABLE instances ADD COLUMN process_host TEXT;
ALTER TABLE instances ADD COLUMN process_ref TEXT;
ALTER TABLE instances ADD COLUMN peak_memory_bytes BIGINT;
ALTER TABLE instances ADD COLUMN cpu_time_ms BIGINT;
ALTER TABLE instances ADD COLUMN limits TEXT;

CREATE INDEX instances_by_lease ON instances (lease_owner);
CREATE INDEX instances_by_image ON instances (tenant_id, image_id, status);
