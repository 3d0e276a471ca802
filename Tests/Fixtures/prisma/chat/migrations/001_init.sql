-- The database side of ../schema.prisma, as prisma migrate would create it.
CREATE TYPE message_type AS ENUM ('TEXT', 'IMAGE', 'FILE', 'system');
CREATE TYPE "Role" AS ENUM ('MEMBER', 'ADMIN');
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username varchar(64) NOT NULL UNIQUE,
    first_name text,
    role "Role" NOT NULL DEFAULT 'MEMBER',
    created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE messages (
    id text PRIMARY KEY,
    conversation_id text NOT NULL,
    sender_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    content text NOT NULL DEFAULT '(empty)',
    type message_type NOT NULL DEFAULT 'TEXT',
    tags text[],
    created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE message_reads (
    message_id text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id),
    read_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (message_id, user_id)
);
CREATE TABLE "AuditEvent" (id serial PRIMARY KEY, action text NOT NULL);
CREATE VIEW message_counts AS SELECT sender_id, count(*)::int AS total FROM messages GROUP BY sender_id;
