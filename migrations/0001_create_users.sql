-- Accounts, their sessions and refresh tokens, and an audit trail that outlives the account.

create table users (
    id                       bigint generated always as identity primary key,
    username                 text        not null check (length(username) between 3 and 32),
    email                    text        not null,
    -- NFKC-normalised, lower-cased email: the uniqueness key, so "Bob@Example.com" and "bob@example.com" collide.
    email_normalized         text        not null,
    password_hash            text        not null,
    firstname                text        not null,
    lastname                 text        not null,
    date_of_birth            date,
    status                   text        not null default 'active' check (status in ('active', 'inactive', 'locked')),
    role                     text        not null default 'user' check (role in ('user', 'admin')),
    email_verified_at        timestamptz,
    failed_login_count       integer     not null default 0 check (failed_login_count >= 0),
    -- how many times the account has been locked in a row; each lock lasts twice as long as the last
    lockout_count            integer     not null default 0 check (lockout_count >= 0),
    locked_until             timestamptz,
    last_login_at            timestamptz,
    force_password_reset     boolean     not null default false,
    steam_id                 text,
    steam_api_key_encrypted  bytea,
    terms_accepted_at        timestamptz,
    created_at               timestamptz not null default now(),
    updated_at               timestamptz not null default now()
);

create unique index users_username_key on users (lower(username));
create unique index users_email_normalized_key on users (email_normalized);
create index users_created_at_idx on users (created_at);
create index users_status_idx on users (status);

-- One row per signed-in device: the refresh-token family. Its id is the access token's `sid` claim.
create table user_sessions (
    id              uuid        primary key,
    user_id         bigint      not null references users (id) on delete cascade,
    user_agent      text,
    ip_address      text,
    created_at      timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    expires_at      timestamptz not null,
    revoked_at      timestamptz,
    revoked_reason  text
);

create index user_sessions_user_id_idx on user_sessions (user_id) where revoked_at is null;
create index user_sessions_revoked_at_idx on user_sessions (revoked_at) where revoked_at is not null;

-- Every refresh token ever issued for a session, stored as a SHA-256 hash. A token that was already
-- replaced and is presented again after the grace window revokes the whole session (token theft).
create table refresh_tokens (
    token_hash   bytea       primary key,
    session_id   uuid        not null references user_sessions (id) on delete cascade,
    created_at   timestamptz not null default now(),
    replaced_at  timestamptz
);

create index refresh_tokens_session_id_idx on refresh_tokens (session_id);

-- Audit trail. No foreign key on purpose: rows stay (with the user id) after the account is deleted.
create table account_logs (
    id          bigint generated always as identity primary key,
    user_id     bigint,
    action      text        not null,
    field       text,
    old_value   text,
    new_value   text,
    ip_address  text,
    user_agent  text,
    created_at  timestamptz not null default now()
);

create index account_logs_user_id_created_at_idx on account_logs (user_id, created_at desc, id desc);
