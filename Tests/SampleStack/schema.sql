-- Chat backend schema, modelled on the seed incident (NestJS + Prisma + PostgreSQL).
-- Column names are snake_case and mapped to camelCase Prisma fields with @map/@@map
-- (see prisma/schema.prisma). Applied by stack.sh as the app role "chat".

CREATE TYPE "MessageType" AS ENUM ('TEXT', 'IMAGE', 'FILE', 'SYSTEM');

CREATE TABLE users (
    id          text PRIMARY KEY,
    username    text NOT NULL UNIQUE,
    first_name  text,
    last_name   text,
    created_at  timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE conversations (
    id          text PRIMARY KEY,
    title       text,
    created_at  timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE messages (
    id               text PRIMARY KEY,
    conversation_id  text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_id        text NOT NULL REFERENCES users(id),
    content          text NOT NULL,
    type             "MessageType" NOT NULL DEFAULT 'TEXT',
    status           text NOT NULL DEFAULT 'SENT',
    created_at       timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX messages_conversation_id_created_at_idx ON messages (conversation_id, created_at);

CREATE TABLE message_reads (
    message_id  text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users(id),
    read_at     timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (message_id, user_id)
);

-- Seed data: the conversation and user the seed's k6 script and smoke tests use.
INSERT INTO users (id, username, first_name, last_name) VALUES
    ('00000000-0000-0000-0000-000000000000', 'loadtest_user', 'Load', 'Tester'),
    ('11111111-1111-1111-1111-111111111111', 'alice', 'Alice', 'Example');

INSERT INTO conversations (id, title) VALUES
    ('8822dd87-d0c2-42be-93d2-1c0cb492e351', 'Load test conversation');

INSERT INTO messages (id, conversation_id, sender_id, content, type, status, created_at) VALUES
    ('cmh0seed000001aaaaaaaaaa', '8822dd87-d0c2-42be-93d2-1c0cb492e351', '11111111-1111-1111-1111-111111111111',
     'Welcome to the load test conversation', 'SYSTEM', 'SENT', CURRENT_TIMESTAMP - interval '3 minutes'),
    ('cmh0seed000002bbbbbbbbbb', '8822dd87-d0c2-42be-93d2-1c0cb492e351', '11111111-1111-1111-1111-111111111111',
     'Hello from alice', 'TEXT', 'READ', CURRENT_TIMESTAMP - interval '2 minutes'),
    ('cmh0seed000003cccccccccc', '8822dd87-d0c2-42be-93d2-1c0cb492e351', '00000000-0000-0000-0000-000000000000',
     'Hello from the load tester', 'TEXT', 'SENT', CURRENT_TIMESTAMP - interval '1 minute');

INSERT INTO message_reads (message_id, user_id) VALUES
    ('cmh0seed000002bbbbbbbbbb', '00000000-0000-0000-0000-000000000000');
