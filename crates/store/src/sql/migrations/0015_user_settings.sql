-- Each user's own console settings: for now the time zone times are shown in (absent: the
-- browser's). One row per user who saved a setting.
CREATE TABLE user_settings (
    user_id        TEXT    PRIMARY KEY,
    time_zone      TEXT,
    updated_at_us  INTEGER NOT NULL
);
