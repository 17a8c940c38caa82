-- name: InsertUser :one
INSERT INTO users (username, username_ci, email, email_ci, role, password_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING *;

-- name: InsertFirstAdmin :one
-- InsertUser's parameters, but inserts nothing (and returns no row) once any account exists. ON
-- CONFLICT covers a concurrent first admin of the same name; the caller's SERIALIZABLE transaction
-- covers one of another name.
INSERT INTO users (username, username_ci, email, email_ci, role, password_hash, created_at, updated_at)
SELECT CAST(sqlc.arg(username) AS TEXT), CAST(sqlc.arg(username_ci) AS TEXT),
       CAST(sqlc.narg(email) AS TEXT), CAST(sqlc.narg(email_ci) AS TEXT), CAST(sqlc.arg(role) AS TEXT),
       CAST(sqlc.arg(password_hash) AS TEXT), CAST(sqlc.arg(created_at) AS BIGINT),
       CAST(sqlc.arg(created_at) AS BIGINT)
WHERE NOT EXISTS (SELECT 1 FROM users)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username_ci = $1;

-- name: ListUsers :many
SELECT * FROM users ORDER BY id
LIMIT CAST(sqlc.arg(max_rows) AS BIGINT) OFFSET CAST(sqlc.arg(skip) AS BIGINT);

-- name: CountUsers :one
SELECT count(*) FROM users;

-- name: LockActiveAdmins :exec
-- Takes the row locks of all active admins for the rest of the transaction (FOR UPDATE is not
-- portable): two transactions that each remove a different admin then run one after the other,
-- and the second counts what the first left.
UPDATE users SET updated_at = updated_at WHERE role = 'admin' AND active;

-- name: LockUser :one
-- Reads an account under its row lock, so that a change computed from it loses no concurrent one.
UPDATE users SET updated_at = updated_at WHERE id = $1 RETURNING *;

-- name: SetUser :one
UPDATE users SET email = $2, email_ci = $3, role = $4, active = $5, password_hash = $6, updated_at = $7
WHERE id = $1
RETURNING *;

-- name: CountActiveAdmins :one
SELECT count(*) FROM users WHERE role = 'admin' AND active;

-- name: RehashPassword :exec
UPDATE users SET password_hash = sqlc.arg(new_hash) WHERE id = sqlc.arg(id) AND password_hash = sqlc.arg(old_hash);

-- name: DeleteUser :exec
DELETE FROM users WHERE id = $1;

-- name: InsertToken :one
INSERT INTO tokens (user_id, kind, name, hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: TokenByHash :one
SELECT sqlc.embed(tokens), sqlc.embed(users)
FROM tokens JOIN users ON users.id = tokens.user_id
WHERE tokens.hash = $1;

-- name: TouchToken :execrows
UPDATE tokens SET last_used_at = CAST(sqlc.arg(at) AS BIGINT) WHERE id = sqlc.arg(id);

-- name: ListTokens :many
-- An empty kind lists every kind.
SELECT * FROM tokens
WHERE user_id = sqlc.arg(user_id) AND (CAST(sqlc.arg(kind) AS TEXT) = '' OR kind = sqlc.arg(kind))
ORDER BY id;

-- name: DeleteToken :execrows
DELETE FROM tokens WHERE id = $1 AND user_id = $2;

-- name: DeleteTokenByHash :execrows
DELETE FROM tokens WHERE hash = $1;

-- name: DeleteSessionTokens :exec
DELETE FROM tokens WHERE user_id = $1 AND kind = 'session';

-- name: DeleteExpiredTokens :execrows
-- expires_at NULL (never) compares to nothing.
DELETE FROM tokens WHERE expires_at <= CAST(sqlc.arg(now) AS BIGINT);

-- name: InsertAudit :exec
INSERT INTO audit (at, username, token_name, role, action, study_uid, series_uid, instance_uid,
                   target_user, outcome, client, request_id, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);
