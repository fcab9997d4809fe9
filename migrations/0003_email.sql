-- Email: an outbox drained by a background sender, one-time tokens, per-recipient throttling,
-- and the pending address of an email change.

alter table users add column pending_email text;

create table email_outbox (
    id               bigint generated always as identity primary key,
    to_address       text        not null,
    kind             text        not null,
    subject          text        not null,
    text_body        text        not null,
    html_body        text        not null,
    status           text        not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
    attempts         integer     not null default 0,
    next_attempt_at  timestamptz not null default now(),
    -- a claim by one sender instance; an expired claim (crashed sender) can be taken over
    claimed_until    timestamptz,
    last_error       text,
    created_at       timestamptz not null default now(),
    sent_at          timestamptz
);

create index email_outbox_due_idx on email_outbox (next_attempt_at, id) where status in ('pending', 'sending');

-- One-time tokens (verify email, reset password, confirm an email change), stored as SHA-256 hashes.
create table email_tokens (
    token_hash  bytea       primary key,
    user_id     bigint      not null references users (id) on delete cascade,
    purpose     text        not null check (purpose in ('verify_email', 'password_reset', 'email_change')),
    email       text        not null,
    expires_at  timestamptz not null,
    used_at     timestamptz,
    created_at  timestamptz not null default now()
);

create index email_tokens_user_id_idx on email_tokens (user_id, purpose);

-- User-triggered mails are limited per recipient and kind; one atomic upsert decides.
create table email_throttle (
    recipient     text        not null,
    kind          text        not null,
    last_sent_at  timestamptz not null,
    primary key (recipient, kind)
);
