-- Sessions revoked while their access tokens may still be unexpired. Each API instance loads this at
-- start and then follows NOTIFY session_revoked, so a revoked access token fails at once everywhere
-- without a database round trip per request. Independent of users, so it survives account deletion.
create table session_revocations (
    session_id  uuid        primary key,
    expires_at  timestamptz not null
);

create index session_revocations_expires_at_idx on session_revocations (expires_at);
