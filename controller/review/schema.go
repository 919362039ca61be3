package review

// migrations are the review component's tables, applied once each by store.ApplyComponent.
var migrations = []string{
	`CREATE TABLE users (
		name          TEXT PRIMARY KEY,
		display_name  TEXT NOT NULL,
		role          TEXT NOT NULL,      -- editor, reviewer, admin
		password_hash TEXT NOT NULL,      -- bcrypt
		created_ms    INTEGER NOT NULL,
		created_by    TEXT NOT NULL
	);
	CREATE TABLE sessions (
		token_sha256  TEXT PRIMARY KEY,   -- the bearer token itself is never stored
		user_name     TEXT NOT NULL REFERENCES users(name),
		created_ms    INTEGER NOT NULL,
		expires_ms    INTEGER NOT NULL
	);
	CREATE TABLE announcements (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		title           TEXT NOT NULL,
		category        TEXT NOT NULL,    -- decision, execution, management, service, result
		domain          TEXT NOT NULL,    -- a key of the disclosure directory
		body_text       TEXT NOT NULL DEFAULT '',
		program_id      TEXT NOT NULL DEFAULT '',
		voice           TEXT NOT NULL DEFAULT '',
		targets         TEXT NOT NULL,    -- comma-separated addresses, validated against the inventory
		villages        TEXT NOT NULL,    -- JSON: names of the villages the targets covered when validated
		valid_from_ms   INTEGER NOT NULL,
		valid_until_ms  INTEGER NOT NULL,
		author          TEXT NOT NULL REFERENCES users(name),
		revision        INTEGER NOT NULL, -- incremented on every edit
		state           TEXT NOT NULL,
		flags           TEXT NOT NULL DEFAULT '[]', -- JSON: the secrecy check of the last submission
		reviewer        TEXT NOT NULL DEFAULT '',
		review_comment  TEXT NOT NULL DEFAULT '',
		created_ms      INTEGER NOT NULL,
		updated_ms      INTEGER NOT NULL,
		submitted_ms    INTEGER NOT NULL DEFAULT 0,
		decided_ms      INTEGER NOT NULL DEFAULT 0,
		scheduled_ms    INTEGER NOT NULL DEFAULT 0,
		done_ms         INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX announcements_by_state ON announcements (state, id);
	CREATE TABLE announcement_broadcasts (
		announcement_id INTEGER NOT NULL REFERENCES announcements(id),
		broadcast_id    TEXT NOT NULL,
		at_ms           INTEGER NOT NULL,
		PRIMARY KEY (announcement_id, broadcast_id)
	);
	CREATE TABLE audit_log (
		id      INTEGER PRIMARY KEY AUTOINCREMENT,
		at_ms   INTEGER NOT NULL,
		actor   TEXT NOT NULL,   -- a user name, or "system"
		action  TEXT NOT NULL,   -- login, login_failed, user_create, create, edit, submit, approve, ...
		object  TEXT NOT NULL,   -- user:NAME or announcement:ID
		before  TEXT NOT NULL DEFAULT '', -- JSON, empty when the object did not exist
		after   TEXT NOT NULL DEFAULT ''  -- JSON
	);
	CREATE INDEX audit_by_object ON audit_log (object, id);`,
	// A stable key lets schedule files name an announcement before the store gives it an id.
	`ALTER TABLE announcements ADD COLUMN ann_key TEXT NOT NULL DEFAULT '';
	CREATE UNIQUE INDEX announcements_by_key ON announcements (ann_key) WHERE ann_key <> '';`,
	// Every staff user has a tier scope (镇、村、组): the place an emergency or a shout of theirs may
	// reach. Users from before this have none; New gives them the inventory's town (backfillScopes).
	`ALTER TABLE users ADD COLUMN scope TEXT NOT NULL DEFAULT '';`,
	// Accounts (issue 6): disabled users, failed logins and lockouts kept across restarts (a
	// restart must not reset an attacker's count), sessions found by user to end them at once.
	`ALTER TABLE users ADD COLUMN disabled_ms INTEGER NOT NULL DEFAULT 0; -- 0: active
	ALTER TABLE users ADD COLUMN password_changed_ms INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX sessions_by_user ON sessions (user_name);
	CREATE TABLE login_failures (
		id      INTEGER PRIMARY KEY AUTOINCREMENT,
		at_ms   INTEGER NOT NULL,
		name    TEXT NOT NULL,   -- as typed, whether or not such a user exists
		source  TEXT NOT NULL    -- the client's IP address
	);
	CREATE INDEX login_failures_by_name ON login_failures (name, at_ms);
	CREATE INDEX login_failures_by_source ON login_failures (source, at_ms);
	CREATE TABLE login_locks (
		key       TEXT PRIMARY KEY, -- name:NAME or source:IP
		until_ms  INTEGER NOT NULL
	);`,
}
