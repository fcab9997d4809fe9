-- The new-device check looks at all of a user's sessions, revoked ones included; the partial index
-- from 0001 covers only live ones.
create index user_sessions_user_id_all_idx on user_sessions (user_id, ip_address);
