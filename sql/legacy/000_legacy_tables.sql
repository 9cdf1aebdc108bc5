-- The legacy tables as the old per-region scripts created them — for tests, fixtures and
-- rehearsals only: `breezeway-db migrate-legacy` never runs this file (it refuses to run when
-- the real tables are missing, instead of migrating empty ones).
--
-- Every column the migration knows: the review's DDL (section 1.2) guarantees only some of
-- them (the required ones); the others are optional and read as NULL when a real table
-- lacks them (docs/legacy-migration.md lists both; tests/legacy/fixtures holds the review's
-- DDL verbatim). Every value is VARCHAR/TEXT, as the legacy scripts wrote str() of each API
-- value; photos are parallel `--x--`-delimited strings.

CREATE TABLE IF NOT EXISTS breezeaway_properties_gw (
    id                              SERIAL PRIMARY KEY,
    region_code                     VARCHAR(32),
    property_id                     VARCHAR(64) NOT NULL,
    property_company_id             VARCHAR(64),
    reference_external_property_id  VARCHAR(128),
    reference_property_id           VARCHAR(128),
    reference_company_id            VARCHAR(64),
    property_name                   TEXT,
    property_status                 VARCHAR(64),
    property_display                TEXT,
    property_address1               TEXT,
    property_address2               TEXT,
    property_building               VARCHAR(128),
    property_city                   VARCHAR(128),
    property_state                  VARCHAR(64),
    property_zipcode                VARCHAR(32),
    property_country                VARCHAR(64),
    property_latitude               VARCHAR(32),
    property_longitude              VARCHAR(32),
    property_wifi_name              VARCHAR(128),
    property_wifi_password          VARCHAR(128),
    property_photos_caption         TEXT,
    property_photos_default         TEXT,
    property_photos_id              TEXT,
    property_photos_original_url    TEXT,
    property_photos_url             TEXT,
    CONSTRAINT unique_property_region UNIQUE (property_id, region_code)
);

CREATE TABLE IF NOT EXISTS breezeaway_reservations_gw (
    id                              SERIAL PRIMARY KEY,
    region_code                     VARCHAR(32),
    reservation_id                  VARCHAR(64) NOT NULL,
    property_id                     VARCHAR(64),
    reference_reservation_id        VARCHAR(128),
    reference_property_id           VARCHAR(128),
    reference_external_property_id  VARCHAR(128),
    reservation_status              VARCHAR(64),
    access_code                     VARCHAR(128),
    guide_url                       TEXT,
    note                            TEXT,
    checkin_date                    VARCHAR(32),
    checkin_time                    VARCHAR(32),
    checkout_date                   VARCHAR(32),
    checkout_time                   VARCHAR(32),
    guest_first_name                TEXT,
    guest_last_name                 TEXT,
    guest_email                     TEXT,
    guest_phone                     TEXT
);

CREATE TABLE IF NOT EXISTS breezeaway_tasks_gw (
    id                     SERIAL PRIMARY KEY,
    region_code            VARCHAR(32),
    task_id                VARCHAR(64) NOT NULL,
    home_id                VARCHAR(64),
    task_name              TEXT,
    task_description       TEXT,
    task_status            VARCHAR(64),
    type_department        VARCHAR(64),
    type_priority          VARCHAR(64),
    scheduled_date         VARCHAR(32),
    linked_reservation_id  VARCHAR(64),
    created_at             VARCHAR(64),
    finished_at            VARCHAR(64),
    total_cost             VARCHAR(32)
);
